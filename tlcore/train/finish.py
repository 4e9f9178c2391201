"""The last stage: calibrate and save the kept weights, and evaluate them on validation (and test) images.

A cancelled run ends here too: it keeps its best weights and is still a usable model, so it
is saved and evaluated like a finished one.
"""

from __future__ import annotations

from .. import events as ev
from .fitting import image_predictor
from .state import TrainingRun
from .trust_stage import learn_trust


def save_and_evaluate(run: TrainingRun) -> dict:
    """Calibrate and save the model into the run folder with its trust files; return its
    evaluation (``evaluation.json``'s content)."""
    from ..trust.run import evaluate_with_trust

    run.emit(ev.stage_event(ev.STAGE_EVALUATE, "Evaluating"))
    # Cancelled before any training: score the model as it is.
    predict_split = run.predict_split or image_predictor(run)
    raw = {"val": predict_split("val", run.val_samples)}
    if run.test_samples:
        raw["test"] = predict_split("test", run.test_samples)
    learned = learn_trust(run, raw)
    if run.folder is not None:
        run.folder.save_model(run.parts.model)
        if run.parts.tokenizer is not None:
            run.folder.save_tokenizer(run.parts.tokenizer)
        run.folder.write_prototypes(learned.prototypes)
        run.folder.write_predictions(learned.predictions)
        run.folder.write_trust(learned.trust.to_dict())
    evaluation = evaluate_with_trust(learned.predictions, learned.trust)
    evaluation["calibration"] = learned.calibration
    if run.fine_tune_report is not None:
        evaluation["fine_tune"] = run.fine_tune_report
    if run.scratch:
        evaluation["from_scratch"] = True
    return evaluation
