"""Quick start — the classroom: classes from the camera, training that starts by itself, the model live.

The same engine as the expert pages, with every setting at its default and hidden: the pictures
go into a workspace dataset (:mod:`ui.capture`), the run is an ordinary run (so Evaluate, Predict
and Runs & export show it too), and the words about it come from :func:`tlcore.run_in_words`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import ui
from tlcore import (MIN_PICTURES, TrainConfig, dataset_name, ensure_standby, list_runs, load_dataset, run_in_words,
                    start_run)

ui.page_header(
    "classroom",
    "Make a model in **3 steps**: show the camera a few kinds of things, let it learn, then try it live. "
    "All the expert settings keep their defaults; the other pages show everything about the model made here.",
)

ws = ui.workspace()
_RUNS = "classroom_runs"  # which run was trained on which pictures: {fingerprint: run id}

# --------------------------------------------------------------------------- 1 · pictures
st.header("1 · Show it your classes", anchor=False)
st.caption(f"Add a class for each kind of thing (for example *thumbs up* and *thumbs down*), then give each at "
           f"least {MIN_PICTURES} pictures: press **Start recording** and move the thing around a little.")
folder = ui.capture_panel(None, key="classroom", default_name="classroom")
if folder is None:
    st.stop()
missing = folder.missing()
st.header("2 · It learns", anchor=False)
if missing:
    st.caption("Training starts by itself as soon as every class has enough pictures.")
    st.stop()

fingerprint = folder.fingerprint()
trained = dict(ui.load_state().get(_RUNS) or {})
run_id = trained.get(fingerprint)
runs = {r.run_id: r for r in (ui.call(list_runs, ws.runs_dir, what="listing your runs") or [])}
if run_id not in runs:
    run_id = None
previous = next((trained[f] for f in reversed(list(trained)) if trained[f] in runs), None)


def _start() -> str | None:
    """Load the pictures as the session's dataset (the Data page then shows their check) and train."""
    dataset = ui.call(load_dataset, str(folder.root), workspace=ws, what="reading your pictures")
    if dataset is None:
        return None
    ui.remember_dataset(dataset, folder.name)
    config = TrainConfig(data=str(folder.root), data_name=dataset_name(str(folder.root), folder.name))
    ui.call(ensure_standby, what="preparing a training process")
    started = ui.call(start_run, config, ws.runs_dir, workspace=ws, name="classroom", warm=True,
                      what="starting to learn")
    if started is None:
        return None
    new_id = Path(started).name
    ui.save_state(**{_RUNS: {**trained, fingerprint: new_id}}, last_run=new_id)
    return new_id


if run_id is None:
    if previous is None or st.button("Learn again with the new pictures", type="primary", icon=":material/refresh:",
                                     key="classroom_retrain",
                                     help="The pictures it saw before are not looked at again, so this is quick."):
        run_id = _start()
    else:
        st.info("You changed the pictures since the model learned. Press **Learn again** to use them; until then "
                "the model below is the one from before.", icon=":material/update:")
        run_id = previous
if run_id is None:
    st.stop()


@st.fragment(run_every=1.0)
def _progress() -> None:
    status = next((r for r in (ui.call(list_runs, ws.runs_dir, what="listing your runs") or [])
                   if r.run_id == run_id), None)
    if status is None:
        st.error("The model's run folder is gone. Fix: press **Learn again**, or add a picture.")
        return
    if status.active:
        try:
            run_config = TrainConfig.from_dict(status.config) if status.config else None
        except Exception:  # a damaged config.json: the bar still shows, without the plan's stages
            run_config = None
        progress = ui.progress_of(ui.call(status.folder.events, what="reading the progress") or [], run_config)
        st.progress(progress.fraction, text=progress.text or "Getting ready…")
        return
    if status.status != "finished":
        st.error(f"It could not learn: {status.message or ui.STATUS_WORDS.get(status.status, status.status)}",
                 icon=":material/error:")
        return
    st.session_state["classroom_done"] = run_id
    st.rerun(scope="app")  # step 3 appears, and this stops polling


if st.session_state.get("classroom_done") != run_id:
    _progress()
    st.stop()

run = ui.run_folder(run_id)
evaluation = ui.call(run.evaluation, what="reading how it did") or {}
st.success("It has learned. What it can do:", icon=":material/school:")
dataset = ui.current_dataset(quiet=True)
shared = dataset.shared_subjects("val") if dataset is not None and str(dataset.root) == str(folder.root) else 0
for sentence in run_in_words(evaluation, shared_subjects=shared):
    st.markdown(f"- {sentence}")

# --------------------------------------------------------------------------- 3 · try it
st.header("3 · Try it", anchor=False)
st.caption("Press **Start camera** and show it things — the bars move as it looks. Things unlike anything it "
           "learned get “I don't know”.")
ui.live_section(str(run.path), top_k=min(3, len(evaluation.get("classes") or [1, 2, 3])))
st.divider()
st.page_link(ui.PAGE_BY_URL["runs"].path, label="Take it with you: download the model or a web page that runs it",
             icon=":material/download:", query_params={ui.SESSION_PARAM: ui.session_id()})
