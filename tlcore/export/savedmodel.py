"""Writing model files and folders so a reader never sees half of one: .keras, SavedModel, zip.

The SavedModel is the inference pass traced with ``training=False`` and ``uint8`` input;
TFLite is converted from it (:mod:`tlcore.export.tflite_convert`). Every file goes to a
temporary name in its folder first and is renamed into place, so a download that starts
during an export gets the old file or the new one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from ..errors import TLCoreError


def require_tensorflow_backend(fmt: str) -> None:
    """Refuse a format that needs TensorFlow when Keras runs on another backend."""
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise TLCoreError(
            f"Export format {fmt!r} needs Keras's TensorFlow backend, but Keras is running on {backend!r}.",
            "set the environment variable KERAS_BACKEND=tensorflow and start again, "
            "or export only the 'keras' format.",
        )


def tmp_sibling(path: Path, suffix: str = "") -> Path:
    """A fresh, unused temporary name in the same folder (so a rename is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def replace_dir(tmp_dir: Path, final: Path) -> None:
    """Move a finished folder into place; a reader sees the old or the new one, never half."""
    old = None
    if final.exists():
        old = tmp_sibling(final, ".old")
        os.replace(final, old)
    os.replace(tmp_dir, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_keras(model, source: Path | None, dest: Path) -> Path:
    """Write ``model`` to ``dest`` (a copy of ``source`` when the model came from that file)."""
    tmp = tmp_sibling(dest, ".keras")  # Keras insists on the .keras suffix
    try:
        if source is not None:
            shutil.copyfile(source, tmp)
        else:
            model.save(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def export_saved_model(model, dest: Path, input_size: int | None = None) -> None:
    """Write the model's inference pass as a SavedModel into ``dest`` (``serve``, ``serving_default``).

    ``training=False`` is spelled out: ``model.export`` traces a bare ``model(x)``, which runs
    dropout (and BatchNormalization of a network trained from scratch) in training mode, so
    the export would be random and TFLite refuses its random ops. With ``input_size`` the
    input is fixed to that square size.
    """
    import keras

    size = input_size or None
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda image: model(image, training=False),
                         input_signature=[keras.InputSpec(shape=(None, size, size, 3), dtype="uint8")])
    try:
        archive.write_out(str(dest), verbose=False)
    except TypeError:  # older Keras without verbose=
        archive.write_out(str(dest))


def zip_dir(folder: Path, dest: Path) -> Path:
    """Zip ``folder`` (as its own top folder inside the zip) to ``dest``."""
    tmp = tmp_sibling(dest)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, Path(folder.name) / path.relative_to(folder))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


__all__ = ["export_saved_model", "replace_dir", "require_tensorflow_backend", "save_keras", "tmp_sibling", "zip_dir"]
