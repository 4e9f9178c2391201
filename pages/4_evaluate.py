"""Step 4 — Evaluate: accuracy with its interval, confusion matrix, per-class scores, the pictures it got wrong
(and where it looked), whether its percentages can be believed, the threshold and "I don't know"."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import ui
from tlcore import evaluate_run

ui.page_header(
    "evaluate",
    "See how well a trained model does on pictures (or texts) it **never trained on** (the validation split), "
    "which classes it mixes up, the ones it got wrong, and **how far to trust it**: how sure each figure is, "
    "whether its percentages can be believed, where the cut-off goes and when it should say “I don't know”.",
)

run_id = ui.pick_finished_run("eval_run")
if run_id is None:
    st.stop()


@st.cache_data(max_entries=16, show_spinner="Loading the evaluation…")
def _evaluation(run_path: str, stamp: float) -> dict:
    return evaluate_run(run_path)


run = ui.run_folder(run_id)
is_text = ui.is_text_run_folder(str(run.path))  # a text run: its mistakes are sentences, no heatmaps
ui.set_item("text" if is_text else "picture")  # the shared views say "texts" or "pictures"
items = "texts" if is_text else "pictures"
evaluation = ui.call(_evaluation, str(run.path), ui.file_stamp(str(run.evaluation_path)),
                     what="loading the evaluation")
if not evaluation:
    st.stop()

splits = {"val": evaluation}
if isinstance(evaluation.get("test"), dict):
    splits["test"] = evaluation["test"]
split_words = {"val": f"Validation {items}", "test": f"Test {items} (kept aside, never used while training)"}
split = "val"
if len(splits) > 1:
    split = st.segmented_control(f"Which {items}", list(splits), format_func=split_words.get, default="val",
                                 key="eval_split") or "val"
result = splits[split]
classes = [str(c) for c in result.get("classes", [])]
matrix = result.get("confusion_matrix") or []

# --------------------------------------------------------------------------- headline
st.header("1 · Overall", anchor=False)
num_images = result.get("num_images", sum(map(sum, matrix)) if matrix else 0)
m = st.columns([2, 1, 1, 1])
m[0].metric("Accuracy", ui.figure_with_interval(result.get("accuracy", 0), result.get("accuracy_ci")),
            help=f"Share of the {items} the model labels correctly, with its 95 % interval in brackets.")
m[1].metric(f"{items.capitalize()} checked", num_images)
m[2].metric("Balanced F1", f"{result.get('macro_f1', 0):.2f}",
            help="The average over classes of F1 (a mix of precision and recall; 1 is perfect). "
            "Unlike accuracy, a small class counts as much as a big one.")
chance = 1 / len(classes) if classes else 0
m[3].metric("Guessing would get", f"{chance:.0%}", help="Accuracy of picking a class at random, for comparison.")
if "sensitivity" in result:
    positive = result.get("positive_class")
    c1, c2 = st.columns(2)
    c1.metric(f"Sensitivity for “{positive}”", ui.figure_with_interval(result["sensitivity"], result.get("sensitivity_ci")),
              help=f"Of the {items} that really are {positive}, the share the model finds.")
    c2.metric("Specificity", ui.figure_with_interval(result["specificity"], result.get("specificity_ci")),
              help=f"Of the {items} that are not {positive}, the share the model correctly leaves out.")
    if result.get("threshold") is not None:
        st.caption(f"At the run's threshold {float(result['threshold']):.3f}: a {items[:-1]} is called **{ui.plain(positive)}** "
                   f"when the model gives it {100 * float(result['threshold']):.1f} % or more (section 6 changes it).")
if result.get("accuracy_ci"):
    st.caption(ui.interval_words(result.get("accuracy"), result.get("accuracy_ci"), "accuracy", num_images))
ui.old_run_note(evaluation)

if not is_text:  # the data check (shifted or leaking pictures) looks at pictures only
    ui.score_warnings(getattr(ui.run_config(run_id), "data", None), split)
if (evaluation.get("fine_tune") or {}).get("message"):  # which weights these figures are of, and why
    st.info(str(evaluation["fine_tune"]["message"]), icon=":material/compare_arrows:")
if evaluation.get("from_scratch"):
    st.caption("Random start: every layer was trained from scratch on your pictures (no transfer learning).")

# --------------------------------------------------------------------------- confusion matrix
st.header("2 · Which classes get mixed up", anchor=False)
st.caption(
    "Each row is the **true** class, each column what the model **predicted**. The diagonal holds the correct answers. "
    f"**Click a cell** to see those {items} below."
)
normalized = st.toggle("Show as share of each true class (%)", value=False, key="eval_normalized")


any_label = "any class"
for key in ("eval_true", "eval_pred"):  # the filters of section 4; a click on a cell sets them
    if st.session_state.get(key) not in [any_label, *classes]:
        st.session_state[key] = any_label


def _clicked_cell(points: list[dict]) -> tuple[str, str] | None:
    """(true, predicted) of the clicked marker, from its customdata (or its x/y)."""
    if not points:
        return None
    data = points[0].get("customdata")
    if isinstance(data, (list, tuple)) and len(data) == 2:
        return str(data[0]), str(data[1])
    if points[0].get("x") is not None and points[0].get("y") is not None:
        return str(points[0]["y"]), str(points[0]["x"])
    return None


# The filters below are the one truth about which cell is chosen; the chart only reports clicks.
# Each click is read once and then the chart starts afresh under a new key, so the next click,
# on the same cell too (say after "Show all"), is a new selection that Streamlit reports.
chart_key = f"eval_cm_{run_id}_{split}_{st.session_state.get('_eval_cm_clicks', 0)}"


def _on_cell_click() -> None:
    selection = (st.session_state.get(chart_key) or {}).get("selection") or {}
    cell = _clicked_cell(list(selection.get("points") or []))
    if cell and cell[0] in classes and cell[1] in classes:
        st.session_state["eval_true"], st.session_state["eval_pred"] = cell
    st.session_state["_eval_cm_clicks"] = st.session_state.get("_eval_cm_clicks", 0) + 1


if matrix and classes:
    chosen = tuple(None if st.session_state[k] == any_label else st.session_state[k] for k in ("eval_true", "eval_pred"))
    st.plotly_chart(ui.confusion_figure(matrix, classes, normalized, chosen), width="stretch", key=chart_key,
                    on_select=_on_cell_click, selection_mode="points")

# --------------------------------------------------------------------------- per class
st.header("3 · Scores per class", anchor=False)
st.caption(
    "**Precision:** when the model says this class, how often it is right. "
    f"**Recall:** of the {items} of this class, how many it finds. **F1** combines both. **Support:** how many {items}."
)
report = result.get("report") or {}
with_ci = any(scores.get("recall_ci") for scores in report.values())
if with_ci:
    st.caption(f"**Recall, 95 % interval:** where the recall on new {items} of that class most likely lies; "
               f"a class with few {items} has a wide one.")
st.dataframe(
    [{"class": name, **{k: v for k, v in scores.items() if k in ("precision", "recall", "f1", "support")},
      **({"recall interval": ui.recall_interval(scores)} if with_ci else {})}
     for name, scores in report.items()],
    hide_index=True,
    width="stretch",
    column_config={
        "precision": st.column_config.ProgressColumn("precision", min_value=0.0, max_value=1.0, format="percent"),
        "recall": st.column_config.ProgressColumn("recall", min_value=0.0, max_value=1.0, format="percent"),
        "recall interval": st.column_config.TextColumn("recall, 95 % interval"),
        "f1": st.column_config.ProgressColumn("F1", min_value=0.0, max_value=1.0, format="%.2f"),
        "support": st.column_config.NumberColumn("support"),
    },
    column_order=["class", "precision", "recall", *(["recall interval"] if with_ci else []), "f1", "support"],
    key="eval_report",
)

# --------------------------------------------------------------------------- mistakes
st.header(f"4 · {items.capitalize()} it got wrong", anchor=False)
mistakes = list(result.get("misclassified") or [])
col_t, col_p, col_n = st.columns([2, 2, 1], vertical_alignment="bottom")
with col_t:
    true_filter = st.selectbox("True class", [any_label, *classes], key="eval_true")
with col_p:
    pred_filter = st.selectbox("Predicted as", [any_label, *classes], key="eval_pred")


def _clear_filters() -> None:
    st.session_state["eval_true"] = st.session_state["eval_pred"] = any_label


with col_n:
    st.button("Show all", icon=":material/filter_alt_off:", key="eval_clear", on_click=_clear_filters)
shown = [
    mk for mk in mistakes
    if (true_filter == any_label or mk.get("true") == true_filter)
    and (pred_filter == any_label or mk.get("predicted") == pred_filter)
]
if not mistakes:
    st.success(f"The model got every {items[:-1]} right.", icon=":material/check_circle:")
elif true_filter != any_label and true_filter == pred_filter:
    st.info(f"That cell holds the {items} the model got right. Pick a cell off the diagonal to see mistakes.")
elif not shown:
    st.info("No mistakes of this kind.")
elif is_text:
    ui.mistakes_table(shown, ui.run_texts(str(run.path)))
else:
    looks = st.toggle("Show where the model looks", key="eval_heatmaps",
                      help="Colours the parts of each picture that made the model answer what it did (Grad-CAM).")
    limit = 12 if looks else 24  # a heatmap costs a pass through the network: fewer at a time
    st.caption(f"{len(shown)} picture(s), most confident mistakes first."
               + (" Red marks where the model looked to answer the wrong class: on the background instead of "
                  "the object, it may have learned a shortcut." if looks else ""))
    model_stamp = ui.file_stamp(str(run.model_path))
    cols = st.columns(6)
    for i, mk in enumerate(shown[:limit]):
        with cols[i % 6]:
            path = str(mk.get("path"))
            picture = ui.thumbnail(path, 200, ui.file_stamp(path))
            if picture is not None and looks:  # the overlay for the class it wrongly answered
                overlay = ui.heatmap_overlay(str(run.path), model_stamp, Path(path).read_bytes(), Path(path).name,
                                             str(mk.get("predicted")))
                picture = picture if overlay is None else overlay
            if picture is not None:
                st.image(picture, width="stretch")
            else:
                st.caption("(picture no longer on disk)")
            st.markdown(
                f"true **{mk.get('true')}**  \npredicted **{mk.get('predicted')}** ({float(mk.get('confidence', 0)):.0%})"
            )
    if len(shown) > limit:
        st.caption(f"…and {len(shown) - limit} more.")

# --------------------------------------------------------------------------- trust
section = 5
st.header(f"{section} · Can you believe the percentages?", anchor=False)
ui.calibration_section(evaluation, split)
if len(classes) == 2:
    section += 1
    st.header(f"{section} · Where the cut-off goes", anchor=False)
    ui.operating_point_section(str(run.path), evaluation)
section += 1
st.header(f"{section} · When it should say “I don't know”", anchor=False)
ui.unknown_section(str(run.path), evaluation)

ui.next_step("predict", f"Next: try the model on new {items}")
