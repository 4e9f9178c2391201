"""tlcore.diagnose: verdicts on the learning curves, as Findings a page can show."""

from __future__ import annotations

from tlcore.diagnose import overfitting
from tlcore.findings import Finding


def _rows(train: float, val: float, epochs: int = 3) -> list[dict]:
    return [{"epoch": e, "stage": "head", "accuracy": train, "val_accuracy": val} for e in range(1, epochs + 1)]


def test_a_big_gap_between_training_and_validation_accuracy_is_memorising():
    finding = overfitting(_rows(0.99, 0.7))
    assert isinstance(finding, Finding)
    assert "memorising" in finding.problem and "augmentation" in finding.fix


def test_no_verdict_on_a_small_gap_too_few_epochs_or_missing_figures():
    assert overfitting(_rows(0.9, 0.8)) is None
    assert overfitting(_rows(0.99, 0.5, epochs=2)) is None, "too early to judge"
    assert overfitting(_rows(0.99, None)) is None
