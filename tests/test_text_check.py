"""The data check on texts: suspected wrong labels, near-duplicates and leaks, outliers, in words about texts."""

from __future__ import annotations

from text_samples import reviews
from tlcore import TrainConfig
from tlcore.checks import check_dataset
from tlcore.workspace import Workspace


def test_the_data_check_finds_a_wrong_label_and_an_outlier_among_texts(tmp_path):
    rows = reviews(80, seed=5)
    flipped = next(i for i, (_, label) in enumerate(rows) if label == "positive")
    text, _ = rows[flipped]
    rows[flipped] = (text, "negative")  # a plainly positive review labelled negative
    rows.append(("Photosynthesis turns sunlight, water and carbon dioxide into glucose.", "positive"))
    data = tmp_path / "reviews.tsv"
    data.write_text("text\tlabel\n" + "\n".join(f"{t}\t{lab}" for t, lab in rows) + "\n", encoding="utf-8")
    check = check_dataset(TrainConfig(data=str(data)), workspace=Workspace(tmp_path / "ws"), curve=False,
                          embedding=False).to_dict()
    assert check["item"] == "text" and check["backbone"] == "MiniLM-L6"
    suspects = check["labels"]["suspects"]
    assert any(s["text"] == text for s in suspects), [s["text"] for s in suspects]
    outliers = [o["text"] for o in check["outliers"]["items"]]
    assert any("Photosynthesis" in t for t in outliers), outliers
    problems = " ".join(f["problem"] for f in check["findings"])
    assert "texts" in problems or "text" in problems
    assert "picture" not in problems


def test_near_copies_of_texts_need_the_same_meaning_and_the_same_wording():
    import numpy as np

    from tlcore.checks.duplicates import find_near_duplicates
    from tlcore.text.encoders import build_text_encoder
    from tlcore.text.near_copies import MEANING, wording_filter

    texts = ["Worst customer service.", "Worst Customer Service Ever.",  # a reworded copy
             "Service was very prompt.", "Very prompt service.",  # a paraphrase: not a copy
             "The food was great.", "The food was not great.",  # a negation: not a copy
             "My battery died after an hour.", "Lovely staff and a quiet room."]
    encoder = build_text_encoder("MiniLM-L6")
    features = np.asarray(encoder.encoder.predict_on_batch(encoder.tokenizer(texts)))
    groups = find_near_duplicates(features, np.zeros(len(texts), int), np.array(["train"] * len(texts)),
                                  threshold=MEANING, pair_filter=wording_filter(texts))
    assert [g.indices for g in groups] == [[0, 1]]
