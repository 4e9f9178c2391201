"""tlcore: the transfer-learning engine behind Transfer Studio.

The few entry points every face (pages, command line, Python) uses::

    import tlcore
    ds = tlcore.load_dataset("my_images.zip")          # check and split a labeled image folder
    print(ds.report.to_text())
    result = tlcore.train(tlcore.TrainConfig(data="my_images.zip"), run_dir="runs/first")
    tlcore.export_run("runs/first")                      # .keras, SavedModel, TFLite, labels, card
    tlcore.load_predictor("runs/first").predict(["new.jpg"])

Heavy modules (Keras, TensorFlow) load on first use, so ``import tlcore`` stays fast.
"""

from __future__ import annotations

import importlib

from .config import Augmentation, TrainConfig, load_config, save_config
from .errors import TLCoreError

_LAZY = {
    "load_dataset": "data", "Dataset": "data", "ImageBatches": "data",
    "BACKBONES": "backbones", "get_backbone": "backbones", "list_layers": "backbones",
    "build_base": "backbones", "import_weights": "backbones", "measure_speed": "backbones",
    "build_classifier": "model", "model_summary": "model",
    "augment_previews": "augment",
    "train": "train", "TrainResult": "train",
    "start_run": "jobs", "cancel_run": "jobs", "run_status": "jobs", "list_runs": "jobs",
    "evaluate_run": "evaluate", "evaluate_predictions": "evaluate",
    "load_predictor": "predict", "predict_images": "predict",
    "export_run": "export", "export_model": "export", "export_accuracy": "export",
    "shareable_run_config": "export", "load_image": "images", "resize_image": "images",
    "featurize": "features",
    "Workspace": "workspace", "default_workspace": "workspace",
    "device_info": "device", "describe_device": "device",
}

__all__ = ["Augmentation", "TrainConfig", "TLCoreError", "load_config", "save_config", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tlcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
