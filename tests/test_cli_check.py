"""``tlcore check``, ``tlcore curve`` and ``tlcore edit``: the same check as the app, from a terminal."""

from __future__ import annotations

import json

import pytest

from tlcore.checks import CheckFolder
from tlcore.cli import main
from tlcore.workspace import Workspace


@pytest.fixture
def flags(random_weights, tmp_path):
    return ["--weights", random_weights, "--layer", "block_2_add", "--image-size", "32",
            "--workspace", str(tmp_path / "ws")]


def test_check_prints_json_and_saves_the_result_where_the_app_reads_it(separable_dataset, flags, tmp_path, capsys):
    assert main(["check", str(separable_dataset), "--json", "--no-map", *flags]) == 0
    out = capsys.readouterr()
    values = json.loads(out.out)
    assert values["num_images"] == 90 and "labels" in values and "curve" in values and "map" not in values
    assert "pictures" in out.err  # the feature pass's progress goes to stderr, the JSON alone to stdout
    saved = CheckFolder(str(separable_dataset), Workspace(tmp_path / "ws")).result()
    assert saved["num_images"] == 90


def test_check_in_words_and_the_curve(separable_dataset, flags, capsys):
    assert main(["check", str(separable_dataset), "--no-curve", "--no-map", *flags]) == 0
    text = capsys.readouterr().out
    assert "Data check of" in text and "may be labelled wrong" in text
    assert main(["curve", str(separable_dataset), *flags]) == 0
    assert "Do I need more images?" in capsys.readouterr().out


def test_edit_records_changes_that_the_next_check_and_train_use(separable_dataset, flags, tmp_path, capsys):
    data = str(separable_dataset)
    ws = ["--workspace", str(tmp_path / "ws")]
    assert main(["edit", data, "--relabel", "red_stripes/red_stripes_03.png", "blue_checks",
                 "--exclude", "green_columns/green_columns_01.png", *ws]) == 0
    assert "2 changes" in capsys.readouterr().out
    assert main(["edit", data, "--json", *ws]) == 0
    assert {e["action"] for e in json.loads(capsys.readouterr().out)} == {"relabel", "exclude"}
    from tlcore.cli.commands.train import config_from_args
    from tlcore.cli.parser import build_parser

    config = config_from_args(build_parser().parse_args(["train", data, *ws]))
    assert {e["path"] for e in config.edits} == {"red_stripes/red_stripes_03.png", "green_columns/green_columns_01.png"}
    assert main(["check", data, "--json", "--no-curve", "--no-map", *flags]) == 0
    values = json.loads(capsys.readouterr().out)
    assert values["num_images"] == 89
    assert main(["edit", data, "--undo", *ws]) == 0
    assert "No changes" in capsys.readouterr().out


@pytest.mark.parametrize("group_by, words", [("zzz_(\\d+", "not a valid"), ("^(nomatch\\d+)_", "matches none")])
def test_a_bad_subject_pattern_says_what_is_wrong(separable_dataset, flags, group_by, words, capsys):
    assert main(["check", str(separable_dataset), "--group-by", group_by, *flags]) == 2
    err = capsys.readouterr().err
    assert words in err and "Fix:" in err
