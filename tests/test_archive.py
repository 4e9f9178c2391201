"""Safe zip extraction: hostile and broken zips are refused before anything is written."""

from __future__ import annotations

import io
import os
import stat
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_helpers import ROOT, _dataset_zip, _noise_png, default_limits  # noqa: F401  (an autouse fixture)
from tlcore.archive import ExtractResult, ZipLimits, extract_zip
from tlcore.data import load_dataset
from tlcore.errors import TLCoreError
from tlcore.workspace import Workspace


def _png(colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _zip(path: Path, entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name) if name.endswith("/") else name, data)
    return path


def _files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _refused(zip_path: Path, dest: Path, *words: str, limits: ZipLimits = ZipLimits()) -> str:
    """Extract, expect a refusal naming ``words``, and check nothing was written anywhere."""
    before = _files_under(zip_path.parent)
    with pytest.raises(TLCoreError) as info:
        extract_zip(zip_path, dest, limits)
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), message
    assert "Fix:" in message
    for python_words in _PYTHON_WORDS:  # plain words only, never the exception's own text
        assert python_words.lower() not in message.lower(), message
    assert str(zip_path.parent) not in message  # nor a folder on the server
    assert _files_under(zip_path.parent) == before  # nothing written, not even in dest
    return message


# What zipfile, zlib and the OS say when a zip is broken (seen in messages before issue 10, item 14).
_PYTHON_WORDS = ("File is not a zip file", "Bad CRC", "CRC-32", "Error -3", "Errno", "zlib", "BadZipFile",
                 "Truncated file header", "invalid stored block", "Bad magic number", "Overlapped entries")


def test_extracts_a_plain_zip(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.png": _png(), "dogs/b.png": _png(), "dogs/sub/c.png": _png()})
    result = extract_zip(zip_path, tmp_path / "out")
    assert isinstance(result, ExtractResult)
    assert result.root == (tmp_path / "out").resolve()
    assert _files_under(result.root) == {"cats/a.png", "dogs/b.png", "dogs/sub/c.png"}
    assert (result.root / "cats/a.png").read_bytes() == _png()
    assert result.ignored == [] and result.files == 3


def test_root_is_the_single_top_folder(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"my photos/": b"", "my photos/cats/a.png": _png(), "my photos/dogs/b.png": _png()})
    result = extract_zip(zip_path, tmp_path / "out")
    assert result.root == (tmp_path / "out" / "my photos").resolve()


def test_empty_folders_are_kept(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.png": _png(), "dogs/": b""})
    result = extract_zip(zip_path, tmp_path / "out")
    assert (result.root / "dogs").is_dir()  # so the dataset check can name the empty class


def test_os_clutter_is_ignored_and_reported(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {
        "cats/a.png": _png(),
        "__MACOSX/cats/._a.png": b"mac",
        "__MACOSX/._cats": b"mac",
        "cats/.DS_Store": b"ds",
        ".git/config": b"x",
        "cats/Thumbs.db": b"t",
        "dogs/desktop.ini": b"d",
        "dogs/b.png": _png(),
    })
    result = extract_zip(zip_path, tmp_path / "out")
    assert _files_under(result.root) == {"cats/a.png", "dogs/b.png"}
    reported = {s.path: s.reason for s in result.ignored}
    assert set(reported) == {"__MACOSX/", "cats/.DS_Store", ".git/", "cats/Thumbs.db", "dogs/desktop.ini"}
    assert "macOS" in reported["__MACOSX/"] and "hidden" in reported["cats/.DS_Store"]
    assert all("ignored" in reason for reason in reported.values())
    assert all(s.ignored and s.fix.startswith("nothing to do") for s in result.ignored)


@pytest.mark.parametrize(
    "name, why",
    [
        ("../evil.png", ".."),
        ("cats/../../evil.png", ".."),
        ("/tmp/abs.png", "absolute"),
        ("C:/Windows/x.png", "drive letter"),
        ("C:\\x.png", "backslash"),
        ("cats\\a.png", "backslash"),
    ],
)
def test_unsafe_paths_are_refused_naming_the_entry(tmp_path, name, why):
    zip_path = _zip(tmp_path / "data.zip", {"cats/ok.png": _png(), name: _png()})
    message = _refused(zip_path, tmp_path / "out", "unsafe", why)
    assert repr(name) in message
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "out").exists()


