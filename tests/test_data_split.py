"""tlcore.data.split: class sets a classifier cannot learn from are refused; validation splits."""

from __future__ import annotations

import pytest

from data_helpers import _classes, _error, _image
from tlcore.data import load_dataset


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


def test_mismatched_class_sets_between_train_and_val(tmp_path):
    _classes(tmp_path / "train", {"cats": 10, "dogs": 10})
    _classes(tmp_path / "val", {"cats": 2, "Dogs": 2, "horses": 2})
    message = _error(tmp_path, "do not match", "'Dogs'", "'horses'")
    assert "looks like 'dogs'" in message


# ---------------------------------------------------------------- splitting


def test_train_only_gets_a_stratified_validation_split(tmp_path):
    _classes(tmp_path / "train", {"a": 20, "b": 10})
    ds = load_dataset(tmp_path, val_fraction=0.3)
    assert ds.report.counts == {"train": {"a": 14, "b": 7}, "val": {"a": 6, "b": 3}}
    assert "30%" in ds.report.validation


def test_train_class_missing_from_val_only_warns(tmp_path):
    _classes(tmp_path / "train", {"cats": 10, "dogs": 10})
    _classes(tmp_path / "val", {"cats": 2})
    ds = load_dataset(tmp_path)
    assert any("'dogs' has no validation images" in str(w) and "val/dogs" in str(w) for w in ds.report.warnings)


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
    assert any("No validation images" in str(w) for w in ds.report.warnings)
