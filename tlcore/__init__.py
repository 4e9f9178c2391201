"""tlcore: the transfer-learning engine behind Transfer Studio.

The few entry points every face (pages, command line, Python) uses::

    import tlcore
    ds = tlcore.load_dataset("my_images.zip")          # check and split a labeled image folder
    print(ds.report.to_text())
    result = tlcore.train(tlcore.TrainConfig(data="my_images.zip"), run_dir="runs/first")
    tlcore.export_run("runs/first")                      # .keras, SavedModel, TFLite, labels, card
    tlcore.load_predictor("runs/first").predict(["new.jpg"])
    check = tlcore.check_dataset("my_images.zip")         # wrong labels, near-duplicates, leaks, shift
    tlcore.set_operating_point("runs/first", rule="sensitivity", target=0.95)  # two classes: the cut-off
    tlcore.explain_images("runs/first", ["new.jpg"])      # where the model looks (Grad-CAM)
    tlcore.train_from_features("features.parquet", "runs/big")  # a head on `tlcore featurize` output

Heavy modules (Keras, TensorFlow) load on first use, so ``import tlcore`` stays fast.
"""

from __future__ import annotations

from .config import AUGMENTATION_SETTINGS, SETTINGS, Augmentation, Setting, TrainConfig, load_config, save_config
from ._lazy import lazy_attributes
from .errors import TLCoreError

_LAZY = {
    "load_dataset": "data", "Dataset": "data", "ImageBatches": "data",
    "load_any": "data.any_source", "text_support_problem": "text.encoders", "TEXT_LAYOUTS": "data.report", "is_text_data": "data.any_source",
    "load_text_dataset": "text.dataset", "read_text_table": "text.table", "is_text_source": "text.table",
    "BACKBONES": "backbones", "IMAGE_BACKBONES": "backbones", "TEXT_ENCODERS": "backbones",
    "DEFAULT_TEXT_ENCODER": "backbones", "get_backbone": "backbones", "list_layers": "backbones",
    "build_base": "backbones", "import_weights": "weights", "measure_speed": "speed",
    "build_classifier": "model", "model_summary": "model",
    "augment_previews": "augment",
    "train": "train", "TrainResult": "train",
    "RunFolder": "runs", "RunStatus": "runs", "run_folders": "runs", "run_status": "runs", "list_runs": "runs", "cancel_run": "runs",
    "mark_interrupted": "runs",
    "start_run": "jobs", "start_export": "jobs", "export_status": "jobs",
    "progress_of": "progress", "Progress": "progress", "epoch_rows": "progress",
    "save_user_backbone": "user_backbone",
    "Finding": "findings", "SkippedFile": "findings",
    "run_in_words": "summary",
    "CaptureFolder": "data.capture", "capture_folders": "data.capture", "MIN_PICTURES": "data.capture",
    "new_recording": "data.capture",
    "dataset_name": "data", "describe_limits": "limits", "overfitting": "diagnose",
    "ensure_standby": "jobs", "ExportStatus": "jobs",
    "check_image_bytes": "images", "open_image": "images", "load_model": "predict",
    "STATUS_WORDS": "progress", "SPLIT_WORDS": "progress", "compact_number": "progress", "fine_tune_words": "progress",
    "format_seconds": "progress", "time_left_words": "progress",
    "write_bytes_atomic": "runfiles", "write_json_atomic": "runfiles",
    "safe_filename": "workspace", "data_roots": "workspace", "is_within": "workspace", "resolve_in_roots": "workspace", "safe_join": "workspace",
    "evaluate_run": "evaluate", "evaluate_predictions": "evaluate",
    "load_predictor": "predict", "predict_images": "predict",
    "Answer": "predict",
    "LivePredictor": "live", "LiveAnswer": "live", "FrameRate": "live",
    "export_run": "export", "export_model": "export", "export_accuracy": "export",
    "EXPORT_FORMATS": "export", "DOWNLOADS": "export", "ExportFormat": "export", "normalize_formats": "export",
    "shareable_run_config": "export", "text_model_zip": "export.share", "formats_for": "export.formats", "load_image": "images", "resize_image": "images",
    "featurize": "features", "train_from_features": "train.from_features",
    "check_dataset": "checks", "DataCheck": "checks", "learning_curve_of": "checks",
    "start_check": "jobs", "check_status": "jobs", "cancel_check": "jobs", "latest_check": "jobs", "CheckStatus": "jobs",
    "load_edits": "data", "add_edits": "data", "undo_edit": "data", "clear_edits": "data", "Edit": "data", "changes_in_words": "data",
    "Workspace": "workspace", "default_workspace": "workspace",
    "device_info": "device", "describe_device": "device",
    "explain_images": "explain", "explain_run": "explain", "Explanation": "explain",
    "set_operating_point": "trust.run", "operating_figures": "trust.run", "load_trust": "trust.run",
    "threshold_for": "trust.run", "unknown_preview": "trust.run", "Trust": "trust.settings", "Decision": "trust.settings",
    "with_interval": "trust.intervals", "THRESHOLD_RULES": "trust.operating", "STRICTNESS": "trust.unknown",
}

__all__ = ["AUGMENTATION_SETTINGS", "Augmentation", "SETTINGS", "Setting", "TrainConfig", "TLCoreError", "load_config", "save_config", *_LAZY]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