def test_symlink_entries_are_skipped_and_reported(tmp_path):
    zip_path = tmp_path / "data.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("cats/a.png", _png())
        link = zipfile.ZipInfo("cats/passwd.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "../../../../etc/passwd")
    result = extract_zip(zip_path, tmp_path / "out")
    assert _files_under(tmp_path / "out") == {"cats/a.png"}
    assert not (tmp_path / "out/cats/passwd.png").is_symlink()
    assert [(s.path, "symbolic link" in s.reason) for s in result.ignored] == [("cats/passwd.png", True)]
    assert not result.ignored[0].ignored and result.ignored[0].fix == "replace the file or remove it"


def _set_encrypted_flag(zip_path: Path) -> None:
    """Set the 'encrypted' bit (bit 0 of the flags) in local and central headers."""
    data = bytearray(zip_path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            data[at + flag_offset] |= 0x01
            start = at + 4
    zip_path.write_bytes(bytes(data))


def test_encrypted_entries_are_refused(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.png": _png(), "dogs/b.png": _png()}, zipfile.ZIP_STORED)
    _set_encrypted_flag(zip_path)
    assert zipfile.ZipFile(zip_path).infolist()[0].flag_bits & 1
    _refused(zip_path, tmp_path / "out", "password-protected", "cats/a.png", "without a password")


def test_truncated_zip_is_refused(tmp_path):
    whole = _zip(tmp_path / "whole.zip", {f"cats/{i}.png": _png() for i in range(5)})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    _refused(cut, tmp_path / "out", "damaged or incomplete", "upload it again")


def test_corrupt_entry_data_is_refused_and_cleaned_up(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.png": _png(), "dogs/b.png": b"x" * 5000}, zipfile.ZIP_STORED)
    data = bytearray(zip_path.read_bytes())
    at = data.find(b"x" * 100)
    data[at : at + 100] = b"y" * 100  # same length, wrong CRC
    zip_path.write_bytes(bytes(data))
    _refused(zip_path, tmp_path / "out", "damaged or incomplete")


def test_text_file_named_zip_is_refused_in_plain_words(tmp_path):
    zip_path = tmp_path / "data.zip"
    zip_path.write_text("I am not a zip\n")
    message = _refused(zip_path, tmp_path / "out", "'data.zip' is not a zip archive", "Compress")
    assert not message.rstrip(".").endswith(")"), message  # no "(File is not a zip file)" tail


def test_an_empty_upload_is_refused_in_plain_words(tmp_path):
    zip_path = tmp_path / "data.zip"
    zip_path.write_bytes(b"")
    _refused(zip_path, tmp_path / "out", "is empty", "upload it again")


def test_missing_zip(tmp_path):
    with pytest.raises(TLCoreError, match="does not exist"):
        extract_zip(tmp_path / "nope.zip", tmp_path / "out")


def test_nested_zips_are_skipped_and_reported(tmp_path):
    inner = _zip(tmp_path / "inner.zip", {"x.png": _png()}).read_bytes()
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.png": _png(), "cats/more.ZIP": inner})
    result = extract_zip(zip_path, tmp_path / "out")
    assert _files_under(tmp_path / "out") == {"cats/a.png"}
    assert len(result.ignored) == 1 and result.ignored[0].path == "cats/more.ZIP"
    assert "nested zip" in result.ignored[0].reason and "unzip it first" in result.ignored[0].reason


def test_too_many_files_is_refused(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {f"cats/{i}.png": _png() for i in range(6)})
    _refused(zip_path, tmp_path / "out", "limit of 5 files", limits=ZipLimits(max_files=5))


def test_compression_ratio_bomb_is_refused(tmp_path):
    zip_path = _zip(tmp_path / "bomb.zip", {"cats/a.png": _png(), "cats/zeros.bmp": bytes(4 * 1024 * 1024)})
    _refused(zip_path, tmp_path / "out", "zip bomb", "compression ratio limit")


def test_total_size_limit(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.bin": b"a" * 600, "cats/b.bin": b"b" * 600})
    _refused(zip_path, tmp_path / "out", "in total", limits=ZipLimits(max_total_bytes=1000))


def test_file_size_limit(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.bin": b"a" * 2000})
    _refused(zip_path, tmp_path / "out", "cats/a.bin", "per file", limits=ZipLimits(max_file_bytes=1000))


def test_lying_declared_size_does_not_get_through(tmp_path):
    # Declare 10 bytes for an entry that holds 5000: the real bytes must not be trusted
    # to stop at the declared size silently, nor be written in full.
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.png": _png(), "dogs/b.bin": b"z" * 5000})
    data = bytearray(zip_path.read_bytes())
    central = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)  # second entry's header
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")  # uncompressed size
    zip_path.write_bytes(bytes(data))
    _refused(zip_path, tmp_path / "out", "damaged or incomplete")


def test_depth_limit(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"a/b/c/d/e/f.png": _png()})
    _refused(zip_path, tmp_path / "out", "levels deep", "limit of 3", limits=ZipLimits(max_depth=3))


def test_destination_must_be_empty(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"cats/a.png": _png()})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("keep me")
    with pytest.raises(TLCoreError, match="not empty"):
        extract_zip(zip_path, tmp_path / "out")
    assert (tmp_path / "out" / "old.txt").read_text() == "keep me"


def test_unicode_and_space_names_survive(tmp_path):
    zip_path = _zip(tmp_path / "data.zip", {"chats noirs/é.png": _png(), "犬/b.png": _png()})
    result = extract_zip(zip_path, tmp_path / "out")
    assert _files_under(result.root) == {"chats noirs/é.png", "犬/b.png"}


# ---------------------------------------------------------------- limits as settings, the hostile corpus (issue 4)


def test_the_ratio_setting_decides_what_is_a_zip_bomb(tmp_path, monkeypatch):
    # 2 MiB of 2-bit noise packs about 3.5:1 - ordinary under the default limit of 200:1.
    data = np.random.default_rng(0).integers(0, 4, 2 * 1024 * 1024, dtype=np.uint8).tobytes()
    zip_path = tmp_path / "noise.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cats/noise.bin", data)
    extract_zip(zip_path, tmp_path / "default")
    monkeypatch.setenv("TLCORE_MAX_ZIP_RATIO", "2")
    with pytest.raises(TLCoreError, match="compression ratio limit of 2"):
        extract_zip(zip_path, tmp_path / "strict")
    assert not (tmp_path / "strict").exists()


def _tree(folder: Path, skip: Path | None = None) -> set[str]:
    out = set()
    for current, dirs, files in os.walk(folder):
        if skip is not None and Path(current).resolve().is_relative_to(skip.resolve()):
            dirs[:] = []
            continue
        out.update(os.path.join(current, name) for name in dirs + files)
    return out


def _hostile_zips(folder: Path, tag: str) -> tuple[dict[str, Path], list[str]]:
    """Every kind of bad zip from the issue; each tries to drop a file named escaped_<tag>_* somewhere."""
    folder.mkdir()
    png = _png()
    escape = lambda what: f"escaped_{tag}_{what}.png"  # noqa: E731
    markers = [escape(w) for w in ("dotdot", "deep", "abs", "drive", "backslash", "symlink", "nested", "bomb")]
    zips: dict[str, Path] = {}

    def plain(name: str, entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w", method) as zf:
            for entry, data in entries.items():
                zf.writestr(entry, data)
        zips[name] = path
        return path

    plain("dotdot", {"cats/a.png": png, f"../{escape('dotdot')}": png})
    plain("deep_dotdot", {"cats/a.png": png, f"cats/../../../../{escape('deep')}": png})
    plain("absolute", {"cats/a.png": png, f"/tmp/{escape('abs')}": png})
    plain("drive_letter", {"cats/a.png": png, f"C:/{escape('drive')}": png})
    plain("backslash", {"cats/a.png": png, f"..\\{escape('backslash')}": png})
    with zipfile.ZipFile(folder / "symlink.zip", "w") as zf:  # a link out, then a file written "through" it
        for cls in ("cats", "dogs"):
            for i in range(3):
                zf.writestr(f"{cls}/{i}.png", _noise_png(i + (5 if cls == "dogs" else 0)))
        link = zipfile.ZipInfo("cats/out")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, str(folder.parent))
        zf.writestr(f"cats/out/{escape('symlink')}", png)
    zips["symlink"] = folder / "symlink.zip"
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(f"../../{escape('nested')}", png)
    plain("nested_zip", {"cats/a.png": png, "dogs/b.png": png, "cats/inner.zip": inner.getvalue()})
    plain("ratio_bomb", {"cats/a.png": png, f"cats/{escape('bomb')}": bytes(8 * 1024 * 1024)})
    plain("too_many_files", {f"cats/{i}.png": png for i in range(60)})  # the test sets the limit to 50
    plain("too_deep", {"/".join(["d"] * 40) + "/a.png": png})
    enc = plain("encrypted", {"cats/a.png": png, "dogs/b.png": png}, zipfile.ZIP_STORED)
    _set_encrypted_flag(enc)
    whole = plain("truncated", {f"cats/{i}.png": _noise_png(i) for i in range(6)})
    whole.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    (folder / "not_a_zip.zip").write_text("I am a text file\n")
    zips["not_a_zip"] = folder / "not_a_zip.zip"
    lying = plain("lying_size", {"cats/a.png": png, "dogs/b.bin": b"z" * 5000})
    data = bytearray(lying.read_bytes())
    central = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)
    data[central + 24: central + 28] = (10).to_bytes(4, "little")
    lying.write_bytes(bytes(data))
    plain("duplicate_entries", {"cats/a.png": png, "dogs/b.png": png})
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(zips["duplicate_entries"], "a") as zf:
        zf.writestr("cats/a.png", _png((0, 0, 255)))  # two different files under one name
    _dataset_zip(folder / "good.zip")
    zips["good"] = folder / "good.zip"
    return zips, markers


def test_the_hostile_zip_corpus_never_writes_outside_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCORE_MAX_ZIP_FILES", "50")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # relative writes would land here
    tag = uuid.uuid4().hex[:10]
    zips, markers = _hostile_zips(tmp_path / "zips", tag)
    ws = Workspace(tmp_path / "ws")
    ws.datasets_dir  # created on first use; the workspace itself is allowed to appear
    outside_before = _tree(tmp_path.parent, skip=ws.root)
    repo_before = set(os.listdir(ROOT))
    outcomes = {}
    for name, path in zips.items():
        try:
            ds = load_dataset(path, workspace=ws)
            outcomes[name] = f"loaded {len(ds.samples)} images"
        except TLCoreError as err:
            assert "Fix:" in str(err), (name, str(err))
            outcomes[name] = f"refused: {err.problem}"
    print("\n".join(f"{k}: {v}" for k, v in outcomes.items()))
    refused = {name for name, outcome in outcomes.items() if outcome.startswith("refused")}
    assert refused >= {"dotdot", "deep_dotdot", "absolute", "drive_letter", "backslash", "ratio_bomb", "too_many_files",
                       "too_deep", "encrypted", "truncated", "not_a_zip", "lying_size", "duplicate_entries"}
    assert outcomes["good"] == "loaded 20 images" and outcomes["symlink"].startswith("loaded")
    # Nothing appeared outside the workspace: not beside it, not in the current folder, not in /tmp, not in the repo.
    outside_after = _tree(tmp_path.parent, skip=ws.root)
    assert outside_after == outside_before
    assert set(os.listdir(ROOT)) == repo_before
    names_outside = {Path(p).name for p in outside_after}
    for marker in markers:
        assert marker not in names_outside
        assert not (Path("/tmp") / marker).exists() and not (Path.home() / marker).exists()
    # Inside the workspace: only whole extractions (each folder has its completion marker), and no links.
    for entry in ws.datasets_dir.iterdir():
        if entry.is_dir():
            assert entry.with_suffix(".json").is_file(), f"half-extracted {entry.name}"
    assert not [p for p in ws.root.rglob("*") if p.is_symlink()]
