"""Datasets made in the browser: classes named by the user, pictures from the camera or from files.

A captured dataset is an ordinary class-folders dataset in the workspace
(``<workspace>/datasets/camera-<name>/<class>/<picture>.jpg``), so it is loaded, checked,
trained and downloaded exactly like an uploaded one. Every picture is written the moment it is
taken (nothing is lost when the browser closes), decoded once on the way in (EXIF orientation
applied, any format accepted) and stored as a JPEG named by its content, so the same shot
saved twice is one file.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from ..errors import TLCoreError
from ..images import SUPPORTED, check_image_bytes, open_image
from ..runfiles import write_bytes_atomic
from ..workspace import Workspace, is_within
from .discover import SPLITS
from .report import FEW_IMAGES

PREFIX = "camera-"  # a captured dataset's folder name under <workspace>/datasets/
MIN_PICTURES = FEW_IMAGES  # per class, before training is offered (fewer gets the data report's warning)
MAX_SIDE = 640  # pictures are stored at most this wide or high: a webcam frame, not a 12 MP photo
_QUALITY = 90
_NAME = re.compile(r"^[^\W_][\w \-]{0,39}$")  # a letter or digit first; letters, digits, space, - and _

Picture = bytes | np.ndarray | Image.Image


def _check_name(name: str, what: str) -> str:
    text = " ".join(str(name or "").split())
    if not _NAME.match(text):
        raise TLCoreError(f"“{text or name}” cannot be used as a {what} name.",
                          "use 1–40 letters, digits, spaces, '-' or '_', starting with a letter or digit.")
    return text


def _encode(picture: Picture) -> bytes:
    """JPEG bytes of a picture (an RGB array, a PIL image, or any supported file's bytes)."""
    if isinstance(picture, (bytes, bytearray)):
        problem = check_image_bytes(bytes(picture))
        if problem:
            raise TLCoreError(f"This file is not a picture Transfer Studio can read ({problem}).",
                              f"use a {SUPPORTED} picture.")
        image = open_image(io.BytesIO(bytes(picture)))
    elif isinstance(picture, np.ndarray):
        if picture.ndim != 3 or picture.shape[2] not in (3, 4) or min(picture.shape[:2]) < 8:
            raise TLCoreError(f"A camera frame of shape {picture.shape} is not an RGB picture.",
                              "send height × width × 3 (RGB) frames.")
        image = Image.fromarray(np.ascontiguousarray(picture[..., :3]).astype(np.uint8), "RGB")
    elif isinstance(picture, Image.Image):
        image = picture.convert("RGB")
    else:
        raise TLCoreError(f"A {type(picture).__name__} is not a picture.", "pass JPEG/PNG bytes or an RGB array.")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=_QUALITY)
    return buffer.getvalue()


