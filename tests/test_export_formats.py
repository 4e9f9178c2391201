"""The table of export formats and downloads (tlcore.export.formats): one place, no TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tlcore.errors import TLCoreError
from tlcore.export.formats import (DOWNLOADS, EXPORT_FORMATS, FILE_NAMES, FILES, FORMAT_CHOICES, FORMATS,
                                   normalize_formats)
from tlcore.runs import RunFolder


def test_formats_are_listed_once_in_their_order():
    assert FORMATS == ("keras", "savedmodel", "tflite", "tflite-quant", "onnx", "web") == tuple(EXPORT_FORMATS)
    assert FORMAT_CHOICES == (*FORMATS, "all")
    assert set(DOWNLOADS) == {"savedmodel-zip", "web-zip", "labels", "config", "card", "info", "features",
                              "features-info", "keras-text-zip"}
    for key, entry in FILES.items():
        assert entry.name == key and FILE_NAMES[key] == entry.file_name
        assert entry.label and entry.help and entry.detail and "/" in entry.mime


def test_files_a_run_also_holds_keep_the_run_folders_names():
    folder = RunFolder("run")
    assert folder.model_path.name == FILE_NAMES["keras"]
    assert folder.labels_path.name == FILE_NAMES["labels"] and folder.config_path.name == FILE_NAMES["config"]
    assert folder.features_table_path.name == FILE_NAMES["features"]
    # the features table's sidecar, named as tlcore.feature_table finds it beside the table
    from tlcore.feature_table import sidecar_path

    assert sidecar_path(folder.features_table_path).name == FILE_NAMES["features-info"]


def test_format_names_are_checked():
    assert normalize_formats(None) == FORMATS == normalize_formats("all")
    assert normalize_formats(["TFLite_Quantized", "keras", "saved-model"]) == ("keras", "savedmodel", "tflite-quant")
    assert normalize_formats(["web", "ONNX"]) == ("onnx", "web")
    with pytest.raises(TLCoreError, match="Unknown export format 'pdf'") as info:
        normalize_formats(["pdf"])
    assert "keras, savedmodel, tflite, tflite-quant, onnx, web" in str(info.value)
    with pytest.raises(TLCoreError, match="No export format was chosen"):
        normalize_formats([])


def test_reading_the_table_loads_no_tensorflow():
    # A page reads the table on every rerun: Keras and TensorFlow must stay out of the server.
    heavy = "sorted({'keras', 'tensorflow'} & set(sys.modules))"
    code = f"import sys, tlcore.export.formats, tlcore.export; tlcore.export.FORMATS; sys.exit(str({heavy}))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stderr == "[]\n"
