"""Where everything a user does is kept on disk.

A workspace holds uploaded/extracted datasets, runs and the feature cache. The app gives
each browser session its own workspace folder under ``<root>/sessions/<id>``; the command
line uses the workspace named by ``TLCORE_WORKSPACE`` (default ``./workspace``).
Nothing the product writes goes outside a workspace (Keras's own weights cache aside).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import TLCoreError

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def default_workspace_root() -> Path:
    return Path(os.environ.get("TLCORE_WORKSPACE", "workspace")).expanduser().resolve()


@dataclass(frozen=True)
class Workspace:
    """One user's folders: ``datasets/``, ``runs/``, ``cache/``."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    @property
    def datasets_dir(self) -> Path:
        return self._dir("datasets")

    @property
    def runs_dir(self) -> Path:
        return self._dir("runs")

    @property
    def cache_dir(self) -> Path:
        return self._dir("cache")

    @property
    def uploads_dir(self) -> Path:
        return self._dir("uploads")

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @classmethod
    def for_session(cls, session_id: str, root: str | Path | None = None) -> "Workspace":
        """The private workspace of one browser session."""
        if not _SESSION_ID.match(session_id or ""):
            raise TLCoreError(
                f"Workspace name {session_id!r} is not allowed.",
                "use 1-64 letters, digits, '-' or '_'.",
            )
        base = Path(root).resolve() if root else default_workspace_root()
        return cls(base / "sessions" / session_id)


def default_workspace() -> Workspace:
    return Workspace(default_workspace_root())


def session_code(path: str | Path) -> str | None:
    """The session code in a path inside a session workspace (``…/sessions/<code>/…``), else None.

    The code opens that user's workspace, so nothing meant to be shared may contain it.
    """
    parts = Path(path).parts
    for i, part in enumerate(parts[:-1]):
        if part == "sessions" and _SESSION_ID.match(parts[i + 1]):
            return parts[i + 1]
    return None


def is_within(path: str | Path, root: str | Path) -> bool:
    """True when ``path`` (symlinks resolved) lies inside ``root``."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


def safe_join(root: str | Path, *parts: str) -> Path:
    """Join user-given parts under ``root``, refusing anything that escapes it."""
    root = Path(root).resolve()
    candidate = root.joinpath(*parts).resolve()
    if not is_within(candidate, root):
        raise TLCoreError(
            f"The path {'/'.join(parts)!r} points outside {root}.",
            "choose a folder inside the allowed data folders.",
        )
    return candidate


def resolve_in_roots(user_path: str, roots: list[str | Path]) -> Path:
    """Resolve a path typed into a page, allowing only folders inside the configured data roots.

    Relative paths are taken relative to each root in turn; absolute paths must lie in a root.
    ``..``, absolute paths elsewhere and symlinks pointing out are refused.
    """
    text = (user_path or "").strip()
    if not text:
        raise TLCoreError("No folder was given.", "type a folder name or pick one from the list.")
    resolved_roots = [Path(r).resolve() for r in roots]
    p = Path(text).expanduser()
    candidates = [p.resolve()] if p.is_absolute() else [(r / p).resolve() for r in resolved_roots]
    for cand in candidates:
        if any(is_within(cand, r) for r in resolved_roots) and cand.exists():
            return cand
    # A folder that exists but resolves outside (``..``, an absolute path, a symlink pointing out)
    # is named as outside, even when the same name is merely missing under another root.
    escapes = any(c.exists() for c in candidates)
    if not escapes and any(any(is_within(c, r) for r in resolved_roots) for c in candidates):
        raise TLCoreError(f"The folder {text!r} does not exist.", "check the spelling or pick one from the list.")
    raise TLCoreError(
        f"The folder {text!r} is outside the allowed data folders.",
        "choose a folder inside: " + ", ".join(str(r) for r in resolved_roots)
        + " (an administrator can add more with TLCORE_DATA_ROOTS).",
    )


def data_roots(workspace: Workspace | None = None) -> list[Path]:
    """Folders a page may browse: ``TLCORE_DATA_ROOTS`` (os.pathsep-separated) or sample_data + the workspace."""
    env = os.environ.get("TLCORE_DATA_ROOTS")
    if env:
        roots = [Path(p).expanduser().resolve() for p in env.split(os.pathsep) if p.strip()]
    else:
        roots = [Path(__file__).resolve().parent.parent / "sample_data"]
    if workspace is not None:
        roots.append(workspace.root)
    return roots


def safe_filename(name: str, default: str = "upload") -> str:
    """A plain file name for an uploaded file (no folders, no odd characters)."""
    base = Path(str(name or "")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")
    return base[:100] or default
