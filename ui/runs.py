"""This session's runs as the pages show them: status words, icons and colours, run pickers.

The run folders themselves belong to :mod:`tlcore.runs`; this module only finds a session's
runs by id and renders the choice between them.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from tlcore import STATUS_WORDS, RunFolder, TrainConfig, events, list_runs, safe_join

from .calls import call
from .nav import PAGE_BY_URL
from .state import load_state, workspace

STATUS_ICON = {
    events.QUEUED: ":material/hourglass_empty:",
    events.RUNNING: ":material/autorenew:",
    events.FINISHED: ":material/check_circle:",
    events.FAILED: ":material/error:",
    events.CANCELLED: ":material/cancel:",
    events.INTERRUPTED: ":material/pause_circle:",
}
STATUS_COLOR = {events.QUEUED: "gray", events.RUNNING: "blue", events.FINISHED: "green", events.FAILED: "red",
                events.CANCELLED: "orange", events.INTERRUPTED: "orange"}


def run_dir(run_id: str) -> Path:
    """The folder of one of this session's runs (a run id can never point outside runs/)."""
    return safe_join(workspace().runs_dir, run_id)


def run_folder(run_id: str) -> RunFolder:
    return RunFolder(run_dir(run_id))


def run_config(run_id: str) -> TrainConfig | None:
    """The run's settings, or None when they cannot be read."""
    try:
        return run_folder(run_id).config()
    except Exception:  # a damaged settings file: the run is listed by its id alone
        return None


def backbone_name(config: dict | TrainConfig) -> str:
    """The backbone a run uses, in a word (a user's own file by its name)."""
    values = config if isinstance(config, dict) else config.to_dict()
    return Path(values["backbone_file"]).name if values.get("backbone_file") else str(values.get("backbone", ""))


def features_source(config: dict, run_events: list[dict]) -> str:
    """Where a run's head got its features: "—" (from the pictures), or the features table's
    name and the engine that made it (``tlcore train --features``)."""
    if not config.get("features"):
        return "—"
    made = next((e.get("engine") for e in run_events if e.get("features_table")), None)
    return Path(config["features"]).name + (f" ({made})" if made else "")


def run_label(run_id: str) -> str:
    config = run_config(run_id)
    if config is None:
        return run_id
    return f"{run_id}  —  {backbone_name(config)} · {config.mode}"


def finished_run_ids() -> list[str]:
    """This session's finished runs that have a model, newest first."""
    runs = call(list_runs, workspace().runs_dir, what="listing your runs") or []
    return [r.run_id for r in runs if r.status == events.FINISHED and r.folder.has_model]


def pick_finished_run(key: str, label: str = "Which trained model?") -> str | None:
    """A selectbox of finished runs, defaulting to the last run; None (with a hint) when there are none."""
    ids = finished_run_ids()
    if not ids:
        st.info("No finished training run yet. Train a model on the **Train** page first.", icon=":material/info:")
        st.page_link(PAGE_BY_URL["train"].path, label="Go to Train", icon=":material/play_circle:")
        return None
    last = load_state().get("last_run")
    if key not in st.session_state or st.session_state[key] not in ids:
        st.session_state[key] = last if last in ids else ids[0]
    labels = {rid: run_label(rid) for rid in ids}  # computed here: format_func must not touch session state
    return st.selectbox(label, ids, key=key, format_func=labels.__getitem__)


__all__ = ["STATUS_COLOR", "STATUS_ICON", "STATUS_WORDS", "backbone_name", "features_source", "finished_run_ids",
           "pick_finished_run", "run_config", "run_dir", "run_folder", "run_label"]
