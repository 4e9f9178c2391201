"""Transfer Studio: turn a folder of labeled images into a trained image classifier.

Start with ``streamlit run app.py`` (or ``make run``). This file is the frame around every
page: it gives each browser session its own workspace, shows the chosen dataset and the
training device in the sidebar, and routes to the pages in ``pages/``.
"""

from __future__ import annotations

import streamlit as st

import ui_state as ui
from tlcore.workspace import Workspace

st.set_page_config(
    page_title=ui.APP_TITLE,
    page_icon=":material/model_training:",
    layout="wide",
    initial_sidebar_state="expanded",
)


def _session_workspace() -> Workspace:
    """Each browser session works in its own folder; the link (``?ws=…``) brings it back."""
    from_url = st.query_params.get(ui.SESSION_PARAM)
    sid = st.session_state.get("ws_id")
    if ui.valid_session_id(from_url) and from_url != sid:
        sid = from_url  # a reload, a bookmark or a shared link
        for key in ("app_state", "config", "dataset_obj"):
            st.session_state.pop(key, None)
    if not ui.valid_session_id(sid):
        sid = ui.new_session_id()
    st.session_state["ws_id"] = sid
    if st.query_params.get(ui.SESSION_PARAM) != sid:
        st.query_params[ui.SESSION_PARAM] = sid
    return Workspace.for_session(sid)


@st.cache_resource(show_spinner=False)
def _device_description() -> str:
    """Which device training will use, asked once per server (tlcore knows; pages never touch TF)."""
    device_info = ui.tl_optional("device", "device_info")
    if device_info is None:
        return "unknown"
    try:
        info = device_info()
    except Exception:
        ui.log.exception("device_info failed")
        return "unknown"
    if info.get("kind") == "GPU":
        return f"GPU — {info.get('name') or 'unnamed'}"
    return str(info.get("name") or "CPU")


def _mark_interrupted_once(ws: Workspace) -> None:
    """After a server restart, runs whose process is gone are shown as interrupted, not running."""
    if st.session_state.get("_checked_interrupted") == ws.root:
        return
    mark_interrupted = ui.tl_optional("jobs", "mark_interrupted")
    if mark_interrupted is not None:
        try:
            mark_interrupted(ws.runs_dir)
        except Exception:
            ui.log.exception("mark_interrupted failed for %s", ws.runs_dir)
    st.session_state["_checked_interrupted"] = ws.root


def _sidebar(ws: Workspace, slot) -> None:
    state = ui.load_state(ws)
    with slot:
        dataset = state.get("dataset")
        if dataset:
            st.markdown(f":material/photo_library: **Images:** {state.get('dataset_name') or ui.dataset_display_name(dataset)}")
        else:
            st.markdown(":material/photo_library: **Images:** none chosen yet")
        last_run = state.get("last_run")
        if last_run:
            st.markdown(f":material/play_circle: **Last run:** `{last_run}`")
        st.markdown(f":material/memory: **Training on:** {_device_description()}",
                    help="Runs train one after another on this device. A GPU is many times faster than a CPU.")
        with st.expander("Your workspace", icon=":material/folder:"):
            st.caption(
                "Everything you upload and train is kept in your own folder on this server. "
                "Bookmark this page's address to come back to it later, even after a restart."
            )
            st.code(ws.root.name, language=None)


ws = _session_workspace()
_mark_interrupted_once(ws)

pages = [
    st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=(i == 0))
    for i, p in enumerate(ui.PAGES)
]
page = st.navigation(pages, position="sidebar")
with st.sidebar:
    st.markdown(f"### :material/model_training: {ui.APP_TITLE}")
    st.caption("Teach a computer to sort your pictures — no coding needed.")
    _sidebar(ws, st.container())
ui.show_flash()
page.run()
