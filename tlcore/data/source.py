"""Where a dataset comes from: a folder, or a zip extracted once into the workspace; its name.

A zip is extracted (safely, by :func:`~tlcore.archive.extract_zip`) into
``<workspace>/datasets/<content digest>/`` with a ``<digest>.json`` marker written last, and
reused while its marker is there. A zip that turns out not to be a usable dataset is removed
from that cache again. :func:`dataset_name` names a dataset as the user knows it (the zip's
name, also for the folder extracted from it), never by a server path or a session code.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from ..archive import ZipLimits, extract_zip
from ..errors import TLCoreError
from ..findings import SkippedFile
from ..runfiles import write_json_atomic
from ..workspace import Workspace, default_workspace, session_code
from .files import file_sha256

# Version of the marker's content; a marker of another version is extracted again, so its
# skipped entries always carry today's fields (fix, ignored).
_MARKER_FORMAT = 2


@contextmanager
def opened_source(
    source: Path, workspace: Workspace | None, limits: ZipLimits | None
) -> Iterator[tuple[Path, list[SkippedFile]]]:
    """The folder to read ``source`` from, and the zip entries left out when extracting it.

    Used as ``with opened_source(...) as (base, ignored):``; when the body refuses the dataset
    (a :class:`TLCoreError`), a zip extracted by this call is removed from the workspace again.
    """
    if source.is_dir():
        yield source.resolve(), []
        return
    if not source.is_file():
        raise TLCoreError(f"The dataset {str(source)!r} does not exist.", "check the path, or upload the zip again.")
    if source.suffix.lower() != ".zip":
        raise TLCoreError(
            f"{str(source)!r} is a file, not a folder or a .zip.",
            "give a folder with one sub-folder per class, or a .zip of such a folder.",
        )
    base, ignored, extracted = _extract_cached(source, workspace or default_workspace(), limits)
    try:
        yield base, ignored
    except TLCoreError:
        if extracted:  # refused: an extraction that can never load must not linger in the cache
            _remove_extraction(base)
        raise


def _extract_cached(
    zip_path: Path, workspace: Workspace, limits: ZipLimits | None
) -> tuple[Path, list[SkippedFile], bool]:
    """Extract a zip once into the workspace, keyed by its content; reuse it afterwards.

    Returns the folder, the entries left out, and whether this call extracted it.
    """
    digest = file_sha256(zip_path)[:16]
    dest = workspace.datasets_dir / digest
    # The marker is written last, so a folder without it is a half-finished extraction.
    marker = _zip_marker(dest)
    if marker.is_file() and dest.is_dir():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            if info.get("format") == _MARKER_FORMAT:
                return dest.resolve(), [SkippedFile(**item) for item in info["ignored"]], False
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # unreadable marker: extract again
    if dest.exists():
        shutil.rmtree(dest)
    result = extract_zip(zip_path, dest, limits)
    write_json_atomic(marker, {
        "format": _MARKER_FORMAT, "zip": zip_path.name, "files": result.files,
        "ignored": [asdict(s) for s in result.ignored],
    })
    return dest.resolve(), result.ignored, True


def _remove_extraction(folder: Path) -> None:
    """Remove an extracted ``datasets/<digest>`` folder and its marker."""
    _zip_marker(folder).unlink(missing_ok=True)  # first: a folder without marker is never reused
    shutil.rmtree(folder, ignore_errors=True)


def _zip_marker(folder: Path) -> Path:
    """The marker :func:`_extract_cached` writes beside an extracted zip: ``<digest>.json``."""
    return folder.with_name(f"{folder.name}.json")


def dataset_key(data: str | Path) -> str:
    """A dataset's key in the workspace (its edits, its latest check): its resolved path, hashed,
    so the same folder, however it is written, has one key."""
    resolved = str(Path(data).expanduser().resolve())
    return hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:16]


def dataset_name(source: str | Path | None, given: str | None = None) -> str:
    """The dataset's name as the user knows it, safe to show in shared files.

    ``given`` (the name the user gave, e.g. ``TrainConfig.data_name``) wins. Otherwise the
    name comes from ``source``: a zip's stem ("my_flowers" for ``my_flowers.zip``), the
    uploaded zip's name for a folder extracted from one, or the folder's own name. It is
    one path component, never a server path and never a workspace's session code (the code
    is all anyone needs to open that workspace).

    Args:
        source: The dataset folder or zip (``TrainConfig.data``).
        given: The name the user gave, if any.

    Returns:
        A short name such as ``"my_flowers"``; ``"dataset"`` when nothing better is known.
    """
    for text in (given, source):
        if not text:
            continue
        path = Path(str(text).replace("\\", "/"))
        code = session_code(path)
        name = _name_of(path)
        if name and name != code and name not in ("sessions", "datasets", "uploads", "workspace"):
            return name
    return "dataset"


def _name_of(path: Path) -> str:
    """The last component of ``path`` as a dataset name (see :func:`dataset_name`)."""
    if path.suffix.lower() == ".zip":
        return path.stem
    # A folder inside <workspace>/datasets/<digest>/ was extracted from a zip: use the zip's name.
    for folder in (path, *path.parents):
        if folder.parent.name == "datasets":
            try:
                return Path(json.loads(_zip_marker(folder).read_text(encoding="utf-8"))["zip"]).stem
            except (OSError, ValueError, KeyError, TypeError):
                break
    return path.name
