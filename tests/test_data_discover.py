"""tlcore.data.discover: layouts, class folders, and what is left out on the way (with its fix)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from data_helpers import CAFE_NFC, CAFE_NFD, _classes, _error, _image, _zip_tree
from tlcore.data import Dataset, Sample, SkippedFile, load_dataset
from tlcore.workspace import Workspace


# ---------------------------------------------------------------- layouts


def test_class_folders(tmp_path):
    _classes(tmp_path, {"cats": 10, "dogs": 15})
    ds = load_dataset(tmp_path)
    assert isinstance(ds, Dataset)
    assert ds.layout == "class-folders" and ds.classes == ["cats", "dogs"] and not ds.has_test
    assert ds.report.counts == {"train": {"cats": 8, "dogs": 12}, "val": {"cats": 2, "dogs": 3}}
    assert all(isinstance(s, Sample) and Path(s.path).is_absolute() for s in ds.samples)
    assert {ds.classes[s.label] for s in ds.samples} == {"cats", "dogs"}
    assert all(Path(s.path).parent.name == ds.classes[s.label] for s in ds.samples)


def test_train_val_test_folders(tmp_path):
    for split, n in (("train", 10), ("val", 3), ("test", 2)):
        _classes(tmp_path / split, {"ants": n, "bees": n})
    ds = load_dataset(tmp_path)
    assert ds.layout == "splits" and ds.has_test
    assert ds.report.counts == {s: {"ants": n, "bees": n} for s, n in (("train", 10), ("val", 3), ("test", 2))}
    assert all(f"/{s.split}/" in s.path for s in ds.samples)
    assert ds.report.validation == "from the val folder"
    assert "split folders (train/, val/, test/)" in ds.report.to_text()
    assert len(ds.paths("test")) == 4 and list(ds.labels("test")) == [0, 0, 1, 1]


@pytest.mark.parametrize("train_name, val_name", [("train", "validation"), ("Train", "VAL"), ("TRAINING", "Valid")])
def test_split_folder_names_are_case_insensitive_with_aliases(tmp_path, train_name, val_name):
    _classes(tmp_path / train_name, {"a": 10, "b": 10})
    _classes(tmp_path / val_name, {"a": 2, "b": 2})
    ds = load_dataset(tmp_path)
    assert ds.layout == "splits"
    assert ds.report.counts["val"] == {"a": 2, "b": 2}


def test_dataset_wrapped_in_one_folder(tmp_path):
    _classes(tmp_path / "my dataset" / "images", {"a": 10, "b": 10})
    (tmp_path / "my dataset" / "README.txt").write_text("hello")
    ds = load_dataset(tmp_path)
    assert ds.classes == ["a", "b"] and ds.root == (tmp_path / "my dataset" / "images").resolve()
    assert SkippedFile("my dataset/README.txt", "not inside a class folder", "move it into the folder of its class") in ds.report.skipped


def test_val_without_train_folder(tmp_path):
    _classes(tmp_path / "val", {"cats": 2, "dogs": 2})
    _classes(tmp_path / "test", {"cats": 2, "dogs": 2})
    _error(tmp_path, "no 'train' folder")


def test_two_folders_for_the_same_split(tmp_path):
    _classes(tmp_path / "train", {"a": 5, "b": 5})
    _classes(tmp_path / "val", {"a": 2, "b": 2})
    _classes(tmp_path / "validation", {"a": 2, "b": 2})
    _error(tmp_path, "'val' and 'validation'", "merge")


# ---------------------------------------------------------------- what gets skipped


def test_hidden_files_in_a_folder_are_ignored_and_reported(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a" / ".DS_Store").write_bytes(b"x")
    _image(tmp_path / "b" / ".hidden" / "sneaky.png")
    ds = load_dataset(tmp_path)
    assert len(ds.samples) == 20
    assert {s.path for s in ds.report.skipped} == {"a/.DS_Store", "b/.hidden/"}


def test_bad_files_are_skipped_with_the_reason(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a" / "notes.jpg").write_text("not an image")
    (tmp_path / "a" / "empty.png").write_bytes(b"")
    big = _image(tmp_path / "tmp.jpg", size=300, fmt="JPEG")
    (tmp_path / "b" / "cut.jpg").write_bytes(big.read_bytes()[:2000])
    big.unlink()
    _image(tmp_path / "b" / "real_png.jpg")  # wrong extension, still an image
    _image(tmp_path / "b" / "no_extension")
    _image(tmp_path / "loose.png")  # not in a class folder
    ds = load_dataset(tmp_path)
    assert ds.report.counts["train"]["b"] + ds.report.counts["val"]["b"] == 12
    reasons = {s.path: s.reason for s in ds.report.skipped}
    assert reasons == {
        "a/notes.jpg": "not an image",
        "a/empty.png": "empty file",
        "b/cut.jpg": "truncated or corrupt image",
        "loose.png": "not inside a class folder",
    }
    assert any("4 files were skipped" in str(w) for w in ds.report.warnings)
    text = ds.report.to_text()
    assert "a/notes.jpg: not an image" in text and "loose.png: not inside a class folder" in text


def test_each_skipped_file_carries_its_fix_and_clutter_is_marked_ignored(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a" / "notes.jpg").write_text("not an image")
    (tmp_path / "a" / "empty.png").write_bytes(b"")
    (tmp_path / "b" / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(32))
    big = _image(tmp_path / "tmp.jpg", size=300, fmt="JPEG")
    (tmp_path / "b" / "cut.jpg").write_bytes(big.read_bytes()[:2000])
    big.unlink()
    _image(tmp_path / "loose.png")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"x")
    (tmp_path / "b" / "Thumbs.db").write_bytes(b"x")
    skipped = {s.path: s for s in load_dataset(tmp_path).report.skipped}
    fixes = {path: s.fix for path, s in skipped.items() if not s.ignored}
    assert fixes == {
        "a/notes.jpg": "remove it: only pictures can be used",
        "a/empty.png": "the file has no content; copy it again from the original",
        "b/photo.heic": "convert it to JPEG or PNG (for example with your photo viewer's *Export*)",
        "b/cut.jpg": "the file is damaged; copy it again from the original or re-save it",
        "loose.png": "move it into the folder of its class",
    }
    assert skipped["b/photo.heic"].reason == "unsupported format HEIC"
    clutter = [s for s in skipped.values() if s.ignored]
    assert {s.path for s in clutter} == {"a/.DS_Store", "b/Thumbs.db"}
    assert all(s.fix.startswith("nothing to do") and "(ignored)" in s.reason for s in clutter)


def test_top_level_files_next_to_split_folders(tmp_path):
    _classes(tmp_path / "train", {"a": 10, "b": 10})
    _image(tmp_path / "train" / "stray.png")
    (tmp_path / "labels.csv").write_text("a,b\n")
    (tmp_path / "extras").mkdir()
    ds = load_dataset(tmp_path)
    reasons = {s.path: s.reason for s in ds.report.skipped}
    assert reasons["train/stray.png"] == "not inside a class folder"
    assert reasons["labels.csv"] == "not inside a class folder"
    assert "not a split" in reasons["extras/"]


# ---------------------------------------------------------------- class names


def test_class_names_with_spaces_unicode_and_dots(tmp_path):
    names = ["golden retriever", "chat noir é", "v1.2", "犬"]
    _classes(tmp_path, {n: 4 for n in names})
    ds = load_dataset(tmp_path)
    assert ds.classes == sorted(names)
    json.dumps(ds.report.to_dict(), ensure_ascii=False)


def test_class_names_differing_only_by_case(tmp_path):
    _classes(tmp_path, {"Cats": 5, "cats": 5, "dogs": 5})
    if len({p.name for p in tmp_path.iterdir()}) < 3:
        pytest.skip("case-insensitive file system")
    _error(tmp_path, "'Cats'", "'cats'", "upper/lower case", "rename")


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_class_folders_named_alike_in_two_unicode_forms_are_one_class(tmp_path, as_zip):
    folder = _classes(tmp_path / "drinks", {CAFE_NFC: 4, CAFE_NFD: 3, "tea": 5})
    if len({p.name for p in folder.iterdir()}) < 3:
        pytest.skip("this file system stores both spellings as one folder")
    source = _zip_tree(folder, tmp_path / "drinks.zip") if as_zip else folder
    if as_zip:
        assert {n.split("/")[0] for n in zipfile.ZipFile(source).namelist()} == {CAFE_NFC, CAFE_NFD, "tea"}
    ds = load_dataset(source, workspace=Workspace(tmp_path / "ws"))
    assert ds.classes == [CAFE_NFC, "tea"]
    assert "Classes (2): café, tea" in ds.report.to_text()
    counts = {split: per_class[CAFE_NFC] for split, per_class in ds.report.counts.items()}
    assert sum(counts.values()) == 7  # the images of both folders
    assert {s.label for s in ds.samples if Path(s.path).parent.name == CAFE_NFD} == {0}
    merged = [w for w in ds.report.warnings if "merged into one class 'café'" in str(w)]
    assert len(merged) == 1 and "Unicode" in str(merged[0]), ds.report.warnings


def test_unicode_forms_are_matched_between_train_and_val(tmp_path):
    _classes(tmp_path / "train", {CAFE_NFC: 4, "tea": 4})
    _classes(tmp_path / "val", {CAFE_NFD: 2, "tea": 2})  # val/ zipped on another system
    ds = load_dataset(tmp_path)
    assert ds.classes == [CAFE_NFC, "tea"]
    assert ds.report.counts["val"] == {CAFE_NFC: 2, "tea": 2}
    assert not any("merged" in str(w) for w in ds.report.warnings)  # one folder per split: nothing to merge


def test_unicode_forms_still_differing_by_case_are_refused(tmp_path):
    _classes(tmp_path, {CAFE_NFD: 3, "CAF\u00c9": 3, "tea": 3})
    if len({p.name for p in tmp_path.iterdir()}) < 3:
        pytest.skip("case-insensitive file system")
    _error(tmp_path, "upper/lower case")
