"""Step 6 — Runs & export: compare every run, overlay curves, download the finished models."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

import ui
from tlcore import (DOWNLOADS, EXPORT_FORMATS, ExportFormat, events, export_accuracy, export_status, list_runs,
                    shareable_run_config, start_export, text_model_zip)

ui.page_header(
    "runs",
    "Compare all your runs side by side, overlay their learning curves, and **download** a trained model "
    "to use in other programs.",
)

ws = ui.workspace()
runs = ui.call(list_runs, ws.runs_dir, what="listing your runs") or []
if not runs:
    st.info("No runs yet. Train a model on the **Train** page first.", icon=":material/info:")
    st.page_link(ui.PAGE_BY_URL["train"].path, label="Go to Train", icon=":material/play_circle:")
    st.stop()

# --------------------------------------------------------------------------- table
st.header("1 · All runs", anchor=False)
st.caption("Tick runs in the first column to overlay their curves below.")


def _best_val(run_events: list[dict]) -> float | None:
    values = [r["val_accuracy"] for r in ui.epoch_rows(run_events) if r.get("val_accuracy") is not None]
    return max(values) if values else None


events_by_run = {r.run_id: (ui.call(r.folder.events) or []) for r in runs}
STATUS_SHORT = {**ui.STATUS_WORDS, events.INTERRUPTED: "Interrupted"}  # the long story is on the Train page
MODE_SHORT = {"feature-extraction": "feature extraction", "fine-tune": "fine-tuning"}
# Few, narrow columns so the table fits the page without a sideways scroll; every other
# setting is in "All settings of each run" below.
table, settings = [], []
for r in runs:
    c = r.config or {}
    rows = ui.epoch_rows(events_by_run[r.run_id])
    table.append({
        "run": r.run_id,
        "status": STATUS_SHORT.get(r.status, r.status),
        "accuracy": r.accuracy if r.accuracy is not None else _best_val(events_by_run[r.run_id]),
        "test accuracy": r.test_accuracy,
        "backbone": ui.backbone_name(c),
        "mode": MODE_SHORT.get(c.get("mode"), c.get("mode")),
        "epochs": len(rows),
        "time": ui.format_seconds(r.seconds) if r.seconds else "—",
    })
    settings.append({
        "run": r.run_id,
        "layer": c.get("layer") or "(recommended)",
        "weights": c.get("weights"),
        "image size": c.get("image_size") or "native",
        "batch": c.get("batch_size"),
        "learning rate": c.get("learning_rate"),
        "fine-tuning": (ui.fine_tune_words(c.get("fine_tune_layers", 0)) + f", rate {c.get('fine_tune_learning_rate'):g}"
                        if c.get("mode") == "fine-tune" and c.get("fine_tune_learning_rate") is not None else "—"),
        "augment": bool(c.get("augment")),
        "features": ui.features_source(c, events_by_run[r.run_id]),
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)) if r.started else "—",
    })
if all(row["test accuracy"] is None for row in table):  # no test/ folder: no empty column
    for row in table:
        row.pop("test accuracy")
finished_rows = [i for i, r in enumerate(runs) if r.status == events.FINISHED][:2]
event = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="multi-row",
    selection_default={"selection": {"rows": finished_rows}} if finished_rows else None,
    key="runs_table",
    column_config={
        "run": st.column_config.TextColumn("run", width="medium"),
        "status": st.column_config.TextColumn("status", width="small"),
        "accuracy": st.column_config.ProgressColumn("accuracy", min_value=0.0, max_value=1.0, format="percent",
                                                    width="small", help="Validation accuracy (best epoch while running)."),
        "test accuracy": st.column_config.ProgressColumn("test accuracy", min_value=0.0, max_value=1.0,
                                                         format="percent", width="small"),
        "backbone": st.column_config.TextColumn("backbone", width="small"),
        "mode": st.column_config.TextColumn("mode", width="small"),
        "epochs": st.column_config.NumberColumn("epochs", width="small", help="Epochs trained, both stages together."),
        "time": st.column_config.TextColumn("time", width="small"),
    },
)
with st.expander("All settings of each run", icon=":material/tune:"):
    st.dataframe(
        settings, hide_index=True, width="stretch", key="runs_settings",
        column_config={"learning rate": st.column_config.NumberColumn("learning rate", format="%g"),
                       "augment": st.column_config.CheckboxColumn("augment")},
    )
selected = [runs[i].run_id for i in (event.selection.rows if event is not None else []) if i < len(runs)]

# How far to trust each selected run: only the figures its training measured (older runs have none).
folders = {r.run_id: r.folder for r in runs}
trust_rows = [{"run": rid, **ui.trust_row(ui.call(folders[rid].evaluation, what="reading the evaluation"))}
              for rid in selected]
trust_columns = [c for c in dict.fromkeys(k for row in trust_rows for k in row) if c != "run"]
if trust_columns:
    st.markdown("**How far to trust the selected runs**")
    st.dataframe([{c: row.get(c, "—") for c in ["run", *trust_columns]} for row in trust_rows], hide_index=True,
                 width="stretch", key="runs_trust",
                 column_config={c: st.column_config.TextColumn(c, help=ui.TRUST_COLUMNS.get(c)) for c in trust_columns})
    st.caption("Point at a column's name for what it means. Overlapping intervals mean the runs may be equally "
               "good. — : the run was trained before that figure existed.")

# --------------------------------------------------------------------------- curves
st.header("2 · Learning curves", anchor=False)
if not selected:
    st.caption("Select one or more runs in the table to see their curves here.")
else:
    if len(selected) > 4:
        st.caption("Showing the first four selected runs.")
    series = {rid: ui.epoch_rows(events_by_run[rid]) for rid in selected[:4]}
    c1, c2 = st.columns(2)
    c1.plotly_chart(ui.curves_figure(series, "loss", "Loss (lower is better)"), width="stretch", key="runs_loss")
    c2.plotly_chart(ui.curves_figure(series, "accuracy", "Accuracy (higher is better)"), width="stretch", key="runs_acc")
    if len(series) > 1:
        st.caption("One colour per run. Solid lines: training pictures; dotted lines: validation pictures (the ones that count).")

# --------------------------------------------------------------------------- export
st.header("3 · Download a model", anchor=False)
exportable = [r for r in runs if r.folder.has_model and not r.active]
if not exportable:
    st.info("No trained model yet. Once a run finishes, its model can be downloaded here.")
    st.stop()
ids = [r.run_id for r in exportable]
last = ui.load_state().get("last_run")
if st.session_state.get("runs_export") not in ids:
    st.session_state["runs_export"] = selected[0] if selected and selected[0] in ids else (last if last in ids else ids[0])
run_labels = {rid: ui.run_label(rid) for rid in ids}
run_id = st.selectbox("Run", ids, key="runs_export", format_func=run_labels.__getitem__)
run = ui.run_folder(run_id)


def _download(entry: ExportFormat, path: Path, key: str, help_text: str | None = None, data=None) -> None:
    """A download button for one entry of tlcore's table of downloads (its label, help and type)."""
    st.download_button(
        entry.label, data=data or (lambda p=path: p.read_bytes()), file_name=f"{run_id}-{path.name}",
        mime=entry.mime, key=key, help=help_text or entry.help, icon=":material/download:", on_click="ignore",
        width="stretch",
    )


