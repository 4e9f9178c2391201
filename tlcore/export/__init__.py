"""The export stage: a trained classifier as Keras, SavedModel, TFLite (float and 8-bit), labels and card.

Every exported model takes what the app takes: ``uint8`` RGB images, resized and
preprocessed *inside* the model, and returns class probabilities in ``labels.json`` order.
Nothing outside the model has to be reproduced by the person who downloads it, and nothing
exported names a folder on the server or a workspace (see :func:`shareable_config`).

One module per concern: ``formats`` (the table of formats and downloads; no TensorFlow),
``savedmodel`` (.keras, SavedModel, zip, atomic replace), ``tflite_convert`` (conversion and
its check), ``accuracy`` (the 8-bit model measured), ``share`` (privacy), ``card`` (the
model card) and ``run`` (:func:`export_model`, :func:`export_run`). Names load on first use,
so ``import tlcore.export.formats`` loads neither Keras nor TensorFlow.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_LAZY = {
    "DOWNLOADS": "formats", "EXPORT_FORMATS": "formats", "ExportFormat": "formats", "FILES": "formats",
    "FILE_NAMES": "formats", "FORMATS": "formats", "FORMAT_CHOICES": "formats",
    "normalize_formats": "formats",
    "build_model_card": "card",
    "export_accuracy": "accuracy", "measure_int8_accuracy": "accuracy",
    "shareable_config": "share", "shareable_run_config": "share",
    "export_model": "run", "export_run": "run",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
