"""``tlcore train``: settings from flags and --config, the run folder, Ctrl-C, a whole run."""

from __future__ import annotations

import os
import signal

import pytest

from tlcore import cli
from tlcore.cli.commands.train import StopOnCtrlC, config_from_args
from tlcore.runs import RunFolder

from test_cli_commands import run_tlcore


def test_train_problem_exits_2_and_is_recorded_in_the_run(tmp_path, capsys):
    code = cli.main(["train", str(tmp_path / "no_data"), "--weights", "none", "--out", str(tmp_path / "runs"),
                     "--workspace", str(tmp_path / "ws")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    (run_dir,) = (tmp_path / "runs").iterdir()
    events = RunFolder(run_dir).events()
    assert events[-1]["status"] == "failed" and "does not exist" in events[-1]["message"]
    assert RunFolder(run_dir).config_dict()["weights"] == "none"


def test_bad_flag_values_are_refused_before_training(tmp_path, capsys):
    assert cli.main(["train", str(tmp_path), "--image-size", "8", "--out", str(tmp_path / "runs")]) == 2
    assert "image_size" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", str(tmp_path), "--epochs", "0"])
    assert exit_info.value.code == 2


def test_flags_override_the_config_file_and_unset_flags_keep_it(tmp_path):
    from tlcore.config import TrainConfig, save_config

    save_config(TrainConfig(data=str(tmp_path), epochs=7, optimizer="sgd", augment=True), tmp_path / "config.json")
    args = cli.build_parser().parse_args(["train", "--config", str(tmp_path / "config.json"), "--epochs", "3",
                                          "--no-augment"])
    config = config_from_args(args)
    assert (config.epochs, config.optimizer, config.augment) == (3, "sgd", False)


def test_first_ctrl_c_asks_to_stop_and_the_second_aborts(capsys):
    with StopOnCtrlC() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop() is True
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert "Cancelling" in capsys.readouterr().err


@pytest.mark.slow
def test_train_end_to_end(tiny_dataset, tmp_path):
    import json

    result = run_tlcore("train", tiny_dataset, "--weights", "none", "--epochs", "2", "--image-size", "64",
                        "--out", tmp_path / "runs", "--workspace", tmp_path / "ws", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "epoch 2/2" in result.stdout and "Validation accuracy" in result.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert f"Run folder: {run_dir}" in result.stdout
    run = RunFolder(run_dir)
    for path in (run.config_path, run.events_path, run.model_path, run.evaluation_path, run.labels_path):
        assert path.is_file(), path.name
    evaluation = run.evaluation()
    assert {"accuracy", "confusion_matrix", "classes", "report"} <= set(evaluation)
    assert evaluation["classes"] == ["blue_checks", "green_columns", "red_stripes"]
    config = json.loads(run.config_path.read_text())
    assert (config["epochs"], config["image_size"], config["weights"]) == (2, 64, "none")
    assert config["data"] == str(tiny_dataset.resolve())  # absolute: replayable from anywhere


def test_train_names_the_dataset_as_the_user_gave_it(tmp_path):
    """Shared files (config.json, model card) name the dataset by ``data_name``, never by its path."""
    from tlcore.config import TrainConfig, save_config

    args = cli.build_parser().parse_args(["train", str(tmp_path / "my_flowers.zip")])
    config = config_from_args(args)
    assert config.data == str((tmp_path / "my_flowers.zip").resolve()) and config.data_name == "my_flowers"
    save_config(TrainConfig(data=str(tmp_path / "tulips"), data_name="Tulips 2024"), tmp_path / "config.json")
    args = cli.build_parser().parse_args(["train", "--config", str(tmp_path / "config.json")])
    assert config_from_args(args).data_name == "Tulips 2024"  # the config's own name is kept
    args = cli.build_parser().parse_args(["train", str(tmp_path / "roses"), "--config", str(tmp_path / "config.json")])
    assert config_from_args(args).data_name == "roses"  # another dataset: not the config's old name