is_text = ui.is_text_run_folder(str(run.path))  # a text model comes with its tokenizer; fewer formats fit it
ui.set_item("text" if is_text else "picture")
st.markdown("**Ready now**")
c1, c2, c3 = st.columns(3)
with c1:
    if is_text:  # model.keras takes token arrays: it goes with its tokenizer/
        _download(DOWNLOADS["keras-text-zip"], run.path / DOWNLOADS["keras-text-zip"].file_name, "dl_keras",
                  data=lambda: text_model_zip(run.path))
    else:
        _download(EXPORT_FORMATS["keras"], run.model_path, "dl_keras")
with c2:
    if run.labels_path.is_file():
        _download(DOWNLOADS["labels"], run.labels_path, "dl_labels")
with c3:
    # The shared copy names the dataset, not this server's folders (which hold the workspace code).
    _download(DOWNLOADS["config"], run.config_path, "dl_config", data=lambda: shareable_run_config(run.path))

measured = ui.call(export_accuracy, run.path, what="reading the exported models' accuracy")
quant_help = None  # the table's words, until the 8-bit model has been measured
if measured:
    quant_help = (f"About 4× smaller. Accuracy measured at export: {measured['tflite_int8']:.1%} "
                  f"(the float model: {measured['float']:.1%}).")
MADE = [DOWNLOADS["savedmodel-zip"], EXPORT_FORMATS["tflite"], EXPORT_FORMATS["tflite-quant"], EXPORT_FORMATS["onnx"],
        DOWNLOADS["web-zip"], DOWNLOADS["card"], DOWNLOADS["info"], DOWNLOADS["features"], DOWNLOADS["features-info"]]  # what an export job writes into the run's export folder
