"""The command line's commands as a user meets them: tables, plain errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tlcore import cli
from tlcore.cli.commands import evaluate as evaluate_cmd
from tlcore.runs import RunFolder

from data_helpers import LIMIT_SETTINGS, _dataset_zip


def run_tlcore(*args, cwd=None, timeout=300, env=None):
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "tlcore", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def test_layers_marks_the_default_bottleneck(capsys):
    assert cli.main(["layers", "MobileNetV2"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if " out_relu " in f" {line} ")
    assert "← default" in line and "★" in line
    assert "block_16_project" not in out  # only recommended cut points without --all
    assert cli.main(["layers", "MobileNetV2", "--all", "--image-size", "96"]) == 0
    out = capsys.readouterr().out
    assert "block_16_project" in out and "(3, 3, 1280)" in out


def test_unknown_backbone_is_a_plain_error(capsys):
    assert cli.main(["layers", "NoSuchNet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown backbone 'NoSuchNet'") and "MobileNetV2" in err


def test_inspect_missing_dataset_exits_2_without_a_traceback(tmp_path):
    result = run_tlcore("inspect", tmp_path / "no_such_folder")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "no_such_folder" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_inspect_prints_the_report(tiny_dataset, tmp_path, capsys):
    assert cli.main(["inspect", str(tiny_dataset), "--workspace", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "blue_checks" in out and "red_stripes" in out and "Validation" in out
    assert cli.main(["inspect", str(tiny_dataset), "--json", "--val-fraction", "0.25", "--seed", "3",
                     "--workspace", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classes"] == ["blue_checks", "green_columns", "red_stripes"]
    assert sum(report["counts"]["val"].values()) == 9


def test_the_command_line_follows_the_settings(tmp_path):
    """Issue 4: the zip limits are environment settings, and `tlcore inspect` obeys them."""
    zip_path = _dataset_zip(tmp_path / "upload.zip")
    env = {k: v for k, v in os.environ.items() if k not in LIMIT_SETTINGS}

    def inspect(**extra):
        return subprocess.run([sys.executable, "-m", "tlcore", "inspect", str(zip_path), "--workspace", str(tmp_path / "ws")],
                              capture_output=True, text=True, env=env | extra, cwd=tmp_path, timeout=300)

    refused = inspect(TLCORE_MAX_ZIP_FILES="5")
    assert refused.returncode == 2, refused.stderr
    assert "limit of 5 files" in refused.stderr and "TLCORE_MAX_ZIP_FILES" in refused.stderr
    assert "Traceback" not in refused.stderr
    malformed = inspect(TLCORE_MAX_ZIP_BYTES="plenty")
    assert malformed.returncode == 2 and "TLCORE_MAX_ZIP_BYTES" in malformed.stderr and "Traceback" not in malformed.stderr
    accepted = inspect()
    assert accepted.returncode == 0, accepted.stderr
    assert "cats" in accepted.stdout


def _fake_run(tmp_path, with_test=False):
    from tlcore.evaluate import evaluate_predictions

    run = RunFolder(tmp_path / "run")
    probs = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]
    evaluation = evaluate_predictions([0, 1, 1, 1], probs, ["NORMAL", "PNEUMONIA"],
                                      ["a.png", "b.png", "c.png", "d.png"])
    if with_test:
        evaluation["test"] = evaluate_predictions([0, 1], probs[:2], ["NORMAL", "PNEUMONIA"], ["e.png", "f.png"])
    run.write_evaluation(evaluation)
    return run.path


def test_evaluate_prints_a_readable_summary(tmp_path, capsys):
    run = _fake_run(tmp_path, with_test=True)
    assert cli.main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    for text in ("Accuracy: 75.0 % (30.1–95.4) on 4 images", "Confusion matrix", "precision", "PNEUMONIA",
                 "Sensitivity (PNEUMONIA): 66.7 % (20.8–93.9)", "Specificity: 100.0 % (", "Misclassified images: 1",
                 "c.png: true PNEUMONIA, predicted NORMAL"):
        assert text in out, text
    assert cli.main(["evaluate", str(run), "--split", "test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0


def test_evaluate_errors_are_plain(tmp_path, capsys):
    run = _fake_run(tmp_path)
    assert cli.main(["evaluate", str(run), "--split", "test"]) == 2
    assert "has no test split" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "has no evaluation" in capsys.readouterr().err


def test_predict_and_export_commands(tmp_path, capsys):
    from test_export import fitted_classifier, make_images, write_run

    images = make_images(tmp_path)
    model, arrays = fitted_classifier(images)
    write_run(tmp_path / "run", model, arrays)
    expected = [["circle", "café crème", "square"][i] for i in model(arrays, training=False).numpy().argmax(1)]

    assert cli.main(["predict", str(tmp_path / "run"), *map(str, images), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # "path: café crème 99.5%, circle 0.3%" -> the top class
    assert [line.split(": ", 1)[1].split(",")[0].rsplit(" ", 1)[0] for line in lines] == expected

    assert cli.main(["export", str(tmp_path / "run"), "--format", "keras", "--format", "tflite",
                     "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "model.tflite" in out and "model_card.md" in out and "saved_model" not in out
    assert (tmp_path / "out" / "model.tflite").is_file() and not (tmp_path / "out" / "saved_model").exists()

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    code = cli.main(["predict", str(tmp_path / "out" / "model.tflite"), str(images[0]), str(broken), "--json"])
    captured = capsys.readouterr()
    assert code == 2  # one file failed; the others are still predicted
    results = json.loads(captured.out)
    assert results[0]["predictions"][0]["class"] == expected[0]
    assert "broken.png" in results[1]["error"] and "Traceback" not in captured.err


def test_unexpected_errors_exit_1_with_where_the_details_are(tmp_path, monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(evaluate_cmd, "evaluate", boom)
    assert cli.main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: disk on fire" in err and "Traceback" not in err
    log_path = err.split("The full details are in ")[1].split(". Please")[0]
    assert "Traceback" in open(log_path).read()
    os.unlink(log_path)


def test_a_command_without_an_action_shows_its_help(capsys):
    assert cli.main(["weights"]) == 2
    assert "import" in capsys.readouterr().out
