"""What the pages call the things a model is given: pictures, or texts for a text run.

A page that shows one run or dataset says which with :func:`set_item`; the shared views then
word their sentences with :func:`item` (the default is pictures).
"""

from __future__ import annotations

import streamlit as st

_KEY = "ui_item_kind"  # "picture" or "text"


def set_item(kind: str) -> None:
    """The page shows a text run or text data (``"text"``) or pictures (``"picture"``)."""
    st.session_state[_KEY] = "text" if kind == "text" else "picture"


def item(plural: bool = False) -> str:
    """"picture(s)" or "text(s)", as :func:`set_item` last said."""
    kind = st.session_state.get(_KEY, "picture")
    return kind + ("s" if plural else "")


__all__ = ["item", "set_item"]
