"""Step 6 — Runs & export: compare every run, overlay curves, download the finished models."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

import ui_state as ui

ui.page_header(
    "runs",
    "Compare all your runs side by side, overlay their learning curves, and **download** a trained model "
    "to use in other programs.",
)

list_runs, read_events = ui.tl("jobs", "list_runs", "read_events")
ws = ui.workspace()
runs = ui.call(list_runs, ws.runs_dir, what="listing your runs") or []
if not runs:
    st.info("No runs yet. Train a model on the **Train** page first.", icon=":material/info:")
    st.page_link(ui.PAGE_BY_URL["train"].path, label="Go to Train", icon=":material/play_circle:")
    st.stop()

# --------------------------------------------------------------------------- table
st.header("1 · All runs", anchor=False)
st.caption("Tick runs in the first column to overlay their curves below.")


def _best_val(events: list[dict]) -> float | None:
    values = [r["val_accuracy"] for r in ui.epoch_rows(events) if r.get("val_accuracy") is not None]
    return max(values) if values else None


events_by_run = {r.run_id: (ui.call(read_events, r.run_dir) or []) for r in runs}
STATUS_SHORT = {**ui.STATUS_WORDS, "interrupted": "Interrupted"}  # the long story is on the Train page
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
        "backbone": Path(c["backbone_file"]).name if c.get("backbone_file") else c.get("backbone"),
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
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)) if r.started else "—",
    })
if all(row["test accuracy"] is None for row in table):  # no test/ folder: no empty column
    for row in table:
        row.pop("test accuracy")
finished_rows = [i for i, r in enumerate(runs) if r.status == "finished"][:2]
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
exportable = [r for r in runs if (r.run_dir / "model.keras").is_file() and not r.active]
if not exportable:
    st.info("No trained model yet. Once a run finishes, its model can be downloaded here.")
    st.stop()
ids = [r.run_id for r in exportable]
last = ui.load_state().get("last_run")
if st.session_state.get("runs_export") not in ids:
    st.session_state["runs_export"] = selected[0] if selected and selected[0] in ids else (last if last in ids else ids[0])
run_labels = {rid: ui.run_label(rid) for rid in ids}
run_id = st.selectbox("Run", ids, key="runs_export", format_func=run_labels.__getitem__)
run_dir = ui.run_dir(run_id)
export_dir = run_dir / "export"

MIME = {".keras": "application/octet-stream", ".json": "application/json", ".zip": "application/zip",
        ".tflite": "application/octet-stream", ".md": "text/markdown", ".parquet": "application/octet-stream"}


def _download(label: str, path: Path, help_text: str, key: str, file_name: str | None = None, data=None) -> None:
    name = file_name or f"{run_id}-{path.name}"
    st.download_button(
        label, data=data or (lambda p=path: p.read_bytes()), file_name=name,
        mime=MIME.get(path.suffix, "application/octet-stream"),
        key=key, help=help_text, icon=":material/download:", on_click="ignore", width="stretch",
    )


st.markdown("**Ready now**")
c1, c2, c3 = st.columns(3)
with c1:
    _download("Keras model (.keras)", run_dir / "model.keras",
              "The whole model: give it RGB pictures of any size, get class probabilities. Load with keras.saving.load_model.",
              "dl_keras")
with c2:
    if (run_dir / "labels.json").is_file():
        _download("Class names (labels.json)", run_dir / "labels.json", "The class of each model output, in order.", "dl_labels")
shareable_run_config = ui.tl_optional("export", "shareable_run_config")
with c3:
    # The shared copy names the dataset, not this server's folders (which hold the workspace code).
    _download("Settings (config.json)", run_dir / "config.json",
              "Every setting of this run; point `data` at your copy of the images and "
              "`tlcore train --config config.json` trains it again.", "dl_config",
              data=(lambda: shareable_run_config(run_dir)) if shareable_run_config is not None else None)

export_run = ui.tl_optional("export", "export_run")
featurize = ui.tl_optional("features", "featurize")
export_accuracy = ui.tl_optional("export", "export_accuracy")
measured = (ui.call(export_accuracy, run_dir, what="reading the exported models' accuracy")
            if export_accuracy is not None else None)
SPLIT_WORDS = {"val": "validation", "test": "test", "train": "training"}
if measured:
    quant_help = (f"About 4× smaller. Accuracy measured at export: {measured['tflite_int8']:.1%} "
                  f"(the float model: {measured['float']:.1%}).")
else:
    quant_help = "About 4× smaller. Its accuracy is measured on the validation images when it is made."
FILES = {  # what export_run writes into <run>/export/
    "saved_model.zip": ("TensorFlow SavedModel (.zip)", "For TensorFlow Serving and tf.saved_model.load."),
    "model.tflite": ("TensorFlow Lite", "For phones and small devices (float32)."),
    "model_quant.tflite": ("TensorFlow Lite, 8-bit", quant_help),
    "model_card.md": ("Model card (.md)", "A plain description: data, settings, scores, how to use, limits."),
    "model_info.json": ("Model info (.json)", "Input size and format, for developers."),
    "features.parquet": ("Features table (Parquet)", "The bottleneck features of every picture, for your own analysis."),
}
st.markdown("**Other formats**")
st.caption("These take up to a minute to make. They are made in the background and kept, so you only make them once per run.")
present = [name for name in FILES if (export_dir / name).is_file()]
if present:
    cols = st.columns(3)
    for i, name in enumerate(present):
        with cols[i % 3]:
            label, help_text = FILES[name]
            _download(label, export_dir / name, help_text, f"dl_{name}")

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
                                       SPLIT_WORDS.get(measured.get("split"), str(measured.get("split") or "")))
                     if part)
    st.caption(f"Both measured on the same {which} pictures. With few pictures, one picture is several points: "
               "small differences can be chance.")

export_key, features_key = ui.task_key(run_id, "export"), ui.task_key(run_id, "features")
b1, b2 = st.columns(2)
with b1:
    made = (export_dir / "saved_model.zip").is_file()
    if export_run is not None and st.button("Make SavedModel, TFLite and model card" + (" again" if made else ""),
                                            icon=":material/build:", key="runs_make_export", width="stretch"):
        ui.start_task(export_key, "Making SavedModel, TFLite and the model card", export_run, run_dir)
with b2:
    if featurize is not None and st.button("Make the features table (Parquet)", icon=":material/table:",
                                           key="runs_make_features", width="stretch"):
        config = ui.run_config(run_id)
        if config is None:
            st.error("This run's settings could not be read. Fix: train it again.")
        else:
            ui.start_task(features_key, "Computing the features of every picture", featurize, config,
                          export_dir / "features.parquet", workspace=ws)

busy = any((ui.task_state(k) or {}).get("state") in ("waiting", "running") for k in (export_key, features_key))


@st.fragment(run_every=1.0 if busy else None)
def export_progress() -> None:
    """Shows the background exports of this run; redraws the page once they are done."""
    still_busy = False
    for key in (export_key, features_key):
        task = ui.task_state(key)
        if not task:
            continue
        if task["state"] in ("waiting", "running"):
            still_busy = True
            waited = ui.format_seconds(time.time() - task["started"])
            word = "waiting for another export to finish" if task["state"] == "waiting" else "working"
            st.info(f"{task['label']}… ({word}, {waited} so far). You can keep using the app.", icon=":material/hourglass_top:")
        elif task["state"] == "failed":
            st.error(f"{task['label']} failed. {task['error']}", icon=":material/error:")
        elif task["state"] == "done" and task.get("ended", 0) > time.time() - 5:
            st.success(f"{task['label']}: done. The downloads are above.", icon=":material/check_circle:")
    if busy and not still_busy:
        st.rerun(scope="app")  # show the new download buttons


export_progress()
