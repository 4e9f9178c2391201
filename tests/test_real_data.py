"""End to end on real photos with the real ImageNet weights (through the normal Keras cache)."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


def test_cli_trains_hymenoptera_end_to_end_with_default_settings(hymenoptera_dir, real_keras_home, tmp_path):
    env = dict(os.environ, KERAS_HOME=str(real_keras_home), TLCORE_WORKSPACE=str(tmp_path / "ws"))
    out = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "tlcore", "train", str(hymenoptera_dir), "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    assert str(run) in proc.stdout
    for name in ("config.json", "events.jsonl", "model.keras", "evaluation.json"):
        assert (run / name).is_file(), name
    evaluation = json.loads((run / "evaluation.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert config["backbone"] == "MobileNetV2" and config["weights"] == "imagenet"
    assert evaluation["classes"] == ["ants", "bees"]
    print("hymenoptera val accuracy (feature extraction, defaults):", evaluation["accuracy"])
    # Published: fine-tuned ResNet18 ~94-95 % (PyTorch tutorial). Issue 6 target: >= 94 %.
    assert evaluation["accuracy"] >= 0.94
    # The report names the two quirks of this folder: a GIF placeholder is still an image,
    # the extension-less JPEG is used.
    report = json.loads((run / "data_report.json").read_text())
    assert report["counts"]["train"]["ants"] >= 123
