"""Safe extraction of a user's zip file.

Every entry is checked *before* anything is written: unsafe paths (absolute, ``..``, drive
letters, backslashes), encrypted entries and zip bombs are refused with a
:class:`~tlcore.errors.TLCoreError` that names the entry or the limit. Symlinks and nested
zips are skipped; operating-system clutter (``__MACOSX/``, hidden files, ``Thumbs.db``,
``desktop.ini``) is ignored. Both are reported back so the dataset report can list them.
While writing, real bytes are counted (declared sizes can lie) and every target path is
checked to lie inside the destination folder.
"""

from __future__ import annotations

import errno
import lzma
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import TLCoreError
from .findings import SkippedFile
from .images import FIX_OTHER
from .limits import ZipLimits
from .workspace import is_within

_CHUNK = 1 << 20
_READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_JUNK_FILES = {"thumbs.db": "Windows thumbnail cache", "desktop.ini": "Windows folder settings"}
_DRIVE = re.compile(r"^[A-Za-z]:")
# Entries smaller than this are not held to max_ratio: a small blank BMP or text file can
# legitimately compress 1000:1 and is harmless; bombs need large outputs.
_RATIO_MIN_BYTES = 1 << 20
_REZIP = "re-create the zip with your system's 'Compress' / 'Send to > Compressed folder' and upload it again."


@dataclass
class ExtractResult:
    """Where a zip was extracted and what was left out.

    Attributes:
        root: The destination folder, or its single top folder when the zip wraps
            everything in one folder.
        ignored: Entries not extracted (clutter, symlinks, nested zips) and why.
        files: How many files were written.
    """

    root: Path
    ignored: list[SkippedFile] = field(default_factory=list)
    files: int = 0


def _admin(setting: str) -> str:
    return f" (An administrator can change this limit with the setting {setting}.)"


def _fail(zip_path: Path, problem: str, fix: str) -> TLCoreError:
    return TLCoreError(f"The zip file '{zip_path.name}' {problem}", fix)


