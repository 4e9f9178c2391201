"""Dataset discovery, checks, splitting, the report and streaming batches."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcore import data as data_module
from tlcore.data import Dataset, DatasetReport, Sample, SkippedFile, decode_all, load_dataset
from tlcore.errors import TLCoreError
from tlcore.workspace import Workspace

_seeds = itertools.count()


def _image(path: Path, colour: tuple[int, int, int] | None = None, size: int = 16, fmt: str = "PNG") -> Path:
    """A small image with unique content (noise), optionally of one solid colour."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(next(_seeds))
    if colour is None:
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    else:
        pixels = np.full((size, size, 3), colour, dtype=np.uint8)
    Image.fromarray(pixels).save(path, fmt)
    return path


def _classes(root: Path, counts: dict[str, int]) -> Path:
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            _image(root / name / f"{i:03d}.png")
    return root


def _zip_tree(folder: Path, zip_path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return zip_path


def _error(source, *words, **kwargs) -> str:
    with pytest.raises(TLCoreError) as info:
        load_dataset(source, **kwargs)
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), message
    assert "Fix:" in message
    return message


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


def test_train_only_gets_a_stratified_validation_split(tmp_path):
    _classes(tmp_path / "train", {"a": 20, "b": 10})
    ds = load_dataset(tmp_path, val_fraction=0.3)
    assert ds.report.counts == {"train": {"a": 14, "b": 7}, "val": {"a": 6, "b": 3}}
    assert "30%" in ds.report.validation


def test_dataset_wrapped_in_one_folder(tmp_path):
    _classes(tmp_path / "my dataset" / "images", {"a": 10, "b": 10})
    (tmp_path / "my dataset" / "README.txt").write_text("hello")
    ds = load_dataset(tmp_path)
    assert ds.classes == ["a", "b"] and ds.root == (tmp_path / "my dataset" / "images").resolve()
    assert SkippedFile("my dataset/README.txt", "not inside a class folder") in ds.report.skipped


@pytest.mark.parametrize("prefix", ["", "wrapped/", "outer/inner/"])
@pytest.mark.parametrize("layout", ["class-folders", "splits"])
def test_zip_of_each_layout(tmp_path, layout, prefix):
    tree = tmp_path / "tree"
    if layout == "splits":
        _classes(tree / "train", {"x": 10, "y": 10})
        _classes(tree / "validation", {"x": 3, "y": 3})
    else:
        _classes(tree, {"x": 10, "y": 10})
    zip_path = _zip_tree(tree, tmp_path / "upload.zip", prefix)
    workspace = Workspace(tmp_path / "ws")
    ds = load_dataset(zip_path, workspace=workspace)
    assert ds.layout == layout and ds.classes == ["x", "y"]
    assert sum(len(v) for v in (ds.split("train"), ds.split("val"))) == (26 if layout == "splits" else 20)
    assert ds.root.is_relative_to(workspace.datasets_dir)


def test_zip_is_extracted_once_and_reused(tmp_path, monkeypatch):
    zip_path = _zip_tree(_classes(tmp_path / "tree", {"x": 10, "y": 10}), tmp_path / "upload.zip")
    workspace = Workspace(tmp_path / "ws")
    first = load_dataset(zip_path, workspace=workspace)

    def no_second_extraction(*args, **kwargs):
        raise AssertionError("extracted again")

    monkeypatch.setattr(data_module, "extract_zip", no_second_extraction)
    second = load_dataset(zip_path, workspace=workspace)
    assert second.root == first.root and second.fingerprint() == first.fingerprint()


def test_zip_clutter_is_ignored_and_reported(tmp_path):
    zip_path = tmp_path / "upload.zip"
    tree = _classes(tmp_path / "tree", {"x": 10, "y": 10})
    _zip_tree(tree, zip_path, "photos/")
    with zipfile.ZipFile(zip_path, "a") as zf:
        zf.writestr("__MACOSX/photos/x/._000.png", b"resource fork")
        zf.writestr("photos/x/.DS_Store", b"ds")
        zf.writestr("photos/y/Thumbs.db", b"thumbs")
    ds = load_dataset(zip_path, workspace=Workspace(tmp_path / "ws"))
    assert len(ds.samples) == 20
    skipped = {s.path: s.reason for s in ds.report.skipped}
    assert set(skipped) == {"__MACOSX/", "photos/x/.DS_Store", "photos/y/Thumbs.db"}
    assert "macOS" in skipped["__MACOSX/"]
    assert "__MACOSX/" in ds.report.to_text()


