"""tlcore.data.source: folders and zips as dataset sources, the extraction cache, refused zips."""

from __future__ import annotations

import json
import zipfile

import pytest

from data_helpers import _classes, _dataset_zip, _error, _image, _zip_tree, default_limits  # noqa: F401  (an autouse fixture)
from tlcore.data import load_dataset, source as source_module
from tlcore.errors import TLCoreError
from tlcore.workspace import Workspace


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

    monkeypatch.setattr(source_module, "extract_zip", no_second_extraction)
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


def test_bad_zips_raise_with_the_fix(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    message = _error(bad, "is not a zip archive", workspace=Workspace(tmp_path / "ws"))
    assert "File is not a zip file" not in message
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../evil.png", b"x")
    _error(evil, "unsafe", "../evil.png", workspace=Workspace(tmp_path / "ws"))


def test_missing_source_and_bad_arguments(tmp_path):
    _error(tmp_path / "nope", "does not exist")
    (tmp_path / "file.txt").write_text("x")
    _error(tmp_path / "file.txt", "not a folder or a .zip")
    _classes(tmp_path / "d", {"a": 5, "b": 5})
    _error(tmp_path / "d", "val_fraction", val_fraction=1.5)


def test_load_dataset_follows_the_zip_settings(tmp_path, monkeypatch):
    """The same call the app, the jobs and the CLI make: no limits argument, the settings apply."""
    zip_path = _dataset_zip(tmp_path / "upload.zip")  # 20 files
    ws = Workspace(tmp_path / "ws")
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "5")
    with pytest.raises(TLCoreError) as info:
        load_dataset(zip_path, workspace=ws)
    assert "limit of 5 files" in str(info.value) and "TLCORE_MAX_ZIP_FILES" in str(info.value)
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "20")
    monkeypatch.setenv("TLCORE_MAX_ZIP_BYTES", "1K")
    with pytest.raises(TLCoreError, match="1.0 KiB in total"):
        load_dataset(zip_path, workspace=ws)
    monkeypatch.delenv("TLCORE_MAX_ZIP_BYTES")
    assert len(load_dataset(zip_path, workspace=ws).samples) == 20
    assert not [p for p in ws.datasets_dir.iterdir() if p.is_dir() and not p.with_suffix(".json").is_file()], \
        "refused zips leave no half-extracted folder"


@pytest.mark.parametrize("content, refusal", [("one class", "at least two classes"), ("no images", "no usable images"),
                                               ("too many files", "limit of 5 files")])
def test_a_zip_refused_as_a_dataset_leaves_nothing_in_the_workspace(tmp_path, monkeypatch, content, refusal):
    zip_path = tmp_path / "upload.zip"
    if content == "too many files":
        _dataset_zip(zip_path)
        monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "5")
    else:
        with zipfile.ZipFile(zip_path, "w") as zf:
            if content == "one class":
                zf.write(_image(tmp_path / "cat.png"), "cats/cat.png")
            else:
                zf.writestr("cats/readme.txt", "hello")
    ws = Workspace(tmp_path / "ws")
    _error(zip_path, refusal, workspace=ws)
    assert list(ws.datasets_dir.iterdir()) == [], "a refused zip is removed from the extraction cache"


def test_a_refused_zip_can_be_fixed_and_uploaded_again(tmp_path):
    tree = _classes(tmp_path / "tree", {"cats": 3})
    ws = Workspace(tmp_path / "ws")
    _error(_zip_tree(tree, tmp_path / "upload.zip"), "at least two classes", workspace=ws)
    _classes(tree, {"dogs": 3})
    ds = load_dataset(_zip_tree(tree, tmp_path / "upload.zip"), workspace=ws)
    assert ds.classes == ["cats", "dogs"]
    assert len([p for p in ws.datasets_dir.iterdir() if p.is_dir()]) == 1


def test_an_extraction_cached_with_an_older_marker_is_made_again(tmp_path):
    zip_path = _zip_tree(_classes(tmp_path / "tree", {"x": 3, "y": 3}), tmp_path / "upload.zip")
    with zipfile.ZipFile(zip_path, "a") as zf:
        zf.writestr("x/.DS_Store", b"ds")
    ws = Workspace(tmp_path / "ws")
    first = load_dataset(zip_path, workspace=ws)
    (marker,) = ws.datasets_dir.glob("*.json")
    old = json.loads(marker.read_text())
    old.pop("format")  # the marker as written before skipped files carried fix and ignored
    old["ignored"] = [{"path": s["path"], "reason": s["reason"]} for s in old["ignored"]]
    marker.write_text(json.dumps(old))
    again = load_dataset(zip_path, workspace=ws)
    assert again.report.skipped == first.report.skipped and again.report.skipped[0].ignored
    assert again.report.warnings == first.report.warnings
    assert not any("skipped" in str(w) for w in again.report.warnings), "clutter needs no action"
    assert "format" in json.loads(marker.read_text()), "extracted again, with today's marker"