@dataclass(frozen=True)
class CaptureFolder:
    """One dataset being made in the browser: a folder of class folders."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name[len(PREFIX):]

    @classmethod
    def create(cls, workspace: Workspace, name: str) -> "CaptureFolder":
        """A new, empty dataset called ``name`` (an existing one of that name is opened)."""
        name = _check_name(name, "dataset")
        slug = re.sub(r"\s+", "-", name.strip()).lower()
        root = workspace.datasets_dir / f"{PREFIX}{slug}"
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @classmethod
    def open(cls, workspace: Workspace, path: str | Path) -> "CaptureFolder":
        """The captured dataset at ``path``; refuses any folder that is not one of this workspace's."""
        root = Path(path).resolve()
        if not (root.parent == workspace.datasets_dir.resolve() and root.name.startswith(PREFIX) and root.is_dir()):
            raise TLCoreError(f"“{Path(path).name}” is not a dataset made with the camera in this workspace.",
                              "create a new one, or pick one from the list.")
        return cls(root)

    # ------------------------------------------------------------------ classes
    def classes(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _class_dir(self, name: str) -> Path:
        folder = self.root / _check_name(name, "class")
        if not is_within(folder, self.root):
            raise TLCoreError(f"“{name}” cannot be used as a class name.", "use letters, digits and spaces.")
        return folder

    def add_class(self, name: str) -> str:
        """Make an empty class (its folder); returns the name as stored."""
        folder = self._class_dir(name)
        if folder.name.lower() in SPLITS:
            # a folder called train/val/test would turn the dataset into a split layout
            raise TLCoreError(f"“{folder.name}” is a split name, not a class name.",
                              "call the class something else, e.g. “" + folder.name + " pictures”.")
        clash = [c for c in self.classes() if c.lower() == folder.name.lower() and c != folder.name]
        if clash:
            raise TLCoreError(f"There is already a class “{clash[0]}”.", "choose another name.")
        folder.mkdir(exist_ok=True)
        return folder.name

    def remove_class(self, name: str) -> None:
        folder = self._class_dir(name)
        if folder.is_dir():
            shutil.rmtree(folder)

    # ------------------------------------------------------------------ pictures
    def pictures(self, name: str) -> list[Path]:
        """The class's pictures, oldest first."""
        folder = self._class_dir(name)
        if not folder.is_dir():
            return []
        return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                      key=lambda p: (p.stat().st_mtime_ns, p.name))

    def counts(self) -> dict[str, int]:
        return {name: len(self.pictures(name)) for name in self.classes()}

    def add(self, name: str, pictures: Iterable[Picture], *, recording: str | None = None) -> list[Path]:
        """Store pictures in class ``name`` (made if missing); returns their files, in order.

        ``recording`` (8 hex digits, :func:`new_recording`) names the burst the pictures came
        from: its pictures are near-copies of each other, so they are one *subject* to the split
        and to "I don't know" (file names ``rec-<recording>-…``, found by ``group_by auto``).
        Raises TLCoreError for the first one that is not a picture, after the ones before it
        are saved (they are kept: nothing taken is lost).
        """
        if recording is not None and not re.fullmatch(r"[0-9a-f]{8}", recording):
            raise TLCoreError(f"{recording!r} is not a recording name.", "use new_recording() for each recording.")
        folder = self.root / self.add_class(name)
        saved = []
        prefix = f"rec-{recording}" if recording else time.strftime("%Y%m%d-%H%M%S")
        for picture in pictures:
            content = _encode(picture)
            path = folder / f"{prefix}-{hashlib.sha256(content).hexdigest()[:12]}.jpg"
            if not path.exists():
                write_bytes_atomic(path, content)
            saved.append(path)
        return saved

    def remove(self, name: str, file_name: str) -> None:
        """Delete one picture of class ``name`` (a bad shot)."""
        path = self._class_dir(name) / Path(str(file_name)).name
        if path.is_file() and is_within(path, self.root):
            path.unlink()

    # ------------------------------------------------------------------ ready?
    def missing(self, min_pictures: int = MIN_PICTURES) -> list[str]:
        """What is still needed before training, in plain words (empty: ready)."""
        counts = self.counts()
        needs = []
        if len(counts) < 2:
            needs.append(f"{2 - len(counts)} more class{'es' if len(counts) == 0 else ''}: a model tells "
                         "at least two things apart")
        for cls, count in counts.items():
            if count < min_pictures:
                needs.append(f"{min_pictures - count} more picture{'s' if min_pictures - count != 1 else ''} "
                             f"of “{cls}” (it has {count}; at least {min_pictures} per class)")
        return needs

    def fingerprint(self) -> str:
        """Changes whenever a class or picture is added or deleted: which pictures a model was trained on."""
        h = hashlib.sha256()
        for cls in self.classes():
            h.update(f"{cls}\0".encode())
            for path in sorted(p.name for p in self.pictures(cls)):
                h.update(f"{path}\0".encode())
        return h.hexdigest()[:16]

    def zip_bytes(self) -> bytes:
        """The dataset as a zip of its class folders, to download or to upload elsewhere."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:  # JPEGs do not compress
            for cls in self.classes():
                for path in self.pictures(cls):
                    zf.write(path, f"{self.name}/{cls}/{path.name}")
        return buffer.getvalue()


def new_recording() -> str:
    """A name for one recording (burst) of pictures."""
    return secrets.token_hex(4)


def capture_folders(workspace: Workspace) -> list[CaptureFolder]:
    """This workspace's captured datasets, the latest changed first."""
    found = [CaptureFolder(p) for p in workspace.datasets_dir.iterdir() if p.is_dir() and p.name.startswith(PREFIX)]
    return sorted(found, key=lambda f: f.root.stat().st_mtime, reverse=True)


__all__ = ["MIN_PICTURES", "PREFIX", "CaptureFolder", "capture_folders", "new_recording"]
