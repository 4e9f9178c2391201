"""Where pretrained weights live: Keras's download cache, importing files into it, download errors.

``weights="imagenet"`` goes through Keras's normal download and cache; on a machine without
internet a user downloads the file elsewhere and :func:`import_weights` puts it where Keras
looks. :func:`download_error` turns a failed download into a message naming that file.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .errors import TLCoreError


def keras_home() -> Path:
    """The folder Keras caches downloads in: ``$KERAS_HOME`` (as read when Keras was first
    imported) or ``~/.keras``; Keras falls back to ``/tmp/.keras`` when that is not writable."""
    try:
        from keras.src.backend import config as keras_config

        home = Path(keras_config.keras_home()).expanduser()
    except ImportError:  # a future Keras may move it; follow the documented variable
        env = os.environ.get("KERAS_HOME")
        home = Path(env).expanduser() if env else Path.home() / ".keras"
    if home.exists() and not os.access(home, os.W_OK):
        home = Path("/tmp/.keras")
    return home


def keras_models_dir() -> Path:
    """Where ``keras.applications`` looks for (and saves) pretrained weight files."""
    return keras_home() / "models"


def import_weights(weights_file: str | Path) -> Path:
    """Copy a downloaded weights file into Keras's cache so ``weights="imagenet"`` finds it offline.

    For air-gapped machines: download the file named in the error message on another
    machine, then import it here. Returns the new path.
    """
    src = Path(weights_file).expanduser()
    if not src.is_file():
        raise TLCoreError(f"Weights file {src} does not exist.", "give the path of the downloaded .h5 file.")
    if src.suffix.lower() not in (".h5", ".keras") and not src.name.endswith(".weights.h5"):
        raise TLCoreError(f"{src.name} is not a Keras weights file.", "import the .h5 file named in the download error.")
    dest_dir = keras_models_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    shutil.copyfile(src, dest)
    return dest


_URL = re.compile(r"(https?://\S+?/([^/\s:]+\.h5))")


def download_error(backbone: str, err: Exception) -> TLCoreError:
    """Turn Keras's failed-download exception into a message naming the file and folder."""
    match = _URL.search(str(err))
    folder = keras_models_dir()
    if match:
        url, filename = match.groups()
        return TLCoreError(
            f"Could not download the ImageNet weights for {backbone}: Keras needs the file "
            f"'{filename}' (from {url}) and could not fetch it ({str(err)[-120:]}).",
            f"on a machine with internet, download that file and put it in the folder {folder} "
            f"(or run `tlcore weights import FILE`), then try again; or train with weights 'none'.",
        )
    return TLCoreError(
        f"Could not load the ImageNet weights for {backbone}: {err}.",
        f"put the weights file in {folder}, or train with weights 'none'.",
    )
