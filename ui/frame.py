"""The frame around every page: page config, the session's workspace, sidebar, header, links.

``app.py`` calls :func:`configure_page` and :func:`frame`; every page starts with
:func:`page_header` (which draws the frame itself when Streamlit ran the page without
app.py) and ends with :func:`next_step`.
"""

from __future__ import annotations

import logging

import streamlit as st

from tlcore import Workspace, device_info, mark_interrupted

from .datasets import dataset_display_name
from .nav import APP_TITLE, PAGE_BY_URL, STEPS
from .state import (
    SESSION_PARAM,
    load_state,
    new_session_id,
    session_id,
    valid_session_id,
)
from .text_data import is_text_file

log = logging.getLogger("transfer_studio")

FRAMED = "_framed"  # set by frame() just before app.py runs the page


def configure_page() -> None:
    st.set_page_config(
        page_title=APP_TITLE,
        page_icon=":material/model_training:",
        layout="wide",
        initial_sidebar_state="expanded",
    )


def _session_workspace() -> Workspace:
    """Each browser session works in its own folder; the link (``?ws=…``) brings it back."""
    from_url = st.query_params.get(SESSION_PARAM)
    sid = st.session_state.get("ws_id")
    if valid_session_id(from_url) and from_url != sid:
        if sid is not None:  # switching workspaces in this tab: forget everything of the old one
            for key in list(st.session_state.keys()):
                del st.session_state[key]
        sid = from_url  # a reload, a bookmark or a shared link
    if not valid_session_id(sid):
        sid = new_session_id()
    st.session_state["ws_id"] = sid
    if st.query_params.get(SESSION_PARAM) != sid:
        st.query_params[SESSION_PARAM] = sid
    return Workspace.for_session(sid)


@st.cache_resource(show_spinner=False)
def _device_description() -> str:
    """Which device training will use, asked once per server (tlcore knows; pages never touch TF)."""
    try:
        info = device_info()
    except Exception:
        log.exception("device_info failed")
        return "unknown"
    if info.get("kind") == "GPU":
        return f"GPU — {info.get('name') or 'unnamed'}"
    return str(info.get("name") or "CPU")


def device_description() -> str:
    """The training device in words ("CPU name" or "GPU — name")."""
    return _device_description()


def _mark_interrupted_once(ws: Workspace) -> None:
    """After a server restart, runs whose process is gone are shown as interrupted, not running."""
    if st.session_state.get("_checked_interrupted") == ws.root:
        return
    try:
        mark_interrupted(ws.runs_dir)
    except Exception:
        log.exception("mark_interrupted failed for %s", ws.runs_dir)
    st.session_state["_checked_interrupted"] = ws.root


def _sidebar(ws: Workspace, slot) -> None:
    state = load_state(ws)
    with slot:
        dataset = state.get("dataset")
        if dataset:
            icon, what = (":material/notes:", "Texts") if is_text_file(dataset) else (":material/photo_library:", "Images")
            st.markdown(f"{icon} **{what}:** {state.get('dataset_name') or dataset_display_name(dataset)}")
        else:
            st.markdown(":material/photo_library: **Data:** none chosen yet")
        last_run = state.get("last_run")
        if last_run:
            st.markdown(f":material/play_circle: **Last run:** `{last_run}`")
        st.markdown(f":material/memory: **Training on:** {_device_description()}",
                    help="Runs train one after another on this device. A GPU is many times faster than a CPU.")
        with st.expander("Your workspace", icon=":material/folder:"):
            st.caption(
                "Everything you upload and train is kept in your own folder on this server. "
                "Bookmark this page's address to come back to it later, even after a restart. "
                "To work together, share this code; to open someone's workspace, paste theirs below."
            )
            st.code(ws.root.name, language=None)
            code = st.text_input("Open a workspace by its code", key="ws_open_code", placeholder="paste a code",
                                 label_visibility="collapsed")
            if st.button("Open", key="ws_open", icon=":material/login:", disabled=not code.strip()):
                if valid_session_id(code.strip()):
                    st.query_params[SESSION_PARAM] = code.strip()
                    st.rerun()
                st.error("That is not a workspace code. Fix: copy the code exactly as shown (letters and digits).")


def frame() -> Workspace:
    """Everything around a page: the session's workspace, the sidebar, pending messages."""
    ws = _session_workspace()
    # Re-read the saved choices on every full run: another tab on the same workspace may have changed them.
    st.session_state.pop("app_state", None)
    _mark_interrupted_once(ws)
    with st.sidebar:
        st.markdown(f"### :material/model_training: {APP_TITLE}")
        st.caption("Teach a computer to sort your pictures — no coding needed.")
        _sidebar(ws, st.container())
    show_flash()
    st.session_state[FRAMED] = True
    return ws


def _ensure_frame() -> None:
    """Make sure the frame (workspace, sidebar) is in place before a page renders.

    Streamlit runs a ``pages/`` script on its own, without app.py, while it still assumes its
    old folder-based page mode: on a fresh server until some session has called
    ``st.navigation`` (the first request being a page's link, say ``/evaluate?ws=…`` right
    after a restart), and in ``AppTest`` on every run. Then the page switches that mode off
    (exactly what ``st.navigation`` does) and either reruns — safe in a session's first run,
    which has no click to lose — or draws the frame itself.
    """
    if st.session_state.pop(FRAMED, False):
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
    except Exception:  # an internal that moved: drawing the frame below still works
        log.warning("could not switch off Streamlit's pages-folder mode")
    if "ws_id" not in st.session_state and not st.session_state.get("_frame_rerun"):
        st.session_state["_frame_rerun"] = True
        st.rerun()
    configure_page()
    frame()
    st.session_state.pop(FRAMED, None)


def page_header(url_path: str, subtitle: str) -> None:
    """The title block every page starts with: step number, title, one plain sentence."""
    _ensure_frame()
    page = PAGE_BY_URL[url_path]
    st.caption(f"{page.step} of {len(STEPS)}" if page in STEPS else page.step)
    st.title(f"{page.title}")
    st.markdown(subtitle)


def flash(message: str, icon: str = ":material/check_circle:") -> None:
    """A short confirmation shown after the next rerun (for changes that rerun the app)."""
    st.session_state["_flash"] = (message, icon)


def show_flash() -> None:
    pending = st.session_state.pop("_flash", None)
    if pending:
        st.toast(pending[0], icon=pending[1])


def next_step(url_path: str, label: str, *, disabled: bool = False, help: str | None = None) -> None:
    """The "what to do next" link at the bottom of a page."""
    page = PAGE_BY_URL[url_path]
    st.divider()
    st.page_link(
        page.path,
        label=label,
        icon=":material/arrow_forward:",
        disabled=disabled,
        help=help,
        query_params={SESSION_PARAM: session_id()} if session_id() else None,
    )
