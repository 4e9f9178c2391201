"""Grad-CAM: where in a picture the model found the evidence for a class.

- :mod:`.cam` — the recipe on a tlcore classifier's own layers (backend-neutral, ``keras.ops``);
- :mod:`.gradients` — the one gradient step, one small helper per Keras backend;
- :mod:`.overlay` — upsampling, the colour map and the blend (numpy and Pillow);
- :mod:`.api` — :func:`explain_images`, :func:`explain_run` and :func:`explain_files` (the CLI's).

Importing this package loads neither Keras nor TensorFlow; explaining does.
"""

from __future__ import annotations

from .api import ExplainedFile, Explanation, explain_files, explain_images, explain_run

__all__ = ["ExplainedFile", "Explanation", "explain_files", "explain_images", "explain_run"]
