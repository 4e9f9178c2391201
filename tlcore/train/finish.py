"""The last stage: save the kept weights and evaluate them on validation (and test) images.

A cancelled run ends here too: it keeps its best weights and is still a usable model, so it
is saved and evaluated like a finished one.
"""

from __future__ import annotations

import numpy as np

from .. import events as ev
from .fitting import image_predictor
from .state import TrainingRun


def save_and_evaluate(run: TrainingRun) -> dict:
    """Save the model into the run folder and return its evaluation (``evaluation.json``'s content)."""
    from ..evaluate import evaluate_predictions

    run.emit(ev.stage_event(ev.STAGE_EVALUATE, "Evaluating"))
    if run.folder is not None:
        run.folder.save_model(run.parts.model)
    # Cancelled before any training: score the model as it is.
    predict_split = run.predict_split or image_predictor(run)
    evaluation = evaluate_predictions(run.y_val, predict_split("val", run.val_samples), run.classes,
                                      [s.path for s in run.val_samples])
    evaluation["split"] = "val"
    if run.test_samples:
        y_test = np.array([s.label for s in run.test_samples], dtype=int)
        evaluation["test"] = evaluate_predictions(y_test, predict_split("test", run.test_samples),
                                                  run.classes, [s.path for s in run.test_samples])
        evaluation["test"]["split"] = "test"
    if run.fine_tune_report is not None:
        evaluation["fine_tune"] = run.fine_tune_report
    if run.scratch:
        evaluation["from_scratch"] = True
    return evaluation
