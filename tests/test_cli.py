"""The command line as a user meets it: help, tables, plain errors, exit codes."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys

import pytest

from tlcore import cli

COMMANDS = ["inspect", "layers", "train", "evaluate", "predict", "export", "featurize", "weights import"]


def run_tlcore(*args, cwd=None, timeout=300):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "tlcore", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def _subparser(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    for word in words:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_explains_every_option(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command.split(), "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    parser = _subparser(cli.build_parser(), command.split())
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help"
        for option in action.option_strings:
            assert option in text, f"{command} --help does not mention {option}"


def test_train_help_lists_the_flags_scripts_rely_on(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    for flag in ("--backbone", "--layer", "--mode", "--weights", "--epochs", "--config", "--out", "--batch-size",
                 "--learning-rate", "--no-augment", "--no-early-stopping", "--no-feature-cache", "--fine-tune-layers",
                 "feature-extraction", "fine-tune", "imagenet|none|FILE"):
        assert flag in text, flag


def test_top_level_help_is_fast_and_loads_no_tensorflow():
    result = run_tlcore("--help")
    assert result.returncode == 0 and "inspect" in result.stdout and "featurize" in result.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, tlcore.cli as c; c.build_parser(); "
                               "print('tensorflow' in sys.modules, 'keras' in sys.modules)"],
        capture_output=True, text=True)
    assert probe.stdout.split() == ["False", "False"]


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


def _fake_run(tmp_path, with_test=False):
    from tlcore.evaluate import evaluate_predictions

    run = tmp_path / "run"
    run.mkdir()
    probs = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]
    evaluation = evaluate_predictions([0, 1, 1, 1], probs, ["NORMAL", "PNEUMONIA"],
                                      ["a.png", "b.png", "c.png", "d.png"])
    if with_test:
        evaluation["test"] = evaluate_predictions([0, 1], probs[:2], ["NORMAL", "PNEUMONIA"], ["e.png", "f.png"])
    (run / "evaluation.json").write_text(json.dumps(evaluation))
    return run


def test_evaluate_prints_a_readable_summary(tmp_path, capsys):
    run = _fake_run(tmp_path, with_test=True)
    assert cli.main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    for text in ("Accuracy: 75.0% on 4 images", "Confusion matrix", "precision", "PNEUMONIA",
                 "Sensitivity (PNEUMONIA): 0.667", "Specificity: 1.000", "Misclassified images: 1",
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

    monkeypatch.setattr(cli, "_cmd_evaluate", boom)
    assert cli.main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: disk on fire" in err and "Traceback" not in err
    log_path = err.split("The full details are in ")[1].split(". Please")[0]
    assert "Traceback" in open(log_path).read()
    os.unlink(log_path)


def test_train_problem_exits_2_and_is_recorded_in_the_run(tmp_path, capsys):
    code = cli.main(["train", str(tmp_path / "no_data"), "--weights", "none", "--out", str(tmp_path / "runs"),
                     "--workspace", str(tmp_path / "ws")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    (run_dir,) = (tmp_path / "runs").iterdir()
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1]["status"] == "failed" and "does not exist" in events[-1]["message"]
    assert json.loads((run_dir / "config.json").read_text())["weights"] == "none"


def test_bad_flag_values_are_refused_before_training(tmp_path, capsys):
    assert cli.main(["train", str(tmp_path), "--image-size", "8", "--out", str(tmp_path / "runs")]) == 2
    assert "image_size" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", str(tmp_path), "--epochs", "0"])
    assert exit_info.value.code == 2


def test_progress_printer_shows_epochs_and_speed():
    stream = io.StringIO()
    printer = cli.ProgressPrinter(stream)
    printer({"type": "stage", "stage": "model", "message": "Model ready", "trainable_params": 3843,
             "frozen_params": 100, "image_size": 64, "layer": "out_relu"})
    printer({"type": "batch", "stage": "head", "epoch": 0, "epochs": 2, "batch": 1, "batches": 2, "loss": 1.0})
    printer({"type": "epoch", "stage": "head", "epoch": 1, "epochs": 2, "loss": 0.9, "accuracy": 0.5,
             "val_loss": 0.8, "val_accuracy": 0.625, "seconds": 1.5, "images_per_s": 240.0})
    printer({"type": "status", "status": "finished", "accuracy": 0.625})
    text = stream.getvalue()
    assert "3,843 trainable" in text and "bottleneck layer out_relu" in text
    assert "epoch 1/2" in text and "val_accuracy 0.6250" in text and "240 img/s" in text
    assert len(text.splitlines()) == 2  # batch lines only redraw in place on a terminal


def test_first_ctrl_c_asks_to_stop_and_the_second_aborts(capsys):
    with cli._StopOnCtrlC() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop() is True
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert "Cancelling" in capsys.readouterr().err


def test_train_end_to_end(tiny_dataset, tmp_path):
    result = run_tlcore("train", tiny_dataset, "--weights", "none", "--epochs", "2", "--image-size", "64",
                        "--out", tmp_path / "runs", "--workspace", tmp_path / "ws", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "epoch 2/2" in result.stdout and "Validation accuracy" in result.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert f"Run folder: {run_dir}" in result.stdout
    for name in ("config.json", "events.jsonl", "model.keras", "evaluation.json", "labels.json"):
        assert (run_dir / name).is_file(), name
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert {"accuracy", "confusion_matrix", "classes", "report"} <= set(evaluation)
    assert evaluation["classes"] == ["blue_checks", "green_columns", "red_stripes"]
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["epochs"], config["image_size"], config["weights"]) == (2, 64, "none")
    assert config["data"] == str(tiny_dataset.resolve())  # absolute: replayable from anywhere


def test_train_names_the_dataset_as_the_user_gave_it(tmp_path):
    """Shared files (config.json, model card) name the dataset by ``data_name``, never by its path."""
    from tlcore.config import TrainConfig, save_config

    args = cli.build_parser().parse_args(["train", str(tmp_path / "my_flowers.zip")])
    config = cli._config_from_args(args)
    assert config.data == str((tmp_path / "my_flowers.zip").resolve()) and config.data_name == "my_flowers"
    save_config(TrainConfig(data=str(tmp_path / "tulips"), data_name="Tulips 2024"), tmp_path / "config.json")
    args = cli.build_parser().parse_args(["train", "--config", str(tmp_path / "config.json")])
    assert cli._config_from_args(args).data_name == "Tulips 2024"  # the config's own name is kept
    args = cli.build_parser().parse_args(["train", str(tmp_path / "roses"), "--config", str(tmp_path / "config.json")])
    assert cli._config_from_args(args).data_name == "roses"  # another dataset: not the config's old name
