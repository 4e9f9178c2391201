"""tlcore.data.report: counts, duplicates, leakage, warnings as findings, and the report's saved and text forms."""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from data_helpers import _classes, _image, _noise_png, default_limits  # noqa: F401  (an autouse fixture)
from tlcore.data import DatasetReport, load_dataset
from tlcore.findings import Finding


# ---------------------------------------------------------------- warnings


def test_small_classes_only_warn(tmp_path):
    _classes(tmp_path, {"cats": 30, "bees": 5})
    ds = load_dataset(tmp_path)
    train_bees = ds.report.counts["train"]["bees"]
    assert f"Class 'bees' has only {train_bees} training images; add at least 10 per class" in " ".join(map(str, ds.report.warnings))
    assert ds.report.smallest_class == ("bees", train_bees)
    assert ds.report.imbalance_ratio == pytest.approx(24 / train_bees, rel=1e-3)
    assert any("imbalanced" in str(w) for w in ds.report.warnings)


def test_more_than_a_hundred_classes(tmp_path):
    for c in range(120):
        for i in range(2):
            _image(tmp_path / f"class_{c:03d}" / f"{i}.png", size=4)
    ds = load_dataset(tmp_path)
    assert len(ds.classes) == 120
    assert all(ds.report.counts["train"][name] == 1 and ds.report.counts["val"][name] == 1 for name in ds.classes)
    assert any("120 classes have fewer than 10 training images" in str(w) for w in ds.report.warnings)
    assert len(ds.report.warnings) < 5


def test_a_class_with_two_images_loads_with_a_warning_naming_it(tmp_path):
    for cls, count in (("cats", 12), ("dogs", 2)):
        (tmp_path / cls).mkdir()
        for i in range(count):
            (tmp_path / cls / f"{i}.png").write_bytes(_noise_png(100 * len(cls) + i))
    ds = load_dataset(tmp_path)
    assert ds.report.counts["train"]["dogs"] + ds.report.counts["val"]["dogs"] == 2
    assert ds.report.counts["train"]["dogs"] >= 1
    assert any("'dogs'" in str(w) and "add at least 10" in str(w) for w in ds.report.warnings)


# ---------------------------------------------------------------- duplicates and leakage


def test_duplicates_and_leakage_are_found(tmp_path):
    _classes(tmp_path / "train", {"a": 10, "b": 10})
    _classes(tmp_path / "val", {"a": 2, "b": 2})
    shutil.copy(tmp_path / "train/a/000.png", tmp_path / "train/a/000 copy.png")
    shutil.copy(tmp_path / "train/b/005.png", tmp_path / "val/b/leaked.png")
    ds = load_dataset(tmp_path)
    assert ds.report.duplicates == [["train/a/000 copy.png", "train/a/000.png"], ["train/b/005.png", "val/b/leaked.png"]]
    assert ds.report.leakage == [{"paths": ["train/b/005.png", "val/b/leaked.png"], "splits": ["train", "val"]}]
    warnings = " ".join(map(str, ds.report.warnings))
    assert "more than one split" in warnings and "identical files" in warnings
    text = ds.report.to_text()
    assert "val/b/leaked.png (val)" in text