def test_hidden_files_in_a_folder_are_ignored_and_reported(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a" / ".DS_Store").write_bytes(b"x")
    _image(tmp_path / "b" / ".hidden" / "sneaky.png")
    ds = load_dataset(tmp_path)
    assert len(ds.samples) == 20
    assert {s.path for s in ds.report.skipped} == {"a/.DS_Store", "b/.hidden/"}


def test_bad_zips_raise_with_the_fix(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    message = _error(bad, "is not a zip archive", workspace=Workspace(tmp_path / "ws"))
    assert "File is not a zip file" not in message
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../evil.png", b"x")
    _error(evil, "unsafe", "../evil.png", workspace=Workspace(tmp_path / "ws"))


# ---------------------------------------------------------------- what gets skipped


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
    assert any("4 files were skipped" in w for w in ds.report.warnings)
    text = ds.report.to_text()
    assert "a/notes.jpg: not an image" in text and "loose.png: not inside a class folder" in text


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


# ---------------------------------------------------------------- unusable datasets


def test_no_images_at_all(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "readme.txt").write_text("hi")
    _error(tmp_path, "no usable images", "one sub-folder per class")


def test_only_loose_images(tmp_path):
    for i in range(3):
        _image(tmp_path / f"{i}.png")
    _error(tmp_path, "no usable images", "outside class folders")


def test_one_class(tmp_path):
    _classes(tmp_path, {"cats": 10})
    _error(tmp_path, "at least two classes", "cats")


def test_empty_class_is_named(tmp_path):
    _classes(tmp_path, {"cats": 10, "dogs": 10})
    (tmp_path / "birds").mkdir()
    (tmp_path / "birds" / "bad.jpg").write_text("nope")
    _error(tmp_path, "'birds'", "no usable images", "add images or remove the folder")


def test_class_with_one_image(tmp_path):
    _classes(tmp_path, {"cats": 10, "dogs": 1})
    _error(tmp_path, "'dogs'", "only 1 image")


def test_small_classes_only_warn(tmp_path):
    _classes(tmp_path, {"cats": 30, "bees": 5})
    ds = load_dataset(tmp_path)
    train_bees = ds.report.counts["train"]["bees"]
    assert f"Class 'bees' has only {train_bees} training images; add at least 10 per class" in " ".join(ds.report.warnings)
    assert ds.report.smallest_class == ("bees", train_bees)
    assert ds.report.imbalance_ratio == pytest.approx(24 / train_bees, rel=1e-3)
    assert any("imbalanced" in w for w in ds.report.warnings)


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


CAFE_NFC, CAFE_NFD = "caf\u00e9", "cafe\u0301"  # one name, composed (Windows) and decomposed (macOS)


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
    merged = [w for w in ds.report.warnings if "merged into one class 'café'" in w]
    assert len(merged) == 1 and "Unicode" in merged[0], ds.report.warnings


def test_unicode_forms_are_matched_between_train_and_val(tmp_path):
    _classes(tmp_path / "train", {CAFE_NFC: 4, "tea": 4})
    _classes(tmp_path / "val", {CAFE_NFD: 2, "tea": 2})  # val/ zipped on another system
    ds = load_dataset(tmp_path)
    assert ds.classes == [CAFE_NFC, "tea"]
    assert ds.report.counts["val"] == {CAFE_NFC: 2, "tea": 2}
    assert not any("merged" in w for w in ds.report.warnings)  # one folder per split: nothing to merge


def test_unicode_forms_still_differing_by_case_are_refused(tmp_path):
    _classes(tmp_path, {CAFE_NFD: 3, "CAF\u00c9": 3, "tea": 3})
    if len({p.name for p in tmp_path.iterdir()}) < 3:
        pytest.skip("case-insensitive file system")
    _error(tmp_path, "upper/lower case")


def test_more_than_a_hundred_classes(tmp_path):
    for c in range(120):
        for i in range(2):
            _image(tmp_path / f"class_{c:03d}" / f"{i}.png", size=4)
    ds = load_dataset(tmp_path)
    assert len(ds.classes) == 120
    assert all(ds.report.counts["train"][name] == 1 and ds.report.counts["val"][name] == 1 for name in ds.classes)
    assert any("120 classes have fewer than 10 training images" in w for w in ds.report.warnings)
    assert len(ds.report.warnings) < 5


def test_mismatched_class_sets_between_train_and_val(tmp_path):
    _classes(tmp_path / "train", {"cats": 10, "dogs": 10})
    _classes(tmp_path / "val", {"cats": 2, "Dogs": 2, "horses": 2})
    message = _error(tmp_path, "do not match", "'Dogs'", "'horses'")
    assert "looks like 'dogs'" in message


def test_train_class_missing_from_val_only_warns(tmp_path):
    _classes(tmp_path / "train", {"cats": 10, "dogs": 10})
    _classes(tmp_path / "val", {"cats": 2})
    ds = load_dataset(tmp_path)
    assert any("'dogs' has no validation images" in w and "val/dogs" in w for w in ds.report.warnings)


def test_val_without_train_folder(tmp_path):
    _classes(tmp_path / "val", {"cats": 2, "dogs": 2})
    _classes(tmp_path / "test", {"cats": 2, "dogs": 2})
    _error(tmp_path, "no 'train' folder")


def test_two_folders_for_the_same_split(tmp_path):
    _classes(tmp_path / "train", {"a": 5, "b": 5})
    _classes(tmp_path / "val", {"a": 2, "b": 2})
    _classes(tmp_path / "validation", {"a": 2, "b": 2})
    _error(tmp_path, "'val' and 'validation'", "merge")


def test_missing_source_and_bad_arguments(tmp_path):
    _error(tmp_path / "nope", "does not exist")
    (tmp_path / "file.txt").write_text("x")
    _error(tmp_path / "file.txt", "not a folder or a .zip")
    _classes(tmp_path / "d", {"a": 5, "b": 5})
    _error(tmp_path / "d", "val_fraction", val_fraction=1.5)


# ---------------------------------------------------------------- splitting


def test_split_is_reproducible_and_depends_on_the_seed(tmp_path):
    _classes(tmp_path, {"a": 40, "b": 25, "c": 7})
    first = load_dataset(tmp_path, seed=1)
    again = load_dataset(tmp_path, seed=1)
    other = load_dataset(tmp_path, seed=2)
    assert first.paths("val") == again.paths("val")
    assert set(first.paths("val")) != set(other.paths("val"))
    assert sorted(first.paths("train") + first.paths("val")) == sorted(other.paths("train") + other.paths("val"))


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_split_respects_val_fraction_per_class(tmp_path, fraction):
    counts = {"a": 40, "b": 20, "c": 10}
    _classes(tmp_path, counts)
    ds = load_dataset(tmp_path, val_fraction=fraction)
    for name, n in counts.items():
        assert ds.report.counts["val"][name] == max(1, int(n * fraction + 0.5))
        assert ds.report.counts["train"][name] + ds.report.counts["val"][name] == n
    assert not set(ds.paths("train")) & set(ds.paths("val"))


def test_tiny_classes_keep_an_image_for_training(tmp_path):
    _classes(tmp_path, {"a": 2, "b": 3, "c": 30})
    ds = load_dataset(tmp_path, val_fraction=0.5)
    assert ds.report.counts["train"]["a"] == 1 and ds.report.counts["val"]["a"] == 1
    assert ds.report.counts["train"]["b"] >= 1


def test_val_fraction_zero_means_no_validation(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    ds = load_dataset(tmp_path, val_fraction=0)
    assert ds.split("val") == [] and len(ds.split("train")) == 20
    assert any("No validation images" in w for w in ds.report.warnings)


# ---------------------------------------------------------------- duplicates, leakage, fingerprint


def test_duplicates_and_leakage_are_found(tmp_path):
    _classes(tmp_path / "train", {"a": 10, "b": 10})
    _classes(tmp_path / "val", {"a": 2, "b": 2})
    shutil.copy(tmp_path / "train/a/000.png", tmp_path / "train/a/000 copy.png")
    shutil.copy(tmp_path / "train/b/005.png", tmp_path / "val/b/leaked.png")
    ds = load_dataset(tmp_path)
    assert ds.report.duplicates == [["train/a/000 copy.png", "train/a/000.png"], ["train/b/005.png", "val/b/leaked.png"]]
    assert ds.report.leakage == [{"paths": ["train/b/005.png", "val/b/leaked.png"], "splits": ["train", "val"]}]
    warnings = " ".join(ds.report.warnings)
    assert "more than one split" in warnings and "identical files" in warnings
    text = ds.report.to_text()
    assert "val/b/leaked.png (val)" in text


def test_same_image_in_two_classes_is_flagged(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    shutil.copy(tmp_path / "a/001.png", tmp_path / "b/001_again.png")
    ds = load_dataset(tmp_path)
    assert any("same image is in the classes 'a', 'b'" in w for w in ds.report.warnings)


def test_fingerprint_follows_content_not_location(tmp_path):
    _classes(tmp_path / "one", {"a": 10, "b": 10})
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    first = load_dataset(tmp_path / "one").fingerprint()
    assert load_dataset(tmp_path / "two").fingerprint() == first
    _image(tmp_path / "two/a/003.png")  # same name, new pixels
    assert load_dataset(tmp_path / "two").fingerprint() != first


def test_progress_is_reported(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a" / "x.txt").write_text("x")
    calls = []
    load_dataset(tmp_path, progress=lambda done, total, message: calls.append((done, total, message)))
    assert calls[0][:2] == (0, 21) and calls[-1][:2] == (21, 21)
    assert all(isinstance(m, str) and m for _, _, m in calls)


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


# ---------------------------------------------------------------- streaming


def _colour_dataset(tmp_path: Path, per_class: int = 7) -> Dataset:
    colours = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}
    for name, colour in colours.items():
        for i in range(per_class):
            _image(tmp_path / name / f"{i}.png", colour=colour, size=12 + i)  # sizes differ: unique files
    return load_dataset(tmp_path, val_fraction=0.2)


def test_image_batches_shapes_and_dtypes(tmp_path):
    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path)
    train = ds.split("train")
    batches = ImageBatches(train, image_size=20, batch_size=4, num_classes=3)
    assert len(batches) == -(-len(train) // 4)
    x, y = batches[0]
    assert x.shape == (4, 20, 20, 3) and x.dtype == np.uint8
    assert y.shape == (4,) and y.dtype == np.int32
    last_x, last_y = batches[len(batches) - 1]
    assert last_x.shape[0] == last_y.shape[0] == len(train) - 4 * (len(batches) - 1)
    # Labels travel with their images: the dominant channel of a red image is 0, etc.
    for xb, yb in batches:
        channel = xb.reshape(len(xb), -1, 3).mean(axis=1).argmax(axis=1)
        assert list(channel) == [{"blue": 2, "green": 1, "red": 0}[ds.classes[label]] for label in yb]


def test_image_batches_shuffle_each_epoch(tmp_path):
    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path, per_class=10)
    train = ds.split("train")
    plain = ImageBatches(train, image_size=8, batch_size=64)
    assert list(plain[0][1]) == [s.label for s in train]  # no shuffle: the given order
    shuffled = ImageBatches(train, image_size=8, batch_size=64, shuffle=True, seed=3)
    epoch1 = list(shuffled[0][1])
    order1 = shuffled.order.copy()
    shuffled.on_epoch_end()
    assert not np.array_equal(order1, shuffled.order)
    assert sorted(shuffled.order) == list(range(len(train)))
    assert sorted(epoch1) == sorted(s.label for s in train) and epoch1 != [s.label for s in train]
    again = ImageBatches(train, image_size=8, batch_size=64, shuffle=True, seed=3)
    assert np.array_equal(again.order, order1)  # same seed, same order


def test_image_batches_survive_an_image_that_broke(tmp_path, caplog):
    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path)
    train = ds.split("train")
    Path(train[0].path).write_bytes(b"gone bad")
    with caplog.at_level(logging.WARNING, logger="tlcore.data"):
        x, _ = ImageBatches(train, image_size=8, batch_size=2)[0]
    assert x[0].max() == 0 and x[1].max() > 0
    assert "black image" in caplog.text and train[0].path in caplog.text


@pytest.mark.timeout(120, method="thread")  # a pool copied into forked workers used to hang here forever
@pytest.mark.parametrize("use_multiprocessing", [False, True])
def test_image_batches_work_with_keras_fit(tmp_path, use_multiprocessing):
    import keras

    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path)
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    batches = ImageBatches(ds.split("train"), 8, batch_size=4, shuffle=True, workers=2, use_multiprocessing=use_multiprocessing)
    batches[0]  # start the decoding threads in this process before Keras forks
    history = model.fit(batches, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_image_batches_reject_bad_arguments(tmp_path):
    from tlcore.data import ImageBatches

    ds = _colour_dataset(tmp_path)
    with pytest.raises(ValueError, match="samples"):
        ImageBatches([], image_size=8)
    with pytest.raises(ValueError, match="labels"):
        ImageBatches(ds.split("train"), image_size=8, num_classes=2)


def test_decode_all_keeps_the_order(tmp_path):
    ds = _colour_dataset(tmp_path)
    calls = []
    images = decode_all(ds.split("val"), 10, progress=lambda *a: calls.append(a))
    assert images.shape == (len(ds.split("val")), 10, 10, 3) and images.dtype == np.uint8
    channel = images.reshape(len(images), -1, 3).mean(axis=1).argmax(axis=1)
    assert list(channel) == [{"blue": 2, "green": 1, "red": 0}[ds.classes[s.label]] for s in ds.split("val")]
    assert calls[-1][:2] == (len(images), len(images))
