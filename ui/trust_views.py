"""The views of "trust your model" on the Evaluate, Predict and Runs pages.

Every number comes with what it means and what to do about it: figures with their 95 %
interval, whether the percentages can be believed (calibration), where the cut-off between
two classes goes (the operating point) and when the model says "I don't know". The numbers
are tlcore's (:mod:`tlcore.trust`); the figures are drawn by :mod:`ui.trust_charts`.
Live figures at a threshold are cached by run folder, file stamps and threshold, so moving a
slider costs one small numpy computation and nothing once seen.
"""

from __future__ import annotations


import streamlit as st

from tlcore import (STRICTNESS, THRESHOLD_RULES as RULES, RunFolder, operating_figures,
                    set_operating_point, threshold_for, unknown_preview, with_interval)

from . import trust_charts
from .calls import attempt, call, plain
from .charts import confusion_figure
from .datasets import file_stamp
from .words import item

EXACT = "manual"  # tlcore's rule for a threshold typed by an expert (no rule behind it)
def _split_title(split: str) -> str:
    return f"{'Validation' if split == 'val' else 'Test'} {item(True)}"
_TARGET_RANGE = (50.0, 99.9)  # percent; TrainConfig.threshold_target allows 0.5–0.999


# --------------------------------------------------------------------------- figures with intervals
def figure_with_interval(value: float | None, ci=None) -> str:
    """``95.4 % (92.2–97.9)``: a share with its 95 % interval (just ``95.4 %`` without one)."""
    return with_interval(value, ci)


def interval_words(value: float | None, ci, what: str, count: int | None) -> str:
    """One sentence saying what an interval means, with its own numbers."""
    if value is None or not ci:
        return ""
    pictures = f"{int(count):,} {item(True)}" if count else f"these {item(True)}"
    return (f"The numbers in brackets are the **95 % interval**: measured on {pictures}, the {what} on new "
            f"{item(True)} like these is most likely between {100 * ci[0]:.1f} % and {100 * ci[1]:.1f} %. "
            f"More {item(True)} make the interval narrower.")


def recall_interval(scores: dict) -> str | None:
    """A class's recall interval for the per-class table (``92.2–97.9 %``), or None."""
    ci = scores.get("recall_ci")
    if not ci or ci[0] is None or ci[1] is None:
        return None
    return f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f} %"


def has_trust_figures(evaluation: dict) -> bool:
    """Whether the run was trained after intervals, calibration and "I don't know" existed."""
    return "accuracy_ci" in evaluation or "calibration" in evaluation or "trust" in evaluation


def old_run_note(evaluation: dict) -> None:
    """Said once on the Evaluate page for runs trained before these figures existed."""
    if not has_trust_figures(evaluation):
        st.info("This run was trained before Transfer Studio measured how far to trust a model: it has no "
                "intervals, no calibration, no threshold choice and no \"I don't know\". **Train it again** "
                "(same settings) to add them.", icon=":material/history:")


