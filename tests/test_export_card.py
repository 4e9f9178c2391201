"""The model card (tlcore.export.card): each section from the facts it is given, old and new run folders alike."""

from __future__ import annotations

from pathlib import Path

from tlcore.export.card import build_model_card
from tlcore.findings import Finding

REPORT = {"source": "shapes", "validation": "20% of each class",
          "counts": {"train": {"a": 8, "b": 9}, "val": {"a": 2, "b": 2}}, "imbalance_ratio": 1.125,
          "skipped": [{"path": "notes.txt", "reason": "not an image"}], "duplicates": [], "leakage": []}


def test_a_warning_reads_the_same_from_a_finding_and_from_an_older_sentence():
    finding = Finding("Class 'b' has only 3 images", "add at least 10 images to b/", ("b",))
    new = build_model_card(["a", "b"], data_report={**REPORT, "warnings": [finding.to_dict()]})
    old = build_model_card(["a", "b"], data_report={**REPORT, "warnings": [str(finding)]})
    assert new == old
    assert "  - Class 'b' has only 3 images; add at least 10 images to b/" in new.splitlines()
    assert "- Files skipped: 1" in new and "| **total** | 17 | 4 |" in new and "Imbalance" in new


def test_the_card_says_what_it_does_not_know():
    card = build_model_card(["cat", "dog"])
    assert card.startswith("# Model card: unknown image classifier\n")
    assert "No evaluation was recorded for this model." in card
    assert "## Settings" not in card and "## Files" not in card and "## Training data" not in card
    assert "Resizing and the backbone's own preprocessing happen **inside** the model." in card
    assert "| 1 | dog |" in card and "## Limitations" in card


def test_the_card_lists_the_files_and_how_to_load_each():
    files = {"keras": Path("model.keras"), "tflite-quant": Path("model_quant.tflite"), "labels": Path("labels.json")}
    card = build_model_card(["a", "b"], config={"backbone": "VGG16", "mode": "fine-tune", "weights": "imagenet",
                                                "augment": {"flip": True}},
                            evaluation={"accuracy": 0.75, "num_images": 4, "fine_tune": {"message": "It kept X."}},
                            files=files, image_size=96, tflite_input="fixed input size 96 x 96",
                            int8_accuracy={"float": None, "tflite_int8": None, "split": "val", "images": 0,
                                           "not_measured": "no images"})
    assert "- `model.keras`: Keras 3 model (load with keras.saving.load_model)" in card
    assert "- `model_quant.tflite`: TensorFlow Lite with 8-bit weights" in card
    assert "- `labels.json`: the class names, in output order" in card
    assert "trained at a low learning rate). It kept X." in card
    assert "| augment.flip | True |" in card and "- Accuracy: **75.0 %** on 4 images" in card  # no interval recorded: the bare figure
    assert "8-bit model's accuracy was not measured: no images." in card
    assert "### TensorFlow Lite (`model_quant.tflite`)" in card and "### TensorFlow SavedModel" not in card
