"""Keeping TensorFlow's start-up noise out of the user's terminal.

TensorFlow and Keras log from C++ and Python as they load; the command line sets their
log levels before anything imports them (:func:`quiet_tensorflow`), and imports TensorFlow
with stderr held back (:func:`import_tensorflow_quietly`), showing it only if the import fails.
"""

from __future__ import annotations

import os
import sys
import tempfile


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ and Python logging out of the user's terminal."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import logging
    import warnings

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="tensorflow")
    warnings.filterwarnings("ignore", module="keras")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with stderr silenced.

    On machines without a GPU driver, TensorFlow's C++ start-up prints several lines
    ("Could not find cuda drivers...") before any log level applies. They are kept back
    and shown only if the import fails.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (embedded): nothing to hide
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # device start-up messages come here, not at import
            import keras  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
