"""tlcore.data.files: every file is decode-checked and hashed, with progress; hashes key the fingerprint."""

from __future__ import annotations

import shutil

from PIL import Image

from data_helpers import _classes, _image, _noise_png, default_limits  # noqa: F401  (an autouse fixture)
from tlcore.data import load_dataset


def test_progress_is_reported(tmp_path):
    _classes(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a" / "x.txt").write_text("x")
    calls = []
    load_dataset(tmp_path, progress=lambda done, total, message: calls.append((done, total, message)))
    assert calls[0][:2] == (0, 21) and calls[-1][:2] == (21, 21)
    assert all(isinstance(m, str) and m for _, _, m in calls)


def test_large_images_in_a_dataset_are_listed_with_the_reason(tmp_path, monkeypatch):
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(6):
            (tmp_path / cls / f"{i}.png").write_bytes(_noise_png(i + (10 if cls == "dogs" else 0)))
    Image.new("RGB", (200, 150)).save(tmp_path / "cats" / "poster.png")
    monkeypatch.setenv("TLCORE_MAX_IMAGE_PIXELS", "10000")
    ds = load_dataset(tmp_path)
    reasons = {s.path: s.reason for s in ds.report.skipped}
    assert "too large" in reasons["cats/poster.png"] and "30,000 pixels" in reasons["cats/poster.png"]
    assert len(ds.samples) == 12


def test_fingerprint_follows_content_not_location(tmp_path):
    _classes(tmp_path / "one", {"a": 10, "b": 10})
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    first = load_dataset(tmp_path / "one").fingerprint()
    assert load_dataset(tmp_path / "two").fingerprint() == first
    _image(tmp_path / "two/a/003.png")  # same name, new pixels
    assert load_dataset(tmp_path / "two").fingerprint() != first