def _unreadable(zip_path: Path) -> TLCoreError:
    """Why a zip cannot be read, in plain words (never Python's own exception text)."""
    try:
        with open(zip_path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        head = b""
    if not head:
        return _fail(zip_path, "is empty (0 bytes), so the upload did not arrive whole.", "upload it again.")
    if not head.startswith(b"PK"):
        return _fail(
            zip_path,
            "is not a zip archive, although its name ends in .zip (it is another kind of file, perhaps renamed).",
            "zip the folder that holds your class folders (right-click it, then 'Compress' on macOS or "
            "'Send to > Compressed (zipped) folder' on Windows) and upload that zip.",
        )
    return _fail(
        zip_path,
        "is damaged or incomplete, so some of the files in it cannot be unpacked (an upload or download "
        "that was cut short does this).",
        "upload it again; if that does not help, " + _REZIP,
    )


def _clutter(parts: tuple[str, ...]) -> SkippedFile | None:
    """The report line for an entry that is operating-system clutter, else None."""
    for depth, part in enumerate(parts):
        prefix = "/".join(parts[: depth + 1])
        is_last = depth == len(parts) - 1
        if part == "__MACOSX":
            return SkippedFile.clutter(prefix + "/", "macOS metadata folder (ignored)")
        if part.startswith("."):
            if is_last:
                return SkippedFile.clutter(prefix, "hidden file (ignored)")
            return SkippedFile.clutter(prefix + "/", "hidden folder (ignored)")
        if is_last and part.lower() in _JUNK_FILES:
            return SkippedFile.clutter(prefix, f"{_JUNK_FILES[part.lower()]} (ignored)")
    return None


def _check_name(zip_path: Path, name: str, limits: ZipLimits) -> tuple[str, ...]:
    """Refuse entry names that could write outside the destination; return the path parts."""
    def unsafe(why: str) -> TLCoreError:
        return _fail(zip_path, f"contains an unsafe entry {name!r} ({why}), so it was not extracted.", _REZIP)

    if "\\" in name:
        raise unsafe("a Windows backslash path")
    if "\x00" in name:
        raise unsafe("a NUL character in its name")
    if name.startswith("/"):
        raise unsafe("an absolute path")
    if _DRIVE.match(name):
        raise unsafe("a drive letter")
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if ".." in parts:
        raise unsafe("'..' points outside the folder")
    if len(parts) > limits.max_depth:
        raise _fail(
            zip_path,
            f"nests folders {len(parts)} levels deep at {name!r}, more than the limit of {limits.max_depth}.",
            "flatten the folder structure: one folder per class is enough." + _admin("TLCORE_MAX_ZIP_DEPTH"),
        )
    return parts


@dataclass
class _Plan:
    files: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = field(default_factory=list)
    dirs: list[tuple[str, ...]] = field(default_factory=list)
    ignored: list[SkippedFile] = field(default_factory=list)


def _plan(zip_path: Path, zf: zipfile.ZipFile, limits: ZipLimits) -> _Plan:
    """Validate every entry and decide what to write, before anything touches the disk."""
    plan = _Plan()
    infos = zf.infolist()
    file_count = sum(not info.is_dir() for info in infos)
    if file_count > limits.max_files:
        raise _fail(
            zip_path,
            f"holds {file_count:,} files, more than the limit of {limits.max_files:,} files.",
            "split the dataset or use fewer images per class." + _admin("TLCORE_MAX_ZIP_FILES"),
        )
    seen: set[str] = set()
    reported: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        parts = _check_name(zip_path, name, limits)
        if not parts:
            continue
        if info.flag_bits & 0x41:  # bit 0: encrypted, bit 6: strong encryption
            raise _fail(
                zip_path,
                f"is password-protected (entry {name!r} is encrypted); encrypted zips are not supported.",
                "create the zip again without a password.",
            )
        clutter = _clutter(parts)
        if clutter:
            if clutter.path not in reported:  # one line per ignored folder, not per file inside
                reported.add(clutter.path)
                plan.ignored.append(clutter)
            continue
        key = "/".join(parts)
        if info.is_dir():
            plan.dirs.append(parts)
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            plan.ignored.append(SkippedFile(key, "symbolic link (not extracted)", FIX_OTHER))
            continue
        if key.lower().endswith(".zip"):
            plan.ignored.append(SkippedFile(key, "nested zip archives are not opened; unzip it first", FIX_OTHER))
            continue
        if key in seen:
            raise _fail(zip_path, f"contains the entry {key!r} twice.", _REZIP)
        seen.add(key)
        if info.compress_type not in _READABLE_METHODS:
            raise _fail(
                zip_path,
                f"uses a compression method ({info.compress_type}) that cannot be read, at entry {name!r}.",
                "re-create the zip with standard (Deflate) compression.",
            )
        _check_sizes(zip_path, info, limits)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise _fail(
                zip_path,
                f"would unpack to more than the limit of {_size(limits.max_total_bytes)} in total.",
                "upload a smaller dataset (resize the images or use fewer of them)." + _admin("TLCORE_MAX_ZIP_BYTES"),
            )
        plan.files.append((info, parts))
    return plan


def _check_sizes(zip_path: Path, info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    if info.file_size > limits.max_file_bytes:
        raise _fail(
            zip_path,
            f"contains {info.filename!r} of {_size(info.file_size)}, more than the limit of "
            f"{_size(limits.max_file_bytes)} per file.",
            "remove or shrink that file." + _admin("TLCORE_MAX_ZIP_FILE_BYTES"),
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= _RATIO_MIN_BYTES and ratio > limits.max_ratio:
        raise _fail(
            zip_path,
            f"looks like a zip bomb: {info.filename!r} expands {ratio:,.0f} times, more than the "
            f"compression ratio limit of {limits.max_ratio:,.0f}.",
            "upload a zip of ordinary image files." + _admin("TLCORE_MAX_ZIP_RATIO"),
        )


def _size(n: float) -> str:
    if n < 1024:
        return f"{n:,.0f} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:,.1f} {unit}"


def _write_entry(zip_path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                 limits: ZipLimits, written_so_far: int) -> int:
    """Stream one entry to ``target``, counting real bytes against the limits."""
    written = 0
    with zf.open(info) as src, open(target, "xb") as dst:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size or written > limits.max_file_bytes:
                raise _fail(
                    zip_path,
                    f"entry {info.filename!r} holds more data than it declares (a zip bomb trick).",
                    _REZIP,
                )
            if written_so_far + written > limits.max_total_bytes:
                raise _fail(
                    zip_path,
                    f"would unpack to more than the limit of {_size(limits.max_total_bytes)} in total.",
                    "upload a smaller dataset." + _admin("TLCORE_MAX_ZIP_BYTES"),
                )
            dst.write(chunk)
    return written


def extract_zip(zip_path: str | Path, dest_dir: str | Path, limits: ZipLimits | None = None) -> ExtractResult:
    """Safely extract a user's zip into ``dest_dir``.

    Args:
        zip_path: The zip file.
        dest_dir: An empty or missing folder to extract into.
        limits: Zip-bomb limits; default: the ``TLCORE_MAX_ZIP_*`` settings (see
            :mod:`tlcore.limits`).

    Returns:
        ExtractResult with the dataset root and the entries left out.

    Raises:
        TLCoreError: The file is not a readable zip, is encrypted, has unsafe entry names,
            or exceeds a limit; the message says so in plain words, without Python's own
            error text. Nothing is left in ``dest_dir`` when this is raised.
    """
    zip_path = Path(zip_path)
    dest = Path(dest_dir)
    limits = limits if limits is not None else ZipLimits.from_env()
    if not zip_path.is_file():
        raise TLCoreError(f"The zip file '{zip_path.name}' does not exist.", "check the path and upload it again.")
    if dest.exists() and any(dest.iterdir()):
        raise TLCoreError(f"The folder '{dest.name}' to extract into is not empty.", "extract into a new folder.")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            plan = _plan(zip_path, zf, limits)
            dest.mkdir(parents=True, exist_ok=True)
            dest = dest.resolve()
            try:
                files_written = _extract(zip_path, zf, plan, dest, limits)
            except BaseException:
                # Never leave half a dataset behind: it would look like a finished extraction.
                shutil.rmtree(dest, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, RuntimeError):
        raise _unreadable(zip_path) from None
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise _fail(zip_path, "contains a file and a folder with the same name.", _REZIP) from None
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TLCoreError(f"Could not extract '{zip_path.name}': the disk is full.", "free some disk space and try again.") from None
        raise _unreadable(zip_path) from None  # bz2 and some damaged streams surface as plain OSError
    return ExtractResult(root=_single_top_folder(dest), ignored=plan.ignored, files=files_written)


def _extract(zip_path: Path, zf: zipfile.ZipFile, plan: _Plan, dest: Path, limits: ZipLimits) -> int:
    for parts in plan.dirs:
        _inside(zip_path, dest, dest.joinpath(*parts)).mkdir(parents=True, exist_ok=True)
    total_bytes = 0
    for info, parts in plan.files:
        target = _inside(zip_path, dest, dest.joinpath(*parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        total_bytes += _write_entry(zip_path, zf, info, target, limits, total_bytes)
    return len(plan.files)


def _inside(zip_path: Path, dest: Path, target: Path) -> Path:
    # Names were already checked; this catches anything that still resolves elsewhere.
    if not is_within(target, dest):
        raise _fail(zip_path, "contains an entry that would be written outside its folder (through a link).", _REZIP)
    return target


def _single_top_folder(dest: Path) -> Path:
    children = list(dest.iterdir())
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return dest


__all__ = ["ExtractResult", "SkippedFile", "ZipLimits", "extract_zip"]
