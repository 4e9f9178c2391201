"""ONNX Runtime Web, the runtime the web page bundle runs its model with: one pinned npm release.

The files come from the ``onnxruntime-web`` package on the npm registry. One version is
pinned together with the tarball's ``sha512`` integrity (the registry's own ``dist.integrity``),
so what lands in a bundle is exactly that release. ``python -m tlcore.export.web_runtime``
downloads it once (``make install`` and ``make test-deps`` do) and keeps only the two files a
page needs in a folder inside the package that git ignores; an export on a machine without
it tries to download it and otherwise says how to get it.

The two files are the ES-module build with its WebAssembly glue bundled in
(``ort.wasm.bundle.min.mjs``: nothing else is loaded at run time, which matters for a page
opened from disk, where a browser refuses to load module files) and the WebAssembly binary.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import TLCoreError

VERSION = "1.30.0"
INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
REGISTRY = os.environ.get("TLCORE_NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
TARBALL = f"onnxruntime-web/-/onnxruntime-web-{VERSION}.tgz"
JS_FILE = "ort.wasm.bundle.min.mjs"  # the wasm backend, glue included: no module is imported at run time
WASM_FILE = "ort-wasm-simd-threaded.wasm"  # the one binary (SIMD; runs single-threaded without isolation)
FILES = (JS_FILE, WASM_FILE)
MANIFEST = "manifest.json"  # written last: a folder without it is an unfinished download
FETCH_COMMAND = "python -m tlcore.export.web_runtime"
VENDOR_ROOT = Path(__file__).resolve().parent / "web" / "vendor"
_TIMEOUT_S = 120


@dataclass(frozen=True)
class WebRuntime:
    """The runtime's files on this machine.

    Attributes:
        version: The onnxruntime-web release.
        folder: Where its files are.
    """

    version: str
    folder: Path

    @property
    def js(self) -> Path:
        return self.folder / JS_FILE

    @property
    def wasm(self) -> Path:
        return self.folder / WASM_FILE


def runtime_folder(root: Path | None = None) -> Path:
    return Path(root or VENDOR_ROOT) / VERSION


def _integrity_ok(data: bytes) -> bool:
    algorithm, _, expected = INTEGRITY.partition("-")
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode("ascii") == expected


def _complete(folder: Path) -> bool:
    """The folder holds every file, as big as the manifest says."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return manifest.get("version") == VERSION and all(
            (folder / name).stat().st_size == manifest["files"][name] for name in FILES)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def find_runtime(root: Path | None = None) -> WebRuntime | None:
    """The downloaded runtime, or None when it is not (completely) there."""
    folder = runtime_folder(root)
    return WebRuntime(VERSION, folder) if _complete(folder) else None


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "transfer-studio (tlcore web runtime)"})
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # honours http(s)_proxy
        return response.read()


def unpack_runtime(tarball: bytes, root: Path | None = None) -> WebRuntime:
    """Check the tarball against the pinned integrity and keep only the files a page needs.

    Raises:
        TLCoreError: The tarball is not the pinned release, or lacks one of the files.
    """
    if not _integrity_ok(tarball):
        raise TLCoreError(
            f"The downloaded onnxruntime-web {VERSION} does not match its pinned sha512 checksum.",
            f"run `{FETCH_COMMAND}` again; if it keeps failing, the registry or a proxy changes the file.",
        )
    folder = runtime_folder(root)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{VERSION}-"))
    try:
        os.chmod(work, 0o755)  # mkdtemp's folder is private; the runtime is not
        sizes = {}
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for name in FILES:
                try:
                    member = archive.getmember(f"package/dist/{name}")
                except KeyError:
                    raise TLCoreError(f"onnxruntime-web {VERSION} has no dist/{name}.",
                                      "pin a release that has it in tlcore/export/web_runtime.py.") from None
                data = archive.extractfile(member).read()  # by name only: no path from the archive is used
                (work / name).write_bytes(data)
                sizes[name] = len(data)
        (work / MANIFEST).write_text(json.dumps({"package": "onnxruntime-web", "version": VERSION,
                                                 "integrity": INTEGRITY, "license": "MIT", "files": sizes},
                                                indent=2), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return WebRuntime(VERSION, folder)


def fetch_runtime(root: Path | None = None, *, force: bool = False) -> WebRuntime:
    """Download the pinned onnxruntime-web from the npm registry (nothing when already there).

    Raises:
        TLCoreError: The registry cannot be reached, or the file is not the pinned one.
    """
    found = None if force else find_runtime(root)
    if found is not None:
        return found
    url = f"{REGISTRY}/{TARBALL}"
    try:
        tarball = _download(url)
    except OSError as err:  # URLError, timeouts, refused connections
        raise TLCoreError(
            f"The web page runtime (onnxruntime-web {VERSION}) is not on this machine and could not be "
            f"downloaded from {url} ({err}).",
            f"run `{FETCH_COMMAND}` on a machine that reaches the npm registry (make install does), "
            "or export without the 'web' format.",
        ) from err
    return unpack_runtime(tarball, root)


def require_runtime(root: Path | None = None) -> WebRuntime:
    """The runtime for a web bundle: the downloaded one, else downloaded now."""
    return find_runtime(root) or fetch_runtime(root)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        runtime = fetch_runtime(force="--force" in args)
    except TLCoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"onnxruntime-web {runtime.version} is in {runtime.folder}")
    return 0


__all__ = ["FETCH_COMMAND", "VERSION", "WebRuntime", "fetch_runtime", "find_runtime", "require_runtime",
           "unpack_runtime"]

if __name__ == "__main__":
    raise SystemExit(main())