# --------------------------------------------------------------------------- calibration
def calibration_section(evaluation: dict, split: str = "val") -> None:
    """"Can you believe the percentages?": ECE before and after, and the reliability diagram of ``split``."""
    calibration = evaluation.get("calibration")
    if not isinstance(calibration, dict):
        st.caption("Not measured for this run (trained before calibration existed).")
        return
    st.caption(
        f"When the model says **80 %**, it should be right about 8 times in 10. Networks trained on few {item(True)} are "
        f"often over-sure, so Transfer Studio corrects the percentages on the validation {item(True)} (*temperature "
        "scaling*: it never changes which class comes first, only how sure the model says it is). "
        "The **calibration error (ECE)** is the average gap between what the model says and how often it is "
        "right: 0 % is perfect. The model you predict with and download gives the corrected percentages."
    )
    prefix = "test_" if split == "test" and calibration.get("test_ece_after") is not None else ""
    before, after = calibration.get(prefix + "ece_before"), calibration.get(prefix + "ece_after")
    c = st.columns(3)
    c[0].metric("Calibration error before", figure_with_interval(before), help="The model's raw percentages.")
    c[1].metric("Calibration error after", figure_with_interval(after),
                delta=f"{100 * (after - before):+.1f} points" if before is not None and after is not None else None,
                delta_color="inverse", help="The corrected percentages: the ones you get.")
    temperature = calibration.get("temperature")
    if temperature is not None:
        c[2].metric("Temperature", f"{float(temperature):.2f}",
                    help="Above 1: the model was over-sure and its percentages were softened. Below 1: it was "
                         "too shy and they were sharpened. 1: no change.")
    if prefix:
        st.caption(f"On the **test {item(True)}**, which played no part in the correction: the honest check.")
    else:
        st.caption(f"On the validation {item(True)}, measured fairly: each half is corrected with a temperature fitted on "
                   "the other half." + (f" Pick the test {item(True)} at the top to see the honest check."
                                        if calibration.get("test_ece_after") is not None else ""))
    if before is not None and after is not None and after > before + 0.005:
        st.caption("Here the correction did not help: the raw percentages were already about right, and with few "
                   f"{item(True)} the correction itself is uncertain. More validation {item(True)} make it reliable.")
    # The legend names the same errors as the figures above (the diagram's own bins may be coarser).
    diagrams = [dict(calibration.get(prefix + "reliability_" + when) or {}, ece=value)
                for when, value in (("before", before), ("after", after))]
    st.plotly_chart(trust_charts.reliability_figure(*diagrams), width="stretch", key="eval_reliability")
    st.caption(f"Each dot is a group of {item(True)} the model answered about equally sure of (bigger dot: more "
               f"{item(True)}). On the dotted line, the percentages mean exactly what they say; below it, the model "
               "is over-sure.")


# --------------------------------------------------------------------------- the operating point
def _stamps(run_path: str) -> tuple[float, ...]:
    """Part of every cache key: a retrained or re-thresholded run is read afresh."""
    folder = RunFolder(run_path)
    return tuple(file_stamp(str(path)) for path in (folder.predictions_path, folder.trust_path, folder.prototypes_path))


@st.cache_data(max_entries=256, show_spinner=False)
def _figures(run_path: str, stamps: tuple, split: str, threshold: float | None) -> dict:
    return operating_figures(run_path, split=split, threshold=threshold)


@st.cache_data(max_entries=256, show_spinner=False)
def _threshold(run_path: str, stamps: tuple, rule: str, target: float) -> float:
    f"""The threshold ``rule`` picks on the run's validation {item(True)}."""
    return threshold_for(run_path, rule, target)


@st.cache_data(max_entries=16, show_spinner=False)
def _predictions(run_path: str, stamps: tuple) -> dict:
    return RunFolder(run_path).predictions() or {}


def saved_trust(run_path: str) -> dict:
    """The run's trust settings (``trust.json``) as a dict; empty for older runs."""
    return call(RunFolder(run_path).trust, what="reading the run's trust settings") or {}


def _rule_options() -> dict[str, tuple[str, str]]:
    """The ways to choose a threshold, as the radio shows them: name -> (label, help)."""
    options = {name: (rule.label, rule.help) for name, rule in RULES.items() if name != EXACT}
    options[EXACT] = ("An exact threshold (for experts)", "Set the cut-off yourself with the slider.")
    return options


def rule_words(rule: str, target: float | None) -> str:
    """How a threshold was chosen, to follow "chosen by"."""
    if rule == "default" or rule not in RULES and rule != EXACT:
        return "the default: the most likely class"
    if rule == "balanced":
        return "the balanced point"
    if rule in ("sensitivity", "specificity"):
        return f"a target {rule} of {100 * float(target or 0.95):.1f} %"
    return "hand (an exact threshold)"


def _init_operating_widgets(run_path: str, trust: dict) -> None:
    """The widgets start at the run's saved choice whenever another run is picked; otherwise they keep
    the user's choice, also behind another rule or on another page (``persist_state="session"``)."""
    if st.session_state.get("_eval_op_run") == run_path:
        return
    rule = trust.get("rule") or "default"
    st.session_state.update({
        "eval_op_rule": rule if rule in _rule_options() else "default",
        "eval_op_target": min(max(100 * float(trust.get("target") or 0.95), _TARGET_RANGE[0]), _TARGET_RANGE[1]),
        "eval_op_exact": round(float(trust["threshold"]) if trust.get("threshold") is not None else 0.5, 3),
        "eval_op_strictness": trust.get("strictness") if trust.get("strictness") in STRICTNESS else "normal",
        "_eval_op_run": run_path,
    })


