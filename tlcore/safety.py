"""Loading model files that came from a user, without executing anything in them.

A ``.keras`` or ``.h5`` file can carry Python code (``Lambda`` layers hold marshalled
bytecode; custom objects name arbitrary classes). Before Keras sees the file we read its
architecture JSON ourselves and refuse anything that is not a plain built-in Keras layer;
then Keras loads it with ``safe_mode=True`` as a second line of defence.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

from .errors import TLCoreError

# Keras itself, and keras-hub (the text encoders' library: its classes are installed code, registered
# by name, not code carried in the file); nothing else.
_ALLOWED_MODULES = ("keras", "keras_hub")
_ALLOWED_REGISTERED = "keras_hub>"


def _library_module(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in _ALLOWED_MODULES)
# The fix for a file that is not what Keras writes, in words for someone who never wrote code.
_REMAKE = ("use the model file exactly as Keras wrote it (whoever made the model can save it again "
           "from Keras as a .keras file; renaming another kind of file does not work).")


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def check_architecture(config: Any, source: str) -> None:
    """Refuse Lambda layers and custom (non-Keras) objects in a model's architecture JSON."""
    for obj in _walk(config):
        cls = str(obj.get("class_name", ""))
        module = obj.get("module")
        if cls in ("Lambda", "TFOpLambda", "SlicingOpLambda"):
            raise TLCoreError(
                f"{source} contains a Lambda layer, which runs arbitrary Python code when loaded; it was refused.",
                "use a model made only of standard Keras layers (ask whoever made this one for a version "
                "without Lambda layers).",
            )
        registered = str(obj.get("registered_name") or "")
        custom = (module is not None and not _library_module(str(module))) or (
            ">" in registered and not registered.startswith(_ALLOWED_REGISTERED))
        if custom and cls not in ("function",):
            raise TLCoreError(
                f"{source} uses the custom object {cls!r} (module {module or registered!r}); "
                "custom code in a model file is not loaded, for safety.",
                "use a model made only of standard Keras layers.",
            )


_KERAS_ARCHIVE_CONFIG = "config.json"  # the .keras zip's own entry: Keras's format, not a run file


def _read_keras_zip_config(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if _KERAS_ARCHIVE_CONFIG not in names:
                raise TLCoreError(
                    f"{path.name} is not a Keras model file (no config.json inside).",
                    _REMAKE,
                )
            return json.loads(zf.read(_KERAS_ARCHIVE_CONFIG))
    except zipfile.BadZipFile:
        raise TLCoreError(
            f"{path.name} is not a valid .keras model file (it is not a zip archive).",
            _REMAKE,
        ) from None
    except json.JSONDecodeError:
        raise TLCoreError(f"{path.name} has a damaged config.json.", _REMAKE) from None


def _read_h5_config(path: Path) -> Any:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get("model_config")
            if raw is None:
                raise TLCoreError(
                    f"{path.name} holds no model architecture (it may be a weights-only file).",
                    "use the whole model (the .keras or .h5 file Keras saves with its layers), "
                    "or use this file as the weights of a built-in backbone.",
                )
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8")
            return json.loads(raw)
    except OSError:
        raise TLCoreError(f"{path.name} is not a valid HDF5 (.h5) model file.", _REMAKE) from None
    except json.JSONDecodeError:
        raise TLCoreError(f"{path.name} has a damaged model_config.", _REMAKE) from None


def load_model_safely(path: str | Path):
    """Load a user's ``.keras``/``.h5`` model after refusing anything that would execute code."""
    import keras

    path = Path(path).expanduser()
    if not path.is_file():
        raise TLCoreError(f"Model file {path} does not exist.", "give the path to a .keras or .h5 file.")
    suffix = path.suffix.lower()
    if suffix == ".keras":
        check_architecture(_read_keras_zip_config(path), path.name)
    elif suffix in (".h5", ".hdf5"):
        check_architecture(_read_h5_config(path), path.name)
    else:
        raise TLCoreError(f"{path.name} is not a Keras model file.",
                          "use a model file whose name ends in .keras or .h5.")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except TLCoreError:
        raise
    except Exception as err:
        raise TLCoreError(
            f"{path.name} could not be loaded as a Keras model: {str(err).splitlines()[0][:300]}",
            "the file must come from Keras 3 and use only standard Keras layers; ask whoever made the "
            "model to save it again with Keras 3.",
        ) from None
