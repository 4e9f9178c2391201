"""The Streamlit side of Transfer Studio: what every page shares, one concern per module.

Imported only by ``app.py`` and ``pages/``, as ``import ui``. Like the pages, it never
imports TensorFlow or Keras: every piece of machine-learning work goes through tlcore's
public API. The modules:

- :mod:`ui.nav` — the pages, in order;
- :mod:`ui.frame` — page config, the session's workspace, sidebar, header, flash, next step;
- :mod:`ui.state` — session id, saved choices, the current settings, widget defaults;
- :mod:`ui.calls` — calling tlcore with errors shown as plain messages;
- :mod:`ui.datasets` — the chosen dataset (cached), uploads, thumbnails;
- :mod:`ui.capture` — making a dataset with the camera (shots, recording, files);
- :mod:`ui.runs` — a session's runs: status words, run pickers;
- :mod:`ui.checks`, :mod:`ui.check_views` — the data check: start, progress, what it found;
- :mod:`ui.edits` — the user's changes to the dataset (relabel, exclude, keep);
- :mod:`ui.subjects` — the subject setting (which pictures belong to one patient or specimen);
- :mod:`ui.charts` — plotly figures;
- :mod:`ui.answer_views` — the Predict page's answers, or "I don't know" and why;
- :mod:`ui.explain` — where the model looks (Grad-CAM overlays, cached);
- :mod:`ui.camera` — the webcam (streamlit-webrtc): "hold to record" bursts and live streams;
- :mod:`ui.live` — live prediction from the camera on the Predict page;
- :mod:`ui.trust_views`, :mod:`ui.trust_charts` — how far to trust a model: intervals, calibration,
  the threshold, "I don't know";
- :mod:`ui.backbones` — the table comparing every backbone, with speeds measured here;
- :mod:`ui.text_data`, :mod:`ui.text_model`, :mod:`ui.text_views` — the text parts of the Data, Model,
  Evaluate and Predict pages (labelled sentences);
- :mod:`ui.fmt` — numbers and speeds in words.
"""

from __future__ import annotations

from tlcore import epoch_rows, fine_tune_words, format_seconds, progress_of, safe_filename

from .backbones import backbone_comparison
from .calls import attempt, call, error_message, finding_text, plain
from .capture import capture_panel, current_capture
from .checks import check_panel, score_warnings
from .edits import current_edits
from .explain import heatmap_overlay, run_model
from .live import live_section
from .subjects import subject_setting
from .answer_views import answer_view, confidence_words, threshold_words
from .trust_views import (TRUST_COLUMNS, calibration_section, figure_with_interval, interval_words, old_run_note,
                          operating_point_section, recall_interval, trust_row, unknown_section)
from .charts import SPLIT_NAMES, confusion_figure, counts_figure, curves_figure, probability_figure
from .datasets import (class_names, current_dataset, dataset_display_name, dataset_source, earlier_uploads,
                       file_stamp, first_image, picture_thumbnail, remember_dataset,
                       sample_label, samples_of, thumbnail, upload_folder)
from .fmt import format_params, speed_metric
from .frame import configure_page, device_description, flash, frame, next_step, page_header, show_flash
from .nav import APP_TITLE, PAGE_BY_URL, PAGES, PageInfo
from .runs import (STATUS_COLOR, STATUS_ICON, STATUS_WORDS, backbone_name, features_source, finished_run_ids,
                   pick_finished_run, run_config, run_dir, run_folder, run_label)
from .text_data import TEXT_SUFFIXES, columns_section, is_text_file, sample_text, save_text_upload, text_file_in, text_samples
from .text_model import MAX_FINE_TUNE_LAYERS, can_fine_tune, encoder_section, is_text_run, text_summary
from .text_views import MAX_TEXTS, is_text_run_folder, mistakes_table, run_texts, text_answers, text_inputs
from .words import item, set_item
from .state import (SESSION_PARAM, clamp_state, current_config, load_state, new_session_id, save_state, session_id,
                    update_config, valid_session_id, widget_default, workspace)

__all__ = [
    "item", "set_item",
    "APP_TITLE", "PAGES", "PAGE_BY_URL", "PageInfo", "SESSION_PARAM", "SPLIT_NAMES", "STATUS_COLOR", "STATUS_ICON", "STATUS_WORDS",
    "attempt", "backbone_comparison", "capture_panel", "current_capture", "heatmap_overlay", "run_model", "check_panel", "score_warnings", "current_edits", "subject_setting", "backbone_name", "call", "clamp_state", "class_names", "configure_page",
    "confusion_figure", "counts_figure", "current_config", "current_dataset", "curves_figure", "dataset_display_name",
    "dataset_source", "device_description", "earlier_uploads", "epoch_rows", "error_message", "file_stamp",
    "features_source", "fine_tune_words", "finding_text", "finished_run_ids", "first_image", "flash", "format_params", "format_seconds", "frame",
    "load_state", "new_session_id", "plain", "next_step", "page_header", "pick_finished_run", "picture_thumbnail",
    "probability_figure", "progress_of", "remember_dataset", "run_config", "run_dir", "run_folder",
    "run_label", "safe_filename", "sample_label", "samples_of", "save_state", "session_id", "show_flash",
    "speed_metric", "thumbnail", "update_config", "upload_folder", "valid_session_id",
    "widget_default", "workspace",
    "TRUST_COLUMNS", "answer_view", "calibration_section", "confidence_words", "figure_with_interval", "interval_words", "old_run_note",
    "operating_point_section", "recall_interval", "threshold_words", "trust_row", "unknown_section",
    "live_section",
    "MAX_FINE_TUNE_LAYERS", "can_fine_tune", "encoder_section", "is_text_run", "text_summary",
    "MAX_TEXTS", "is_text_run_folder", "mistakes_table", "run_texts", "text_answers", "text_inputs",
    "TEXT_SUFFIXES", "columns_section", "is_text_file", "sample_text", "save_text_upload", "text_file_in", "text_samples",
]
