"""``tlcore predict``: the answer for new images, with a trained or exported model.

Each image gets the model's decision (its class at the run's threshold, or "unknown" with
the reason) followed by the other top classes. A file that cannot be read is reported and
skipped; the others are still predicted, and the exit status says that something failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ...errors import EXIT_OK, EXIT_USER_ERROR
from ..common import print_json

_CHUNK = 32  # images predicted together


def expand_images(items: list[str]) -> list[str]:
    """Files as given; folders become the (non-hidden) files inside them, sorted."""
    from ...errors import TLCoreError

    paths: list[str] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            paths += [str(p) for p in found]
        else:
            paths.append(str(path))
    if not paths:
        raise TLCoreError("No images were given.", "name one or more image files or folders.")
    return paths


def expand_texts(items: list[str]) -> list[tuple[str, str]]:
    """A text model's inputs as ``(shown as, text)``: a ``.txt`` file gives one text per non-empty line,
    anything else is a text itself."""
    from ...errors import TLCoreError

    texts: list[tuple[str, str]] = []
    for item in items:
        path = Path(item).expanduser()
        if path.suffix.lower() == ".txt" and path.is_file():
            try:
                lines = path.read_text(encoding="utf-8-sig").splitlines()
            except UnicodeDecodeError:
                raise TLCoreError(f"{path.name} is not UTF-8 text.", "save it as UTF-8 and try again.") from None
            texts += [(f"{path.name}:{i}", line.strip()) for i, line in enumerate(lines, 1) if line.strip()]
        else:
            texts.append((item if len(item) <= 60 else item[:57] + "...", item))
    if not texts:
        raise TLCoreError("No texts were given.", "give the texts in quotes, or .txt files with one text per line.")
    return texts


def _predict_chunk(predictor, chunk: list[str], top_k: int) -> list[tuple]:
    """``(path, answer, error)`` for each image; a bad file fails alone."""
    from ...errors import TLCoreError

    try:
        return list(zip(chunk, predictor.answer(chunk, top_k=top_k), [None] * len(chunk)))
    except TLCoreError:  # find the bad file(s); keep going with the others
        pairs = []
        for path in chunk:
            try:
                pairs.append((path, predictor.answer([path], top_k=top_k)[0], None))
            except TLCoreError as err:
                pairs.append((path, None, str(err)))
        return pairs


def _line(answer) -> str:
    """"PNEUMONIA 83.1%, NORMAL 16.9%" (the decision first), or "unknown — the reason; top: …"."""
    top = ", ".join(f"{c} {p:.1%}" for c, p in answer.top)
    if answer.unknown:
        return f"unknown — {answer.reason}; top: {top}"
    others = [f"{c} {p:.1%}" for c, p in answer.top if c != answer.label]
    return ", ".join([f"{answer.label} {answer.probability:.1%}", *others])


def predict(args) -> int:
    from ...predict import load_predictor
    from ...runs import LABELS

    predictor = load_predictor(args.model)
    if predictor.takes_text:
        shown, inputs = zip(*expand_texts(args.images))
        names = dict(zip(inputs, shown))
    else:
        inputs = expand_images(args.images)
        names = {path: path for path in inputs}
    results: list[dict] = []
    failures = 0
    for start in range(0, len(inputs), _CHUNK):
        for item, answer, error in _predict_chunk(predictor, list(inputs[start:start + _CHUNK]), args.top_k):
            path = names[item]
            if error:
                failures += 1
                results.append({"path": path, "error": error})
                if not args.json:
                    print(f"error: {error}", file=sys.stderr)
                continue
            results.append({"path": path, "decision": answer.label, "probability": answer.probability,
                            "unknown": answer.unknown, "reason": answer.reason, "similarity": answer.similarity,
                            "predictions": [{"class": c, "probability": p} for c, p in answer.top]})
            if not args.json:
                print(f"{path}: {_line(answer)}")
    if args.json:
        print_json(results)
    if not predictor.labels_found:
        print(f"note: no {LABELS} was found beside the model; classes are shown as class_0, class_1, …",
              file=sys.stderr)
    return EXIT_USER_ERROR if failures else EXIT_OK
