"""Small labelled-sentence files for text tests: two clearly separable classes of short reviews."""

from __future__ import annotations

from pathlib import Path

import numpy as np

_GOOD = ["wonderful", "great", "excellent", "lovely", "fantastic", "delightful", "superb", "perfect"]
_BAD = ["terrible", "awful", "horrible", "broken", "useless", "disappointing", "dreadful", "poor"]
_THINGS = ["phone", "meal", "service", "battery", "film", "hotel", "screen", "staff", "pizza", "headset"]
_GOOD_FRAMES = ["The {t} was {w}, I loved it.", "Really {w} {t}, would buy again!", "What a {w} {t}.",
                "I am so happy with this {w} {t}."]
_BAD_FRAMES = ["The {t} was {w}, I hated it.", "Really {w} {t}, never again!", "What a {w} {t}.",
               "I am so unhappy with this {w} {t}."]


def reviews(per_class: int = 30, seed: int = 0) -> list[tuple[str, str]]:
    """``(text, label)`` pairs, labels "negative" and "positive", every text different."""
    rng = np.random.default_rng(seed)
    rows, seen = [], set()
    for label, words, frames in (("positive", _GOOD, _GOOD_FRAMES), ("negative", _BAD, _BAD_FRAMES)):
        while sum(1 for _, lab in rows if lab == label) < per_class:
            text = str(rng.choice(frames)).format(t=rng.choice(_THINGS), w=rng.choice(words))
            if text not in seen:
                seen.add(text)
                rows.append((text, label))
    return rows


def write_reviews_tsv(path: Path, per_class: int = 30, seed: int = 0, header: bool = True) -> Path:
    """A ``text<TAB>label`` file of :func:`reviews` (with a ``text	label`` header line)."""
    lines = (["text\tlabel"] if header else []) + [f"{t}\t{lab}" for t, lab in reviews(per_class, seed)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
