"""``tlcore evaluate``: a finished run's evaluation as a readable summary (or JSON)."""

from __future__ import annotations

from pathlib import Path

from ...errors import EXIT_OK
from ...trust.intervals import with_interval
from ..common import print_json


def format_evaluation(evaluation: dict, title: str) -> list[str]:
    """The lines of the summary: accuracy, F1, confusion matrix, per-class scores, mistakes."""
    classes = [str(c) for c in evaluation.get("classes") or []]
    lines = [title]
    acc = evaluation.get("accuracy")
    if isinstance(acc, (int, float)):
        n = evaluation.get("num_images")
        lines.append(f"Accuracy: {with_interval(acc, evaluation.get('accuracy_ci'))}"
                     + (f" on {n} images" if n is not None else "") + "  (95 % interval in brackets)")
    if (evaluation.get("fine_tune") or {}).get("message"):
        lines.append(evaluation["fine_tune"]["message"])
    if evaluation.get("from_scratch"):
        lines.append("Random start: every layer was trained from scratch (no transfer).")
    if evaluation.get("macro_f1") is not None:
        lines.append(f"Macro F1: {evaluation['macro_f1']:.3f}")
    if evaluation.get("sensitivity") is not None:
        at = f" at threshold {evaluation['threshold']:.3f}" if evaluation.get("threshold") is not None else ""
        lines.append(f"Sensitivity ({evaluation.get('positive_class', 'positive class')}): "
                     f"{with_interval(evaluation['sensitivity'], evaluation.get('sensitivity_ci'))}   "
                     f"Specificity: {with_interval(evaluation.get('specificity'), evaluation.get('specificity_ci'))}"
                     + at)
    lines += _trust_lines(evaluation)
    lines += _confusion_matrix(evaluation.get("confusion_matrix"), classes)
    lines += _class_scores(evaluation.get("report") or {})
    mistakes = evaluation.get("misclassified")
    if mistakes is not None:
        lines += ["", f"Misclassified images: {len(mistakes)}"]
        for m in mistakes[:5]:
            lines.append(f"  {m.get('path')}: true {m.get('true')}, predicted {m.get('predicted')} "
                         f"({m.get('confidence', 0):.0%})")
        if len(mistakes) > 5:
            lines.append(f"  … and {len(mistakes) - 5} more (--json lists them all)")
    return lines


def _confusion_matrix(matrix, classes: list[str]) -> list[str]:
    if not (matrix and classes):
        return []
    corner = "true \\ predicted"
    width = max(len(corner), *(len(c) for c in classes))
    cell = max(6, *(len(c) for c in classes), *(len(str(v)) for row in matrix for v in row))
    lines = ["", "Confusion matrix (rows: true class, columns: predicted class):",
             f"{corner:<{width}}  " + "  ".join(f"{c:>{cell}}" for c in classes)]
    for name, row in zip(classes, matrix):
        lines.append(f"{name:<{width}}  " + "  ".join(f"{v:>{cell}}" for v in row))
    return lines


def _class_scores(report: dict) -> list[str]:
    if not report:
        return []
    width = max(len("class"), *(len(str(c)) for c in report))
    lines = ["", f"{'class':<{width}}  precision  {'recall (95 % interval)':<24}      f1  support"]
    for name, values in report.items():
        if not isinstance(values, dict):
            continue
        f1 = values.get("f1", values.get("f1-score", 0.0))
        recall = with_interval(values.get("recall", 0), values.get("recall_ci"))
        lines.append(f"{name:<{width}}  {values.get('precision', 0):>9.3f}  {recall:<24}  "
                     f"{f1:>6.3f}  {values.get('support', 0):>7}")
    return lines


def _trust_lines(evaluation: dict) -> list[str]:
    """Calibration, the threshold and "I don't know", when the run has them."""
    lines = []
    calibration = evaluation.get("calibration") or {}
    if calibration.get("ece_before") is not None:
        text = (f"Calibration: temperature {calibration['temperature']:.2f}; expected calibration error "
                f"{calibration['ece_before']:.3f} before, {calibration['ece_after']:.3f} after (validation, cross-fitted)")
        if calibration.get("test_ece_after") is not None:
            text += f"; test {calibration['test_ece_before']:.3f} -> {calibration['test_ece_after']:.3f}"
        lines.append(text)
    point = evaluation.get("operating_point") or {}
    if point.get("roc_auc") is not None:
        lines.append(f"ROC AUC {point['roc_auc']:.3f}, precision-recall AUC {point['pr_auc']:.3f} (validation); "
                     f"threshold {point['threshold']:.3f} chosen by rule '{point.get('rule')}'")
    unknown = evaluation.get("unknown") or {}
    if unknown.get("count") is not None and evaluation.get("trust"):
        known = unknown.get("accuracy_known")
        lines.append(f"\"I don't know\" ({evaluation['trust'].get('strictness')}): {unknown['count']} of "
                     f"{evaluation.get('num_images')} images ({unknown['share']:.1%})"
                     + (f"; accuracy on the others {known:.1%}" if known is not None else ""))
    return lines


def evaluate(args) -> int:
    from ...errors import TLCoreError
    from ...evaluate import evaluate_run

    run_dir = Path(args.run_dir).expanduser()
    evaluation = evaluate_run(run_dir)
    if args.split == "test":
        test = evaluation.get("test")
        if not isinstance(test, dict):
            raise TLCoreError(f"Run {run_dir.name} has no test split.",
                              "add a test/ folder to the dataset to get test metrics, or use --split val.")
        evaluation = test
    else:
        evaluation = {k: v for k, v in evaluation.items() if k != "test"}
    if args.split == "test":  # the run-wide facts belong to both splits
        full = evaluate_run(run_dir)
        evaluation = {**{k: full[k] for k in ("calibration", "operating_point", "trust") if k in full}, **evaluation}
    if args.json:
        print_json(evaluation)
    else:
        title = f"Run {run_dir.resolve().name}: {'test' if args.split == 'test' else 'validation'} split"
        print("\n".join(format_evaluation(evaluation, title)))
    return EXIT_OK
