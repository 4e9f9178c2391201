"""A data check in words, for the terminal (``tlcore check``, ``tlcore curve``)."""

from __future__ import annotations

from ..progress import SPLIT_WORDS


def _pct(value) -> str:
    return f"{100 * float(value):.1f} %" if value is not None else "—"


def check_text(values: dict) -> str:
    """The whole check: findings first, then each section with the pictures it names."""
    lines = [f"Data check of {values.get('data_name') or values.get('data')}: {values.get('num_images', 0):,} pictures, "
             f"{len(values.get('classes', []))} classes; features of {values.get('backbone')} cut at "
             f"{values.get('layer')} ({values.get('image_size')} px)"
             + (", read from the cache" if values.get("features_cached") else "")
             + f"; took {values.get('seconds', 0):.1f} s."]
    findings = values.get("findings", [])
    lines.append("")
    lines.append("Findings:" if findings else "Nothing found that needs your attention.")
    for f in findings:
        lines.append(f"  - {f['problem']}. Fix: {f['fix']}")
    labels = values.get("labels", {})
    suspects = labels.get("suspects", [])
    lines += ["", f"Pictures that may be labelled wrong ({labels.get('num_suspects', 0)}; out-of-fold accuracy "
                  f"{_pct(labels.get('oof_accuracy'))}, {labels.get('folds')} folds):"]
    for s in suspects[:20]:
        lines.append(f"  {s['path']}: labelled '{s['given']}', looks like '{s['suggested']}' "
                     f"({_pct(s.get('confidence'))} sure)")
    groups = values.get("near_duplicates", [])
    lines += ["", f"Near-duplicates ({len(groups)} groups):"]
    for g in groups[:20]:
        members = ", ".join(f"{m['path']} [{m['split']}]" for m in g["members"])
        lines.append(f"  {g['kind']}: {members}")
    outliers = values.get("outliers", {})
    lines += ["", f"Outliers ({outliers.get('num_items', 0)}):"]
    for o in outliers.get("items", [])[:20]:
        lines.append(f"  {o['path']} ({o['label']})")
    rows = values.get("shift", [])
    if rows:
        lines += ["", "Do the other splits look like training?"]
        for r in rows:
            lines.append(f"  {SPLIT_WORDS.get(r['split'], r['split'])} '{r['class_name']}': AUC {r['auc']:.2f} "
                         f"({r['low']:.2f}–{r['high']:.2f}); control {r['control_auc']:.2f}. {r['message']}")
    subjects = values.get("subjects") or {}
    if subjects.get("message"):
        lines += ["", f"Subjects: {subjects['message']}"]
    edits = values.get("edits") or []
    if edits:
        lines += ["", f"Your changes applied ({len(edits)}; files untouched):"]
        lines += [f"  {e['action']} {e['path']}" + (f" -> {e['label']}" if e.get("label") else "") for e in edits]
    if values.get("curve"):
        lines += ["", curve_text(values["curve"])]
    return "\n".join(lines)


def curve_text(curve: dict) -> str:
    """The learning curve: validation accuracy per class against the number of pictures, and the verdicts."""
    if curve.get("skipped"):
        return f"Learning curve: {curve['skipped']}"
    lines = ["Do I need more images? (validation accuracy when the head learns from part of the training pictures)"]
    for c in curve.get("classes", []):
        points = ", ".join(f"{x}: {100 * m:.0f} %" for x, m in zip(c["x"], c["mean"]))
        lines.append(f"  {c['class_name']}: {points}")
        if c.get("message"):
            lines.append(f"    {c['message']}")
    if curve.get("message"):
        lines.append(f"  Overall: {curve['message']}")
    return "\n".join(lines)
