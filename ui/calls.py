"""Calling tlcore from a page: every error becomes a plain message on the page, never a traceback."""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

import streamlit as st

from tlcore import TLCoreError

log = logging.getLogger("transfer_studio")


_MARKDOWN = re.compile(r"([\\`*_$\[\]<>~|])")


def plain(text: str) -> str:
    """``text`` shown as written by a markdown element: a file name's or a pattern's ``_``, ``*``
    or ``\\`` must not turn into italics or vanish."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def finding_text(problem: str, fix: str = "") -> str:
    """A finding as a page shows it: the problem, then "**Fix:** …" (both escaped)."""
    if not fix:
        return plain(problem)
    return f"{plain(problem)}.  \n**Fix:** {plain(fix[0].upper() + fix[1:])}"


def error_message(err: BaseException, what: str = "") -> str:
    """The plain-language message a user sees for an error (tlcore's own text when it has one),
    ready for ``st.error`` (markdown characters in it escaped)."""
    return plain(_message(err, what))


def _message(err: BaseException, what: str) -> str:
    doing = f" {what}" if what else ""
    if isinstance(err, TLCoreError):
        return str(err)
    if isinstance(err, MemoryError):
        return f"The computer ran out of memory{doing}. Fix: use a smaller batch size or image size, or close other runs."
    if isinstance(err, (OSError, ValueError)):
        return f"Could not finish{doing}: {err}"
    return (f"Something unexpected went wrong{doing} ({type(err).__name__}: {err}). "
            "Fix: check your settings and try again; if it keeps happening, the server log has the details.")


def call(fn: Callable[..., Any], *args: Any, what: str = "", remember: str | None = None, **kwargs: Any) -> Any:
    """Run a tlcore call; show any error as a plain message (never a traceback) and return None.

    ``remember`` names a session-state key that keeps the message, for pages that show it again
    on later reruns.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # the last line of defence: a user never sees a traceback
        if not isinstance(err, TLCoreError):
            log.exception("error %s", what)
        message = error_message(err, what)
        if remember:
            st.session_state[remember] = message
        st.error(message, icon=":material/error:")
    return None


def attempt(fn: Callable[..., Any], *args: Any, what: str = "", remember: str | None = None, **kwargs: Any) -> bool:
    """Like :func:`call` for calls that return nothing: True when it worked."""
    marker = object()
    result = call(lambda: (fn(*args, **kwargs), marker)[1], what=what, remember=remember)
    return result is marker
