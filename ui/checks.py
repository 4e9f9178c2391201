"""The Data page's deep check: start it as a job, watch its progress, show what it found.

The check runs in a process of its own (``tlcore.start_check``), so the page stays usable while
thousands of pictures (or texts) are read; a fragment redraws the progress bar every second and the
whole page once the check ends. The results are drawn by :mod:`ui.check_views`.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from tlcore import cancel_check, check_status, latest_check, start_check

from . import check_views as views
from .calls import call
from .edits import current_edits
from .state import current_config, workspace

_REFRESH_S = 1.0
_ABOUT_PICTURES = ("Looks at every picture through the pretrained network (the same features training uses, "
                   "so this is computed once): pictures that may be labelled wrong, near-copies and leaks between "
                   "splits, outliers, validation or test pictures that look different from training, and whether "
                   "more pictures would help.")
_ABOUT_TEXTS = ("Reads every text with the pretrained text encoder (the same features training uses, so this is "
                "computed once): texts that may be labelled wrong, texts that say the same thing (and leaks between "
                "splits), outliers, validation or test texts that read differently from training, and whether more "
                "texts would help.")


def _start(config) -> None:
    call(start_check, config, workspace=workspace(), what="starting the check")


@st.fragment(run_every=_REFRESH_S)
def _progress(data: str) -> None:
    status = check_status(data, workspace=workspace())
    if not status.active:
        st.rerun()  # the check ended: draw its results (or its error) on the whole page
    progress = status.progress
    fraction = progress.fraction if progress and progress.stage == "features" else 0.0
    text = (progress.text if progress and progress.stage == "features" else (progress.phase if progress else "")) \
        or status.message or "Starting"
    st.progress(fraction, text=text)
    st.caption("You can keep using the app while the check runs; it goes on if you close this tab.")
    if st.button("Stop the check", icon=":material/stop:", key="check_cancel"):
        call(cancel_check, data, workspace=workspace(), what="stopping the check")


def score_warnings(data: str | None, split: str) -> None:
    """What the latest check of ``data`` says about a score on ``split`` (the Evaluate page)."""
    views.score_warnings(latest_check(data, workspace=workspace()) if data else None, split)


def check_panel(dataset) -> None:
    """The check of the chosen dataset: its button, its progress, and its results."""
    config = current_config()
    data = config.data
    edits = current_edits()
    status = check_status(data, workspace=workspace())
    result = status.result
    text = bool(getattr(dataset, "is_text", False))
    st.caption(_ABOUT_TEXTS if text else _ABOUT_PICTURES)
    if status.active:
        _progress(data)
        return
    label = f"Check my {'texts' if text else 'pictures'}" if result is None else "Check again"
    if st.button(label, type="primary" if result is None else "secondary", icon=":material/troubleshoot:",
                 key="check_start"):
        _start(dataclasses.replace(config, edits=edits))
        st.rerun()
    if status.status == "failed":
        st.error(status.message, icon=":material/error:")
    elif status.status in ("interrupted", "cancelled"):
        st.warning(status.message, icon=":material/warning:")
    if result is None:
        return
    views.header(result, edits, config)
    decided = {e["path"] for e in edits}
    tabs = st.tabs(views.tab_titles(result, decided, edits))
    with tabs[0]:
        views.suspects(result, dataset, decided)
    with tabs[1]:
        views.duplicates(result, dataset, decided)
    with tabs[2]:
        views.outliers(result, dataset, decided)
    with tabs[3]:
        views.splits(result, dataset)
    with tabs[4]:
        views.curve(result)
    with tabs[5]:
        views.embedding_map(result, dataset)
    with tabs[6]:
        views.changes(edits, result, dataset)
