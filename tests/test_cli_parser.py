"""The command line's parser: help for every option, flags generated from the settings table."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from tlcore import cli
from tlcore.cli.commands.data import FEATURIZE_SETTINGS
from tlcore.cli.parser import EXPORT_FORMAT_CHOICES
from tlcore.config import SETTINGS
from tlcore.export.formats import FORMATS

from test_cli_commands import run_tlcore

COMMANDS = ["inspect", "layers", "train", "evaluate", "threshold", "predict", "explain", "export", "featurize",
            "weights import"]


def _subparser(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    for word in words:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.option_strings}


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


@pytest.mark.parametrize("command,names", [
    ("train", [name for name, s in SETTINGS.items() if s.flag]),
    ("featurize", list(FEATURIZE_SETTINGS)),
])
def test_setting_flags_follow_the_settings_table(command, names):
    """Each flag is its setting: same name, same choices, unset by default (the config keeps its value)."""
    options = _options(_subparser(cli.build_parser(), [command]))
    for name in names:
        action, setting = options[name], SETTINGS[name]
        assert action.option_strings[0] == "--" + name.replace("_", "-")
        assert action.default is None, name
        assert tuple(action.choices or ()) == tuple(setting.choices), name
        assert setting.help in action.help, name
    # the train flags scripts use today, no more and no fewer
    if command == "train":
        assert len(names) == 36 and {"data", "data_name", "feature_views", "edits"}.isdisjoint(names)
        assert {"text_column", "label_column", "sequence_length"} <= set(names)  # text data


def test_flag_values_are_typed_by_their_setting():
    args = cli.build_parser().parse_args(["train", "d", "--epochs", "3", "--learning-rate", "3e-4",
                                          "--no-augment", "--image-size", "96"])
    assert (args.epochs, args.learning_rate, args.augment, args.image_size) == (3, 3e-4, False, 96)
    assert args.fine_tune_epochs is None and args.mode is None


def test_export_format_choices_are_the_format_table():
    assert EXPORT_FORMAT_CHOICES == (*FORMATS, "all")
    options = _options(_subparser(cli.build_parser(), ["export"]))
    assert tuple(options["format"].choices) == EXPORT_FORMAT_CHOICES
