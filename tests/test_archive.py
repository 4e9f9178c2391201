"""Safe zip extraction: hostile and broken zips are refused before anything is written."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tlcore.archive import ExtractResult, ZipLimits, extract_zip
from tlcore.errors import TLCoreError


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
