"""Exporting a text run: the .keras model with its tokenizer, one SavedModel from raw strings, the rest refused.

Each export is loaded as a stranger would: in a fresh Python, with only what the model card says to
install, running the card's own snippet in the export folder; its answers must be the app's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from text_samples import write_reviews_tsv
from tlcore import TrainConfig, cli, load_predictor
from tlcore.errors import TLCoreError
from tlcore.export import export_run
from tlcore.text.export import skipped_formats
from tlcore.train import train
from tlcore.workspace import Workspace

pytestmark = pytest.mark.slow  # trains a MiniLM run

TEXTS = ["What a wonderful phone, I loved it.", "The pizza was awful, I hated it.", "The hotel was poor.",
         "A delightful pizza.", "The weather on Mars", ""]
_SNIPPET_END = """
import numpy as np, sys
np.savez("{out}", **{{k: np.asarray(v) for k, v in out.items()}})
print("MODULES", sorted(m for m in ("tlcore", "keras_hub") if m in sys.modules))
"""


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A run trained inside a session workspace, whose code no exported file may name."""
    code = "ws" + uuid.uuid4().hex
    ws = Workspace.for_session(code, root=tmp_path_factory.mktemp("server"))
    data = write_reviews_tsv(ws.datasets_dir / "reviews.tsv", per_class=30)
    run_dir = ws.runs_dir / "text-run"
    result = train(TrainConfig(data=str(data), backbone="MiniLM-L6", epochs=15), run_dir, workspace=ws)
    assert result.status == "finished"
    return {"code": code, "ws": ws, "run": run_dir}


@pytest.fixture(scope="module")
def exported(session):
    return export_run(session["run"], "all")


@pytest.fixture(scope="module")
def app_outputs(session):
    return load_predictor(session["run"]).outputs(TEXTS)


