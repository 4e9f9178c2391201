"""Checking each candidate file: does it decode as an image, and what are its bytes' sha256.

Both run in one parallel pass over all files (Pillow and hashlib release the GIL, so threads
give real parallelism), with about a hundred progress calls however big the dataset. A file
that cannot be used comes back as its reason and fix; the hashes find duplicates and
leakage in the report and key the feature cache.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..images import FIX_OTHER, FIX_PERMISSION, image_problem

Progress = Callable[[int, int, str], None]
Problem = tuple[str, str]  # (reason, fix) of a file that cannot be used
_HASH_CHUNK = 1 << 20


def default_workers() -> int:
    """Threads for decoding images: decoding releases the GIL, so a few per core pay off."""
    return min(16, 2 * (os.cpu_count() or 1))


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def inspect_files(paths: list[str], progress: Progress | None) -> tuple[dict[str, str], dict[str, Problem]]:
    """Decode-check and hash every file in parallel.

    Returns:
        ``(hashes, problems)``: the sha256 of each usable file, and ``(reason, fix)`` of
        each file that cannot be used.
    """
    hashes: dict[str, str] = {}
    problems: dict[str, Problem] = {}
    total = len(paths)
    if progress:
        progress(0, total, f"Checking {total} files")
    if not total:
        return hashes, problems
    step = max(1, total // 100)
    with ThreadPoolExecutor(max_workers=default_workers()) as pool:
        futures = {pool.submit(_inspect_one, p): p for p in paths}
        for done, future in enumerate(as_completed(futures), start=1):
            path = futures[future]
            problem, digest = future.result()
            if problem is not None:
                problems[path] = problem
            if digest:
                hashes[path] = digest
            if progress and (done % step == 0 or done == total):
                progress(done, total, f"Checked {done} of {total} files")
    return hashes, problems


def _inspect_one(path: str) -> tuple[Problem | None, str | None]:
    problem = image_problem(path)
    if problem is not None:
        return (problem.reason, problem.file_fix), None
    try:
        return None, file_sha256(Path(path))
    except OSError as err:
        fix = FIX_PERMISSION if err.errno in (errno.EACCES, errno.EPERM) else FIX_OTHER
        return (f"cannot read the file ({err.strerror or err})", fix), None