def test_same_image_in_two_classes_is_flagged(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    shutil.copy(tmp_path / "a/001.png", tmp_path / "b/001_again.png")
    ds = load_dataset(tmp_path)
    assert any("same image is in the classes 'a', 'b'" in str(w) for w in ds.report.warnings)


def test_warnings_are_findings_with_their_fix_and_the_paths_concerned(tmp_path):
    _classes(tmp_path / "train", {"a": 10, "b": 10})
    _classes(tmp_path / "val", {"a": 2, "b": 2})
    shutil.copy(tmp_path / "train/b/005.png", tmp_path / "val/b/leaked.png")
    (tmp_path / "train/a/notes.txt").write_text("not a picture")
    report = load_dataset(tmp_path).report
    assert all(isinstance(w, Finding) and w.problem and w.fix for w in report.warnings)
    leak = next(w for w in report.warnings if "more than one split" in w.problem)
    assert leak.fix == "delete the copies from one of the splits."
    assert leak.paths == ("train/b/005.png", "val/b/leaked.png")
    skipped = next(w for w in report.warnings if "skipped" in w.problem)
    assert skipped == Finding("1 file was skipped (listed under skipped files)",
                              "remove it: only pictures can be used.", ("train/a/notes.txt",))
    values = json.loads(json.dumps(report.to_dict()))
    assert all(set(w) == {"problem", "fix", "paths"} for w in values["warnings"])
    assert {"problem": leak.problem, "fix": leak.fix, "paths": list(leak.paths)} in values["warnings"]
    assert f"  - {leak.problem}; {leak.fix}" in report.to_text()


def test_the_skipped_files_finding_says_the_fix_only_when_every_file_shares_it(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a/notes.txt").write_text("not a picture")
    (tmp_path / "b/readme.txt").write_text("not a picture either")
    same = next(w for w in load_dataset(tmp_path).report.warnings if "skipped" in w.problem)
    assert same.fix == "remove them: only pictures can be used." and len(same.paths) == 2
    wrapped = tmp_path.parent / "wrapped"
    shutil.copytree(tmp_path, wrapped / "top")
    shutil.copy(wrapped / "top/a/000.png", wrapped / "top/loose.png")  # beside the class folders
    mixed = next(w for w in load_dataset(wrapped).report.warnings if "skipped" in w.problem)
    assert "convert" not in mixed.fix and "beside it" in mixed.fix and "top/loose.png" in "".join(mixed.paths)


def test_a_report_saved_before_findings_were_objects_reads_back(tmp_path):
    _classes(tmp_path, {"a": 12, "b": 4})
    shutil.copy(tmp_path / "a/001.png", tmp_path / "a/001 copy.png")
    (tmp_path / "a/notes.txt").write_text("not a picture")
    report = load_dataset(tmp_path).report
    values = json.loads(json.dumps(report.to_dict()))
    # The old file format: warnings as "problem; fix" sentences, skipped files as path and reason.
    values["warnings"] = [f"{w.problem}; {w.fix}" for w in report.warnings]
    values["skipped"] = [{"path": s["path"], "reason": s["reason"]} for s in values["skipped"]]
    old = DatasetReport.from_dict(values)
    assert old.warnings == [Finding(w.problem, w.fix) for w in report.warnings]
    assert [(s.path, s.reason) for s in old.skipped] == [(s.path, s.reason) for s in report.skipped]
    assert old.to_text() == report.to_text()


# ---------------------------------------------------------------- saved and text forms


def test_report_to_dict_and_text(tmp_path):
    _classes(tmp_path, {"ants": 12, "bees": 4})
    ds = load_dataset(tmp_path)
    values = json.loads(json.dumps(ds.report.to_dict()))
    assert DatasetReport.from_dict(values) == ds.report
    assert values["classes"] == ["ants", "bees"] and values["layout"] == "class-folders"
    assert values["counts"]["train"]["ants"] == 10 and values["num_images"] == 16
    text = ds.report.to_text()
    for part in ("Layout: one folder per class", "Classes (2): ants, bees", "Smallest class: 'bees'", "Imbalance", "Warnings:"):
        assert part in text, text


def test_shapes_sample_data(shapes_dir):
    ds = load_dataset(shapes_dir)
    assert ds.layout == "splits" and ds.classes == ["circle", "square", "triangle"]
    assert ds.report.counts["train"] == {"circle": 60, "square": 60, "triangle": 60}
    assert ds.report.counts["val"] == {"circle": 20, "square": 20, "triangle": 20}
    assert ds.report.skipped == [] and ds.report.duplicates == [] and ds.report.warnings == []
    assert load_image_shape(ds.samples[0].path) == (96, 96)


def load_image_shape(path: str) -> tuple[int, int]:
    with Image.open(path) as img:
        return img.size


def test_tiny_dataset_fixture(tiny_dataset):
    ds = load_dataset(tiny_dataset)
    assert ds.classes == ["blue_checks", "green_columns", "red_stripes"]
    assert len(ds.samples) == 36 and ds.report.duplicates == []