def _card_snippet(card: str, heading: str) -> str:
    """The Python block under the card's ``heading`` (e.g. "### Keras"), with the test's texts in it."""
    section = card.split(heading, 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert code.count("texts = [") == 1, code
    return re.sub(r"texts = \[.*\]", f"texts = {TEXTS!r}", code)


def _run_fresh(code: str, cwd: Path, out: Path) -> tuple[dict, str]:
    """``code`` in a new Python in ``cwd`` (not the repo: tlcore cannot be imported by accident)."""
    proc = subprocess.run([sys.executable, "-c", code + _SNIPPET_END.format(out=out)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = proc.stdout.split("MODULES", 1)[1].strip()
    return dict(np.load(out)), modules


def test_all_gives_keras_and_savedmodel_and_says_why_the_rest_were_skipped(exported):
    assert {"keras", "tokenizer", "savedmodel", "savedmodel-zip", "labels", "info", "card"} <= set(exported)
    assert not {"tflite", "tflite-quant", "onnx", "web"} & set(exported)
    export_dir = exported["info"].parent
    skipped = skipped_formats(export_dir)
    assert set(skipped) == {"tflite", "tflite-quant", "onnx", "web"}
    assert "string operations do not convert to TensorFlow Lite" in skipped["tflite"]
    assert "ONNX" in skipped["onnx"] and "ONNX" in skipped["web"]
    assert not list(export_dir.glob("*.tflite")) and not (export_dir / "model.onnx").exists()
    info = json.loads(exported["info"].read_text())
    assert info["modality"] == "text" and info["sequence_length"] == 64 and info["backbone"] == "MiniLM-L6"
    assert info["input"]["savedmodel"] == {"name": "text", "dtype": "string", "shape": [None], "tokenized_inside": True}
    assert set(info["input"]["keras"]) == {"token_ids", "padding_mask", "segment_ids"}
    assert "tensorflow_text" in info["how_to_load"]["savedmodel"]
    card = exported["card"].read_text()
    assert "text classifier" in card and "**64 tokens**" in card and "raw strings" in card
    assert "pip install keras keras-hub tensorflow-text" in card and "pip install tensorflow tensorflow-text" in card
    assert "Not exported" in card and "TensorFlow Lite" in card
    assert (exported["tokenizer"] / "vocab.txt").is_file() and (exported["savedmodel"] / "labels.json").is_file()


@pytest.mark.parametrize("fmt", ["tflite", "tflite-quant", "onnx", "web"])
def test_a_format_that_cannot_take_text_is_refused_with_the_reason(session, tmp_path, fmt):
    with pytest.raises(TLCoreError, match=f"A text model cannot be exported as {fmt}") as info:
        export_run(session["run"], [fmt, "keras"], out_dir=tmp_path / "out")
    assert "string operations" in str(info.value) and "'savedmodel'" in str(info.value)
    assert not (tmp_path / "out").exists()  # refused at the door: nothing written


def test_the_savedmodel_takes_raw_strings_in_a_fresh_python_and_answers_like_the_app(exported, app_outputs,
                                                                                    tmp_path):
    code = _card_snippet(exported["card"].read_text(), "### TensorFlow SavedModel")
    assert "import tensorflow_text" in code and "keras" not in code.replace("tensorflow", "")
    outputs, modules = _run_fresh(code, exported["info"].parent, tmp_path / "saved.npz")
    assert modules == "[]", modules  # tensorflow + tensorflow_text only: no tlcore, no keras-hub
    np.testing.assert_allclose(outputs["probabilities"], app_outputs["probabilities"], atol=1e-4)
    np.testing.assert_allclose(outputs["similarity"], app_outputs["similarity"], atol=1e-4)
    for name in ("unknown", "positive"):
        assert np.array_equal(outputs[name], app_outputs[name]), name


def test_the_keras_file_loads_with_its_tokenizer_as_the_card_says_and_answers_like_the_app(exported, app_outputs,
                                                                                          tmp_path):
    code = _card_snippet(exported["card"].read_text(), "### Keras")
    outputs, modules = _run_fresh(code, exported["info"].parent, tmp_path / "keras.npz")
    assert "tlcore" not in modules
    np.testing.assert_allclose(outputs["probabilities"], app_outputs["probabilities"], atol=1e-4)
    assert np.array_equal(outputs["unknown"], app_outputs["unknown"])


def test_the_exports_load_back_as_text_predictors(session, exported, app_outputs):
    run_answers = load_predictor(session["run"]).answer(TEXTS)
    for path in (exported["savedmodel"], exported["keras"]):
        predictor = load_predictor(path)
        assert predictor.takes_text and predictor.modality == "text" and predictor.classes == ["negative", "positive"]
        np.testing.assert_allclose(predictor.outputs(TEXTS)["probabilities"], app_outputs["probabilities"], atol=1e-4)
        answers = predictor.answer(TEXTS)
        assert [a.label for a in answers] == [a.label for a in run_answers]
        assert answers[0].label == "positive" and answers[1].label == "negative"


def test_no_exported_file_names_the_workspace(session, exported):
    secrets = [session["code"], str(session["ws"].root)]
    export_dir = exported["info"].parent
    files = [p for p in export_dir.rglob("*") if p.is_file()]
    assert len(files) > 8
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{path.relative_to(export_dir)} contains {secret!r}"


def test_the_command_line_exports_all_that_applies_and_says_what_it_skipped(session, tmp_path, capsys):
    assert cli.main(["export", str(session["run"]), "--format", "all", "--out", str(tmp_path / "cli")]) == 0
    said = capsys.readouterr().out
    assert "saved_model/" in said and "model.keras" in said and "tokenizer/" in said
    for fmt in ("tflite", "tflite-quant", "onnx", "web"):
        assert f"skipped {fmt}: " in said, said
    assert sorted(p.name for p in (tmp_path / "cli").iterdir() if not p.name.startswith(".")) == [
        "config.json", "labels.json", "model.keras", "model_card.md", "model_info.json", "saved_model",
        "saved_model.zip", "tokenizer"]
