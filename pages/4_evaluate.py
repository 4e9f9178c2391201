"""Step 4 — Evaluate: accuracy, confusion matrix, per-class scores and the pictures it got wrong."""

from __future__ import annotations

import streamlit as st

import ui
from tlcore import evaluate_run

ui.page_header(
    "evaluate",
    "See how well a trained model does on pictures it **never trained on** (the validation images), "
    "which classes it mixes up, and the pictures it got wrong.",
)

run_id = ui.pick_finished_run("eval_run")
if run_id is None:
    st.stop()


@st.cache_data(max_entries=16, show_spinner="Loading the evaluation…")
def _evaluation(run_path: str, stamp: float) -> dict:
    return evaluate_run(run_path)


run = ui.run_folder(run_id)
evaluation = ui.call(_evaluation, str(run.path), ui.file_stamp(str(run.evaluation_path)),
                     what="loading the evaluation")
if not evaluation:
    st.stop()

splits = {"val": evaluation}
if isinstance(evaluation.get("test"), dict):
    splits["test"] = evaluation["test"]
split_words = {"val": "Validation images", "test": "Test images (kept aside, never used while training)"}
split = "val"
if len(splits) > 1:
    split = st.segmented_control("Which pictures", list(splits), format_func=split_words.get, default="val",
                                 key="eval_split") or "val"
result = splits[split]
classes = [str(c) for c in result.get("classes", [])]
matrix = result.get("confusion_matrix") or []

# --------------------------------------------------------------------------- headline
st.header("1 · Overall", anchor=False)
m = st.columns(4)
m[0].metric("Accuracy", f"{result.get('accuracy', 0):.1%}", help="Share of the pictures the model labels correctly.")
m[1].metric("Pictures checked", result.get("num_images", sum(map(sum, matrix)) if matrix else 0))
m[2].metric("Balanced F1", f"{result.get('macro_f1', 0):.2f}",
            help="The average over classes of F1 (a mix of precision and recall; 1 is perfect). "
            "Unlike accuracy, a small class counts as much as a big one.")
chance = 1 / len(classes) if classes else 0
m[3].metric("Guessing would get", f"{chance:.0%}", help="Accuracy of picking a class at random, for comparison.")
if "sensitivity" in result:
    c1, c2 = st.columns(2)
    c1.metric(f"Sensitivity for “{result.get('positive_class')}”", f"{result['sensitivity']:.1%}",
              help=f"Of the pictures that really are {result.get('positive_class')}, the share the model finds.")
    c2.metric("Specificity", f"{result['specificity']:.1%}",
              help=f"Of the pictures that are not {result.get('positive_class')}, the share the model correctly leaves out.")

ui.score_warnings(getattr(ui.run_config(run_id), "data", None), split)  # shifted or leaking pictures, from the data check
if (evaluation.get("fine_tune") or {}).get("message"):  # which weights these figures are of, and why
    st.info(str(evaluation["fine_tune"]["message"]), icon=":material/compare_arrows:")
if evaluation.get("from_scratch"):
    st.caption("Random start: every layer was trained from scratch on your pictures (no transfer learning).")

# --------------------------------------------------------------------------- confusion matrix
st.header("2 · Which classes get mixed up", anchor=False)
st.caption(
    "Each row is the **true** class, each column what the model **predicted**. The diagonal holds the correct answers. "
    "**Click a cell** to see those pictures below."
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
    "**Recall:** of the pictures of this class, how many it finds. **F1** combines both. **Support:** how many pictures."
)
report = result.get("report") or {}
st.dataframe(
    [{"class": name, **{k: v for k, v in scores.items() if k in ("precision", "recall", "f1", "support")}}
     for name, scores in report.items()],
    hide_index=True,
    width="stretch",
    column_config={
        "precision": st.column_config.ProgressColumn("precision", min_value=0.0, max_value=1.0, format="percent"),
        "recall": st.column_config.ProgressColumn("recall", min_value=0.0, max_value=1.0, format="percent"),
        "f1": st.column_config.ProgressColumn("F1", min_value=0.0, max_value=1.0, format="%.2f"),
        "support": st.column_config.NumberColumn("support"),
    },
    key="eval_report",
)

# --------------------------------------------------------------------------- mistakes
st.header("4 · Pictures it got wrong", anchor=False)
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
    st.success("The model got every picture right.", icon=":material/check_circle:")
elif true_filter != any_label and true_filter == pred_filter:
    st.info("That cell holds the pictures the model got right. Pick a cell off the diagonal to see mistakes.")
elif not shown:
    st.info("No mistakes of this kind.")
else:
    st.caption(f"{len(shown)} picture(s), most confident mistakes first.")
    limit = 24
    cols = st.columns(6)
    for i, mk in enumerate(shown[:limit]):
        with cols[i % 6]:
            thumb = ui.thumbnail(str(mk.get("path")), 200, ui.file_stamp(str(mk.get("path"))))
            if thumb is not None:
                st.image(thumb, width="stretch")
            else:
                st.caption("(picture no longer on disk)")
            st.markdown(
                f"true **{mk.get('true')}**  \npredicted **{mk.get('predicted')}** ({float(mk.get('confidence', 0)):.0%})"
            )
    if len(shown) > limit:
        st.caption(f"…and {len(shown) - limit} more.")

ui.next_step("predict", "Next: try the model on new pictures")
