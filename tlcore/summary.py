"""A finished run in plain words: what the model learned, how often it was right, where it is unsure.

For the classroom page and anyone who reads no tables: every sentence is computed from the
run's ``evaluation.json`` (the validation pictures it never trained on), interval included.
"""

from __future__ import annotations

from typing import Any


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def _names(classes: list[str]) -> str:
    quoted = [f"“{c}”" for c in classes]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def run_in_words(evaluation: dict[str, Any], *, shared_subjects: int = 0) -> list[str]:
    """Short sentences about a run, most important first (empty when there is nothing to say).

    ``shared_subjects``: validation pictures from a recording (or subject) it also trained on
    (:meth:`tlcore.Dataset.shared_subjects`); the score on them is optimistic, and it says so.
    """
    classes = [str(c) for c in evaluation.get("classes") or []]
    total = int(evaluation.get("num_images") or 0)
    if not classes or not total:
        return []
    right = round(float(evaluation.get("accuracy", 0.0)) * total)
    words = [f"It learned to tell {_names(classes)} apart."]
    ci = evaluation.get("accuracy_ci") or []
    spread = (f" With so few pictures the true figure could be anywhere from {_pct(ci[0])} to {_pct(ci[1])}."
              if len(ci) == 2 and ci[1] - ci[0] > 0.02 else "")
    words.append(f"On the {total} pictures it kept aside and never learned from, it was right {right} times "
                 f"({_pct(right / total)}).{spread}")
    if shared_subjects:
        words.append(f"{'All' if shared_subjects >= total else shared_subjects} of those pictures came from a recording "
                     "it also learned from, so this is better than it will do on new pictures. Record each class a "
                     "second time (another place, light or angle) for an honest figure.")
    matrix = evaluation.get("confusion_matrix") or []
    mixed = []
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if i != j and count:
                mixed.append((int(count), classes[i], classes[j], int(sum(row))))
    for count, true, predicted, support in sorted(mixed, reverse=True)[:3]:
        words.append(f"It took {count} of the {support} pictures of “{true}” for “{predicted}”.")
    mistakes = evaluation.get("misclassified") or []
    sure = [m for m in mistakes if float(m.get("confidence", 0)) >= 0.8]
    if sure:
        words.append(f"{len(sure)} of its mistakes it made while over 80 % sure: those pictures look much like "
                     "the other class to it.")
    report = evaluation.get("report") or {}
    recalls = {c: float(report[c]["recall"]) for c in classes if isinstance(report.get(c), dict) and "recall" in report[c]}
    if mixed and recalls:
        weakest = min(recalls, key=recalls.get)
        words.append(f"It is least sure about “{weakest}”: add more pictures of it, from other sides, places and "
                     "light, and train again.")
    elif not mixed:
        words.append("It got all of them right. Try it live with things it has not seen, and see where it fails.")
    return words


__all__ = ["run_in_words"]