if is_text:  # the tokenizer's string operations do not convert to TFLite, ONNX or the web page
    MADE = [DOWNLOADS["savedmodel-zip"], DOWNLOADS["card"], DOWNLOADS["info"]]
st.markdown("**Other formats**")
if is_text:
    st.caption("The SavedModel takes raw sentences (the tokenizer is inside) and gives the app's answers; the model "
               "card says what each file needs to load. TFLite, ONNX and the web page cannot hold a text model's "
               "tokenizer, so they are not made for text runs.")
else:
    st.caption("These take up to a minute to make. They are made in the background and kept, so you only make them "
               "once per run. The web page (.zip) runs the model in any browser, offline: unzip it and open index.html.")
present = [entry for entry in MADE if (run.export_dir / entry.file_name).is_file()]
if present:
    cols = st.columns(3)
    for i, entry in enumerate(present):
        with cols[i % 3]:
            _download(entry, run.export_dir / entry.file_name, f"dl_{entry.file_name}",
                      help_text=quant_help if entry.name == "tflite-quant" else
                      (entry.help_for("text") if is_text else None))

if measured:
    st.markdown("**Accuracy of the exported models**, measured when they were made")
    a1, a2, a3 = st.columns(3)
    a1.metric("Keras model (float)", f"{measured['float']:.1%}",
              help="The model as trained: the .keras file, the SavedModel and the float TFLite file.")
    a2.metric("TensorFlow Lite, 8-bit", f"{measured['tflite_int8']:.1%}",
              delta=f"{(measured['tflite_int8'] - measured['float']) * 100:+.1f} points", delta_color="normal",
              help="The quantized file, run with TensorFlow Lite on the same pictures.")
    if measured.get("disagree") is not None:
        a3.metric("Pictures they answer differently", f"{int(measured['disagree'])}")
    which = " ".join(part for part in (f"{int(measured['images']):,}" if measured.get("images") else "",
                                       ui.SPLIT_NAMES.get(measured.get("split"), str(measured.get("split") or "")))
                     if part)
    st.caption(f"Both measured on the same {which} pictures. With few pictures, one picture is several points: "
               "small differences can be chance.")

# Exports run as a tlcore job in a process of their own, like training: they outlive a click,
# the tab and the server, and this page only watches the run's export status.
job = ui.call(export_status, run.path, what="reading the export's progress")
busy = bool(job and job.active)
b1, b2 = st.columns(2)
with b1:
    made = DOWNLOADS["savedmodel-zip"] in present
    what = "Make SavedModel and model card" if is_text else "Make SavedModel, TFLite and model card"
    if st.button(what + (" again" if made else ""), icon=":material/build:",
                 key="runs_make_export", width="stretch", disabled=busy):
        busy = ui.attempt(start_export, run.path, None, workspace=ws, what="starting the export")
with b2:
    if not is_text and st.button("Make the features table (Parquet)", icon=":material/table:",
                                 key="runs_make_features", width="stretch", disabled=busy):
        busy = ui.attempt(start_export, run.path, (), features=True, workspace=ws, what="starting the features table")


def _job_label(job) -> str:
    if not job.formats:
        return "Computing the features of every picture"
    return "Making the SavedModel and the model card" if is_text else "Making SavedModel, TFLite and the model card"


@st.fragment(run_every=1.0 if busy else None)
def export_progress() -> None:
    """Shows this run's export job; redraws the page once it is done."""
    job = ui.call(export_status, run.path, what="reading the export's progress")
    if job is None or job.status is None:
        return
    if job.active:
        waited = ui.format_seconds(time.time() - job.started) if job.started else "—"
        word = "starting" if job.status == events.QUEUED else "working"
        st.info(f"{_job_label(job)}… ({word}, {waited} so far). You can keep using the app.",
                icon=":material/hourglass_top:")
    elif job.status in (events.FAILED, events.INTERRUPTED):
        st.error(f"{_job_label(job)} failed. {job.message}", icon=":material/error:")
    elif job.status == events.FINISHED and (job.ended or 0) > time.time() - 5:
        st.success(f"{_job_label(job)}: done. The downloads are above.", icon=":material/check_circle:")
    if busy and not job.active:
        st.rerun(scope="app")  # show the new download buttons


export_progress()
