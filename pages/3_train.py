"""Step 3 — Train: start runs (each a tlcore job in its own process) and watch them live."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import ui
from tlcore import TrainConfig, cancel_run, changes_in_words, dataset_name, ensure_standby, events, list_runs, overfitting, start_run

ui.page_header(
    "train",
    "Start training and watch it learn. Training runs **in the background**: you can leave this page, "
    "close the tab or reload — it keeps going, and this page shows it again when you come back. "
    "Start several runs and they wait in a queue, one after another.",
)

ws = ui.workspace()
config = ui.current_config()
dataset = ui.current_dataset(quiet=True)

# --------------------------------------------------------------------------- start
st.header("1 · Start a run", anchor=False)
if dataset is None:
    st.info("Choose your images (or texts) on the **Data** page first.", icon=":material/info:")
    st.page_link(ui.PAGES[0].path, label="Go to Data", icon=":material/photo_library:")
else:
    ui.set_item("text" if dataset.is_text else "picture")
    source = ui.dataset_source()
    if source and config.data != source:
        config = ui.update_config(data=source, data_name=dataset_name(source, ui.dataset_display_name(source)))
    edits = ui.current_edits()  # the changes made on the Data page: this run uses them
    config = ui.current_config()
    st.markdown(config.describe(num_classes=len(ui.class_names(dataset))))
    if changes_in_words(edits):
        st.caption(f"Uses your changes to the {ui.item(True)}: {changes_in_words(edits)} "
                   "(your files are unchanged; the run's settings record the changes).")
    if dataset.report.validation:
        st.caption(f"Validation {ui.item(True)}: {dataset.report.validation}.")
    st.caption("Change any of this on the **Model** page.")
    # A training process warms up (imports TensorFlow) while the user reads this, so that
    # "Start training" shows progress at once. Cheap when one is already waiting.
    ui.call(ensure_standby, what="preparing a training process")
    col_name, col_button = st.columns([3, 1], vertical_alignment="bottom")
    with col_name:
        run_name = st.text_input("Name this run (optional)", key="train_run_name", max_chars=40,
                                 placeholder="e.g. first try, more epochs, fine-tuned…")
    with col_button:
        start = st.button("Start training", type="primary", icon=":material/play_arrow:", width="stretch", key="train_start")
    if start:
        run_dir = ui.call(start_run, config, ws.runs_dir, workspace=ws, name=run_name.strip() or None,
                          warm=True, what="starting the run")
        if run_dir is not None:
            run_id = Path(run_dir).name
            ui.save_state(last_run=run_id)
            st.session_state["train_watch"] = run_id
            ui.flash(f"Run {run_id} started. It keeps going if you leave this page.", ":material/play_circle:")
            st.rerun()

# --------------------------------------------------------------------------- watch
st.header("2 · Progress", anchor=False)
runs = ui.call(list_runs, ws.runs_dir, what="listing your runs") or []
if not runs:
    st.caption("Your runs will appear here once you start one.")
    st.stop()

any_active = any(r.active for r in runs)


def _label(status) -> str:
    config = status.config or {}
    return f"{status.run_id}  —  {ui.backbone_name(config)} · {config.get('mode', '')}"


@st.fragment(run_every=1.0 if any_active else None)
def watch() -> None:
    """Re-drawn every second while something runs; the rest of the page stays as it is."""
    runs = ui.call(list_runs, ws.runs_dir, what="listing your runs") or []
    if not runs:
        return
    by_id = {r.run_id: r for r in runs}
    wanted = st.session_state.get("train_watch")
    if wanted not in by_id:
        last = ui.load_state().get("last_run")
        st.session_state["train_watch"] = last if last in by_id else runs[0].run_id
    run_id = st.selectbox("Show run", list(by_id), key="train_watch", format_func=lambda rid: _label(by_id[rid]))
    status = by_id[run_id]
    run_events = ui.call(status.folder.events, what="reading the run's progress") or []
    try:
        run_config = TrainConfig.from_dict(status.config) if status.config else None
    except Exception:
        run_config = None
    progress = ui.progress_of(run_events, run_config)

    col_badge, col_msg, col_cancel = st.columns([1, 4, 1], vertical_alignment="center")
    with col_badge:
        st.badge(ui.STATUS_WORDS.get(status.status, status.status), icon=ui.STATUS_ICON.get(status.status),
                 color=ui.STATUS_COLOR.get(status.status, "gray"))
    with col_msg:
        if status.active:  # progress.phase words fine-tuning the way every page does
            st.caption(progress.phase or status.stage_message or status.message)
    with col_cancel:
        if status.active and st.button("Cancel", icon=":material/stop_circle:", key=f"cancel_{run_id}", width="stretch",
                                       help="Stops at the next step and keeps the best model so far."):
            if ui.attempt(cancel_run, status.run_dir, what="cancelling the run"):
                st.toast("Cancelling… the run stops at the next step.", icon=":material/stop_circle:")

    st.progress(progress.fraction, text=progress.text)

    rows = ui.epoch_rows(run_events)
    best = max((r["val_accuracy"] for r in rows if r.get("val_accuracy") is not None), default=None)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Epochs done", len(rows))
    if status.accuracy is not None and not status.active:
        # Once the run is over, the figure is the kept model's, the one saved and exported:
        # the best epoch of a stage whose weights were not kept would be a number to distrust.
        m2.metric("Validation accuracy", f"{status.accuracy:.1%}",
                  help=f"Share of the validation {ui.item(True)} (never trained on) the saved model gets right.")
    else:
        m2.metric("Best validation accuracy so far", f"{best:.1%}" if best is not None else "—",
                  help=f"Share of the validation {ui.item(True)} (never trained on) the model gets right.")
    speed_label, speed_value, speed_help = ui.speed_metric(progress)
    m3.metric(speed_label, speed_value, help=speed_help)
    if status.active:
        m4.metric("Time left", ui.format_seconds(progress.seconds_left) if progress.seconds_left is not None else "—")
    else:
        m4.metric("Took", ui.format_seconds(status.seconds) if status.seconds else "—")

    c1, c2 = st.columns(2)
    c1.plotly_chart(ui.curves_figure({run_id: rows}, "loss", "Loss (lower is better)"), width="stretch",
                    key=f"train_loss_{run_id}")
    c2.plotly_chart(ui.curves_figure({run_id: rows}, "accuracy", "Accuracy (higher is better)"), width="stretch",
                    key=f"train_acc_{run_id}")
    if not rows:
        st.caption(f"The curves fill in after the first epoch. *Training* is measured on the {ui.item(True)} it learns "
                   f"from; *validation* on {ui.item(True)} it never saw — watch that one.")
    elif (finding := overfitting(rows)) is not None:
        st.caption(f":material/lightbulb: {finding.problem}. {finding.fix}.")

    verdict = next((ev for ev in reversed(run_events) if ev.get("type") == events.FINE_TUNE_RESULT), None)
    if verdict and verdict.get("message"):  # which weights were kept after fine-tuning, and why
        st.info(str(verdict["message"]), icon=":material/compare_arrows:")
    if status.status == events.FINISHED:
        acc = f" Validation accuracy: **{status.accuracy:.1%}**." if status.accuracy is not None else ""
        st.success(f"Training finished.{acc}", icon=":material/check_circle:")
        st.page_link(ui.PAGE_BY_URL["evaluate"].path, label="See how well it does on the Evaluate page",
                     icon=":material/arrow_forward:", query_params={ui.SESSION_PARAM: ui.session_id()})
    elif status.status == events.FAILED:
        st.error(f"Training failed. {status.message}", icon=":material/error:")
    elif status.status == events.CANCELLED:
        st.warning("This run was cancelled. " + (status.message or "The best model so far was kept."), icon=":material/cancel:")
    elif status.status == events.INTERRUPTED:
        st.warning(status.message or "This run was interrupted.", icon=":material/pause_circle:")

    active = [r for r in runs if r.active]
    if len(active) > 1 or (active and active[0].run_id != run_id):
        st.markdown("**Queue** — runs waiting or training now (one trains at a time):")
        st.dataframe(
            [{"run": r.run_id, "status": ui.STATUS_WORDS.get(r.status, r.status), "backbone": r.config.get("backbone"),
              "mode": r.config.get("mode")} for r in active],
            hide_index=True, width="stretch",
        )
    # When the last active run ends, redraw the whole page once so the polling stops.
    if any_active and not active:
        st.rerun(scope="app")


watch()

ui.next_step("evaluate", "Next: evaluate a finished model")