def _counts_sentence(figures: dict, classes: list[str]) -> str:
    """The confusion matrix in words: what a radiologist wants to know first."""
    (tn, fp), (fn, tp) = figures["confusion_matrix"]
    negative, positive = (plain(c) for c in classes)
    return (f"Of **{tp + fn}** {positive} {item(True)} it finds **{tp}** and misses **{fn}**; "
            f"of **{tn + fp}** {negative} {item(True)} it wrongly calls **{fp}** {positive}.")


def _split_figures(figures: dict, classes: list[str], split: str) -> None:
    """One split at the chosen threshold: matrix, counts in words, figures with intervals."""
    if split == "val":
        st.markdown(f"**Validation {item(True)}** — the threshold was chosen on these, so they flatter it a little.")
    else:
        st.markdown(f"**Test {item(True)}** — never used to choose anything: these are the honest figures.")
    st.plotly_chart(confusion_figure(figures["confusion_matrix"], classes, False), width="stretch",
                    key=f"eval_op_cm_{split}")
    st.markdown(_counts_sentence(figures, classes))
    positive, negative = (plain(c) for c in (classes[1], classes[0]))
    rows = [("Sensitivity", f"share of {positive} {item(True)} found", "sensitivity"),
            ("Specificity", f"share of {negative} {item(True)} left out", "specificity"),
            ("Accuracy", f"share of all {item(True)} right", "accuracy")]
    st.markdown("| At this threshold | Value (95 % interval) |\n|---|---|\n" + "\n".join(
        f"| **{name}** — {what} | {figure_with_interval(figures.get(key), figures.get(key + '_ci'))} |"
        for name, what, key in rows))


def operating_point_section(run_path: str, evaluation: dict) -> None:
    """Two classes: pick the threshold by a rule, see every figure at it live, and keep it."""
    classes = [str(c) for c in evaluation.get("classes") or []]
    stamps = _stamps(run_path)
    trust = saved_trust(run_path)
    if not trust or not _predictions(run_path, stamps).get("val"):
        st.caption("Not available for this run (trained before thresholds could be chosen). Train it again to "
                   "choose one.")
        return
    negative, positive = classes[0], classes[1]
    st.caption(
        f"The model gives each {item()} a probability of **{plain(positive)}**. Above a cut-off (the *threshold*) "
        f"the {item()} is called {plain(positive)}, below it {plain(negative)}. A low threshold misses fewer "
        f"{plain(positive)} {item(True)} but raises more false alarms; a high one the other way round. Choose what "
        "matters for your use, and see every figure change."
    )
    _init_operating_widgets(run_path, trust)
    options = _rule_options()
    col_rule, col_value = st.columns([1, 1])
    with col_rule:
        rule = st.radio("Choose the threshold by", list(options), format_func=lambda r: options[r][0],
                        key="eval_op_rule", captions=[help_text for _, help_text in options.values()],
                        persist_state="session")
    with col_value:
        target = None
        if rule == EXACT:
            threshold = st.slider("Threshold", 0.0, 1.0, step=0.005, format="%.3f", key="eval_op_exact",
                                  persist_state="session",
                                  help=f"A {item()} is called {positive} when its probability of {positive} is at "
                                       "least this.")
        else:
            if RULES[rule].uses_target:
                what = "sensitivity" if rule == "sensitivity" else "specificity"
                target = st.slider(f"Target {what} (%)", *_TARGET_RANGE, step=0.5, format="%.1f %%",
                                   key="eval_op_target", persist_state="session",
                                   help=f"The share of {positive if rule == 'sensitivity' else negative} {item(True)} "
                                        f"among the validation {item(True)} it must get right.") / 100
            threshold = call(_threshold, run_path, stamps, rule, target or 0.95, what="choosing the threshold")
            if threshold is None:
                return
        threshold = round(float(threshold), 6)
        st.markdown(f"### Threshold {threshold:.3f}")
        st.caption(f"A {item()} is called **{plain(positive)}** when the model gives {plain(positive)} "
                   f"**{100 * threshold:.1f} %** or more.")
        saved = float(trust["threshold"]) if trust.get("threshold") is not None else 0.5
        st.caption(f"Saved with the run now: **{saved:.3f}**, chosen by "
                   f"{rule_words(trust.get('rule') or 'default', trust.get('target'))}.")
        same = abs(saved - threshold) < 5e-7 and rule == (trust.get("rule") or "default") and (
            target is None or abs(target - float(trust.get("target") or 0.95)) < 1e-9)
        if st.button("Use this threshold", type="primary", icon=":material/done:", key="eval_op_use", disabled=same):
            _use_threshold(run_path, rule, target, threshold, positive)
        message = st.session_state.get("_eval_op_saved")
        if message and message[0] == run_path:
            st.success(message[1], icon=":material/check_circle:")

    splits = [s for s in ("val", "test") if _predictions(run_path, stamps).get(s)]
    figures = {s: call(_figures, run_path, stamps, s, threshold, what="computing the figures at this threshold")
               for s in splits}
    if not all(figures.values()):
        return
    cols = st.columns(len(splits))
    for col, split in zip(cols, splits):
        with col:
            _split_figures(figures[split], classes, split)
    if "test" not in splits:
        st.caption("This dataset has no test folder, so only the validation figures exist; they flatter the "
                   "threshold a little because it was chosen on them.")
    val = figures["val"]
    curves = val.get("curves") or {}
    if curves.get("roc") and curves.get("pr"):
        c1, c2 = st.columns(2)
        c1.plotly_chart(trust_charts.roc_figure(curves["roc"], val, classes), width="stretch", key="eval_roc")
        c2.plotly_chart(trust_charts.precision_recall_figure(curves["pr"], val, classes), width="stretch",
                        key="eval_pr")
        st.caption(f"Both curves are on the validation {item(True)}; the red cross is the threshold above. **AUC** is the "
                   "area under a curve: 1.0 is a perfect model, 0.5 a coin toss (for ROC).")


