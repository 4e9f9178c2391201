"""A user's own backbone file: kept in their workspace only once it is known to be usable.

The Model page and any other face hand the uploaded bytes to :func:`save_user_backbone`,
which writes them into the workspace, has :mod:`tlcore.safety` and Keras read the model,
and deletes the file again when it is refused, so nothing unusable stays behind.
"""

from __future__ import annotations

from pathlib import Path

from .backbones import list_layers
from .errors import TLCoreError
from .runfiles import write_bytes_atomic
from .workspace import Workspace, safe_filename

SUFFIXES = (".keras", ".h5")


def save_user_backbone(workspace: Workspace, file_name: str, content: bytes) -> Path:
    """Save ``content`` as a backbone model file in ``workspace`` and check it; returns its path.

    Raises:
        TLCoreError: The file is not a Keras model file, would run code when loaded, or cannot
            be read; the file is then not kept.
    """
    if Path(file_name).suffix.lower() not in SUFFIXES:
        raise TLCoreError(
            f"“{file_name}” is not a Keras model file, so it cannot be used as a backbone.",
            "upload a model file whose name ends in .keras or .h5 (a network saved by Keras). "
            "Pictures go on the Data page.",
        )
    target = workspace.uploads_dir / "backbones" / safe_filename(file_name, "backbone.keras")
    try:
        write_bytes_atomic(target, content)
        list_layers(str(target))  # tlcore.safety refuses files that would run code, then Keras reads it
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target
