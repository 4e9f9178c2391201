"""The 8-bit model, measured (tlcore.export.accuracy): what is recorded when it cannot be measured, and reading it back.

The measurement itself, on a trained run's validation images, is in test_export_share.py
(it needs that run).
"""

from __future__ import annotations

import json

from tlcore.export.accuracy import export_accuracy, int8_accuracy, validation_images
from tlcore.export.formats import FILE_NAMES
from tlcore.runs import RunFolder


def test_without_images_or_a_size_the_record_says_why():
    assert int8_accuracy(None, b"", None, 64) == {
        "float": None, "tflite_int8": None, "split": "val", "images": 0,
        "not_measured": "no labelled validation images were given to the export"}
    assert int8_accuracy(None, b"", {"reason": "gone"}, 64)["not_measured"] == "gone"
    assert int8_accuracy(None, b"", {"paths": ["a.png"], "labels": [0]}, None)["not_measured"] == \
        "the model's training image size is unknown"


def test_validation_images_say_why_they_cannot_be_found(tmp_path):
    assert validation_images(tmp_path, {}, ["a"], None) == {"reason": "the run's settings do not name its dataset"}
    gone = {"data": str(tmp_path / "gone")}
    assert validation_images(tmp_path, gone, ["a"], None) == {"reason": "its dataset is no longer on this server"}


def test_export_accuracy_reads_what_the_export_recorded(tmp_path):
    export_dir = RunFolder(tmp_path).export_dir
    export_dir.mkdir()
    measured = {"float": 0.9, "tflite_int8": 0.85, "split": "val", "images": 20, "disagree": 1}
    (export_dir / FILE_NAMES["info"]).write_text(json.dumps({"accuracy": measured}))
    assert export_accuracy(tmp_path) is None  # no 8-bit file: nothing to speak for
    (export_dir / FILE_NAMES["tflite-quant"]).write_bytes(b"tflite")
    assert export_accuracy(tmp_path) == measured == export_accuracy(export_dir)
    (export_dir / FILE_NAMES["info"]).write_text("{damaged")
    assert export_accuracy(tmp_path) is None