def _use_threshold(run_path: str, rule: str, target: float | None, threshold: float, positive: str) -> None:
    if rule == EXACT:
        kept = call(set_operating_point, run_path, threshold=threshold, what="saving the threshold")
    else:
        kept = call(set_operating_point, run_path, rule=rule, target=target, what="saving the threshold")
    if kept is None:
        return
    cut = kept.cut
    message = (f"Saved: threshold **{cut:.3f}**. From now on a {item()} is called {plain(positive)} at "
               f"{100 * cut:.1f} % or more — on the Predict page, on these pages, in `tlcore predict` and in every "
               "model you download (make the downloads again on the Runs page if you made them before).")
    st.session_state["_eval_op_saved"] = (run_path, message)
    st.rerun()


# --------------------------------------------------------------------------- "I don't know"
def unknown_words(share: dict | None, split: str) -> str:
    if not share or share.get("share") is None:
        return ""
    count, total = int(share.get("count", 0)), share.get("num_images")
    of = f" ({count:,} of {int(total):,})" if total else f" ({count:,})"
    text = f"{_split_title(split)}: **{100 * float(share['share']):.1f} %**{of} answered “I don't know”."
    if share.get("unlike") or share.get("unsure"):
        text += (f" {int(share.get('unlike') or 0):,} look unlike the training {item(True)}, "
                 f"{int(share.get('unsure') or 0):,} leave it unsure between classes.")
    if share.get("accuracy_known") is not None:
        text += f" On the others it is right {100 * float(share['accuracy_known']):.1f} % of the time."
    return text


@st.cache_data(max_entries=32, show_spinner=False)
def _unknown_preview(run_path: str, stamps: tuple, strictness: str) -> dict:
    return unknown_preview(run_path, strictness)


def _unknown_share(run_path: str, stamps: tuple, strictness: str, split: str) -> dict | None:
    """The "I don't know" figures of ``split`` if the run had ``strictness`` (nothing is saved;
    one preview, cached, serves every split)."""
    return _unknown_preview(run_path, stamps, strictness).get(split)


