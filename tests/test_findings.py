"""tlcore.findings: a check's result as data (problem, fix, paths), its old string form, skipped files."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tlcore import images
from tlcore.data import DatasetReport
from tlcore.findings import FIX_NOTHING, Finding, SkippedFile


def test_a_finding_round_trips_through_json():
    finding = Finding("2 images are in more than one split", "delete the copies from one of the splits.",
                      ("train/a/1.png", "val/a/1.png"))
    values = json.loads(json.dumps(finding.to_dict()))
    assert values == {"problem": "2 images are in more than one split", "fix": "delete the copies from one of the splits.",
                      "paths": ["train/a/1.png", "val/a/1.png"]}
    assert Finding.from_dict(values) == finding
    assert Finding.from_dict({"problem": "p"}) == Finding("p", "")


def test_its_text_is_problem_then_fix():
    assert str(Finding("Class 'bees' has only 4 training images", "add at least 10 per class.")) == \
        "Class 'bees' has only 4 training images; add at least 10 per class."
    assert str(Finding("Something to know", "")) == "Something to know"


def test_a_finding_is_frozen_and_its_paths_are_a_tuple():
    finding = Finding("p", "f", ["a.png"])
    assert finding.paths == ("a.png",) and finding == Finding("p", "f", ("a.png",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.fix = "other"


def test_a_data_report_json_of_an_older_run_reads_its_warnings_as_findings():
    saved = {  # data_report.json as runs wrote it before findings were objects
        "source": "/data/bees", "root": "/data/bees", "layout": "class-folders", "classes": ["ants", "bees"],
        "validation": "20% of each class held out from train (seed 42)",
        "counts": {"train": {"ants": 10, "bees": 3}, "val": {"ants": 2, "bees": 1}},
        "skipped": [{"path": "notes.txt", "reason": "not inside a class folder"}],
        "smallest_class": ["bees", 3], "imbalance_ratio": 3.333, "num_images": 16,
        "warnings": ["Class 'bees' has only 3 training images; add at least 10 per class for a useful model.",
                     "A sentence without a fix"],
    }
    report = DatasetReport.from_dict(saved)
    assert report.warnings == [
        Finding("Class 'bees' has only 3 training images", "add at least 10 per class for a useful model."),
        Finding("A sentence without a fix", ""),
    ]
    assert report.skipped[0].path == "notes.txt" and report.skipped[0].fix == ""
    assert "  - Class 'bees' has only 3 training images; add at least 10 per class for a useful model." in report.to_text()
    assert DatasetReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_a_skipped_file_says_whether_it_needs_action():
    assert SkippedFile("a.txt", "not an image") == SkippedFile("a.txt", "not an image", "", False)
    clutter = SkippedFile.clutter(".DS_Store", "hidden file (ignored)")
    assert clutter.ignored and clutter.fix == FIX_NOTHING and clutter.reason == "hidden file (ignored)"
    assert images.SkippedFile is SkippedFile  # still importable from where it used to live
