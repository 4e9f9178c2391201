"""The session's state: its workspace (by the ``?ws=`` code), its saved choices and its settings.

Choices a user makes (the selected dataset, the model settings, the last run) live in
``st.session_state`` for speed *and* in ``<workspace>/app_state.json`` so that a reload, a new
tab on the same link, or a server restart brings them back. Widgets are seeded from them here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import streamlit as st

from tlcore import TLCoreError, TrainConfig, Workspace, write_json_atomic

log = logging.getLogger("transfer_studio")

SESSION_PARAM = "ws"  # query parameter that keeps a browser on its own workspace
_STATE_FILE = "app_state.json"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# --------------------------------------------------------------------------- workspace
def valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def new_session_id() -> str:
    return uuid.uuid4().hex


def session_id() -> str | None:
    return st.session_state.get("ws_id")


def workspace() -> Workspace:
    """This browser session's private workspace (set up by ``app.py``)."""
    sid = session_id()
    if not valid_session_id(sid):  # a page opened without app.py (should not happen)
        sid = new_session_id()
        st.session_state["ws_id"] = sid
    return Workspace.for_session(sid)


# --------------------------------------------------------------------------- saved choices
def _state_path(ws: Workspace) -> Path:
    return ws.root / _STATE_FILE


def load_state(ws: Workspace | None = None) -> dict[str, Any]:
    """The session's saved choices, read from disk once per browser session."""
    if "app_state" not in st.session_state:
        ws = ws or workspace()
        state: dict[str, Any] = {}
        path = _state_path(ws)
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    state = loaded
            except (OSError, ValueError):
                log.warning("ignoring unreadable %s", path)
        st.session_state["app_state"] = state
    return st.session_state["app_state"]


def save_state(**updates: Any) -> None:
    """Remember choices in the session and on disk (atomically)."""
    state = load_state()
    state.update(updates)
    try:
        write_json_atomic(_state_path(workspace()), state)
    except OSError as err:  # a full disk must not break the page; the choice still holds in memory
        st.warning(f"Could not save your choices to disk ({err}). They are kept until you close the tab.")


# --------------------------------------------------------------------------- settings
def current_config() -> TrainConfig:
    """The run settings built up across the Data and Model pages."""
    if "config" not in st.session_state:
        saved = load_state().get("config")
        config = TrainConfig()
        if isinstance(saved, dict):
            try:
                config = TrainConfig.from_dict(saved)
            except (TLCoreError, TypeError):
                config = TrainConfig()
        st.session_state["config"] = config
    return st.session_state["config"]


def update_config(**changes: Any) -> TrainConfig:
    """Change some settings; saved to disk only when something actually changed."""
    old = current_config()
    config = dataclasses.replace(old, **changes)
    if config != old:
        st.session_state["config"] = config
        save_state(config=config.to_dict())
    return config


def widget_default(key: str, value: Any) -> str:
    """Give a keyed widget its saved value when it is (re)created.

    Streamlit forgets a widget's value when its page is not shown; seeding the key from the
    saved settings keeps every choice when the user comes back to a page.
    """
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def clamp_state(key: str, low: float, high: float) -> None:
    """Keep a remembered slider value inside a range that may have shrunk."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not low <= value <= high:
        st.session_state[key] = type(value)(min(max(value, low), high))