def unknown_section(run_path: str, evaluation: dict) -> None:
    f"""How readily the model says "I don't know", the share of {item(True)} it would say it for, and keeping it."""
    trust = saved_trust(run_path)
    if not trust:
        st.caption("Not available for this run (trained before the model could say \"I don't know\"). Train it "
                   "again to add it.")
        return
    st.caption(
        "A model always picks one of its classes, even for a photo of something it never saw. Transfer Studio "
        f"lets it answer **“I don't know”** instead when a {item()} looks unlike every training {item()}, or when it "
        f"is torn between classes. Stricter means fewer wrong answers but more {item(True)} left to you."
    )
    stamps = _stamps(run_path)
    _init_operating_widgets(run_path, trust)
    col_pick, col_result = st.columns([1, 1])
    with col_pick:
        strictness = st.radio("How readily should it say “I don't know”?", list(STRICTNESS),
                              format_func=lambda s: STRICTNESS[s].label, key="eval_op_strictness",
                              persist_state="session",
                              captions=[STRICTNESS[s].help for s in STRICTNESS])
    with col_result:
        splits = [s for s in ("val", "test") if _predictions(run_path, stamps).get(s)]
        for split in splits:
            share = call(_unknown_share, run_path, stamps, strictness, split, what="counting the unknown answers")
            if share:
                st.markdown(unknown_words(share, split))
        saved = trust.get("strictness") or "normal"
        saved_word = STRICTNESS[saved].label.lower() if saved in STRICTNESS else saved
        st.caption(f"Saved with the run now: **{saved_word}**.")
        if st.button("Use this strictness", type="primary", icon=":material/done:", key="eval_unknown_use",
                     disabled=strictness == saved):
            _use_strictness(run_path, strictness)
        message = st.session_state.get("_eval_unknown_saved")
        if message and message[0] == run_path:
            st.success(message[1], icon=":material/check_circle:")


def _use_strictness(run_path: str, strictness: str) -> None:
    if attempt(set_operating_point, run_path, strictness=strictness, what="saving the strictness"):
        message = (f"Saved: **{STRICTNESS[strictness].label.lower()}**. The Predict page, `tlcore predict` and every "
                   "model you download from now on use it.")
        st.session_state["_eval_unknown_saved"] = (run_path, message)
        st.rerun()


# --------------------------------------------------------------------------- the Runs page
TRUST_COLUMNS = {  # the Runs page's columns of trust_row, and what each one means
    "accuracy (95 % interval)": f"Validation accuracy, and where the accuracy on new {item(True)} most likely lies.",
    "test accuracy (95 % interval)": f"The same on the test {item(True)}, which played no part in training.",
    "calibration error": "The average gap between the percentages the model says and how often it is right, "
                         "after calibration (0 % is perfect).",
    "threshold": f"Two classes: the probability of the second class from which a {item()} is given that class.",
    "“I don't know”": f"The share of validation {item(True)} it declines to answer, at the run's strictness.",
}


def trust_row(evaluation: dict | None) -> dict:
    """A run's trust figures for the Runs page's comparison (only the ones the run has)."""
    evaluation = evaluation or {}
    row: dict = {}
    if evaluation.get("accuracy") is not None and evaluation.get("accuracy_ci"):
        row["accuracy (95 % interval)"] = figure_with_interval(evaluation["accuracy"], evaluation["accuracy_ci"])
    test = evaluation.get("test") if isinstance(evaluation.get("test"), dict) else {}
    if test.get("accuracy") is not None and test.get("accuracy_ci"):
        row["test accuracy (95 % interval)"] = figure_with_interval(test["accuracy"], test["accuracy_ci"])
    calibration = evaluation.get("calibration") or {}
    if calibration.get("ece_after") is not None:
        row["calibration error"] = f"{100 * float(calibration['ece_after']):.1f} %"
    point = evaluation.get("operating_point") or {}
    if point.get("threshold") is not None:
        how = rule_words(point.get("rule") or "default", point.get("target"))
        row["threshold"] = f"{float(point['threshold']):.3f}, by {how}"
    unknown = evaluation.get("unknown") or {}
    if unknown.get("share") is not None:
        strictness = (evaluation.get("trust") or {}).get("strictness")
        word = f" ({STRICTNESS[strictness].label.lower()})" if strictness in STRICTNESS else ""
        row["“I don't know”"] = f"{100 * float(unknown['share']):.1f} %{word}"
    return row


__all__ = ["EXACT", "TRUST_COLUMNS", "calibration_section", "figure_with_interval",
           "has_trust_figures", "interval_words", "old_run_note", "operating_point_section", "recall_interval",
           "rule_words", "saved_trust", "trust_row", "unknown_section", "unknown_words"]
