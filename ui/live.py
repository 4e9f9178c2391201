"""Live prediction on the Predict page: the camera feeds the chosen model, the answer updates as it looks.

The model is the one the page uses for uploaded pictures (:func:`ui.explain.run_model`, cached),
asked through :class:`tlcore.LivePredictor`: the camera's thread only hands over the newest frame,
the model answers in its own thread and drops the frames it has no time for, and this module
redraws the newest answer several times a second in the script's ``while ctx.state.playing`` loop.
"""

from __future__ import annotations

import time

import streamlit as st

from tlcore import LivePredictor

from .answer_views import threshold_words, unknown_headline
from .calls import error_message, plain
from .camera import live_stream
from .explain import run_model

LIVE_KEY = "predict_live"  # the camera component's key; the answer's container is "predict_live_answer"
_REDRAW_S = 0.2  # how often the answer is redrawn (the model answers a few times a second on a CPU)
_STATE = "_live_predictor"


def _live_predictor(run_path: str, top_k: int) -> LivePredictor | None:
    """This session's LivePredictor for the run's (cached) model; a new model or ``top_k`` makes a new one."""
    try:
        predictor = run_model(run_path)
    except Exception as err:  # shown as a message, never a traceback
        st.error(error_message(err, "loading the model"), icon=":material/error:")
        return None
    held = st.session_state.get(_STATE)
    if held is not None and held.predictor is predictor and held.top_k == top_k:
        return held
    if held is not None:
        held.close(timeout_s=0)  # its thread ends after the frame it is on
    live = st.session_state[_STATE] = LivePredictor(predictor, top_k=top_k)
    return live


def _rate_words(stats) -> str:
    """How fast the model keeps up, in a sentence."""
    answers, frames = stats.answers_per_second, stats.frames_per_second
    if answers is None:
        return "Measuring how fast the model answers…"
    words = f"The model answers **{answers:.1f} times a second**"
    skipped = max(0.0, 1 - answers / frames) if frames else 0.0
    if skipped >= 0.05:
        words += (f" (the camera sends {frames:.0f} frames a second; the {skipped:.0%} it has no time for are "
                  "skipped, so the answer is always about what the camera sees now)")
    elif frames:
        words += f": every frame the camera sends ({frames:.0f} a second)"
    return words + "."


def live_answer_view(live_answer, trust, stats) -> None:
    """The newest answer (a tlcore ``LiveAnswer`` or None): the class or "I don't know", the top
    classes as bars, and the measured answers a second. Bars are plain progress bars, cheap to redraw."""
    if live_answer is None:
        st.markdown("### Looking…")
        st.caption("The first answer comes when the model has seen the first frame.")
        return
    answer = live_answer.answer
    if answer.unknown:
        st.markdown(unknown_headline(answer, trust, "this"))
        if answer.reason:
            st.caption(f"Why: {plain(answer.reason)}.")
    else:
        st.markdown(f"### {plain(str(answer.label))} — {answer.probability:.0%}")
    for label, probability in answer.top:
        st.progress(min(1.0, max(0.0, float(probability))), text=f"{plain(str(label))} — {probability:.0%}")
    st.caption(_rate_words(stats))


def live_section(run_path: str, top_k: int) -> None:
    """The Predict page's live camera: Start camera, then the model's answer, redrawn while it runs."""
    live = _live_predictor(run_path, top_k)
    if live is None:
        return
    trust = live.predictor.trust
    if trust is not None and trust.two_classes:
        st.info(threshold_words(trust), icon=":material/tune:")
    elif trust is None:
        st.caption("This run was trained before Transfer Studio calibrated percentages and could say “I don't know”: "
                   "its percentages may be over-sure. Train it again to add both.")
    left, right = st.columns([3, 2])
    with left:
        ctx = live_stream(LIVE_KEY, live.offer)
    if ctx is None:
        return
    with right:
        answer_box = st.container(key=f"{LIVE_KEY}_answer")
    with answer_box:
        view = st.empty()  # one element, in both states: no faded leftovers from the other state
    if not ctx.state.playing:
        with view.container():
            st.markdown("### Camera off")
            st.caption("Press **Start camera** and hold something in front of it: the model's answer shows here, "
                       "updated several times a second.")
        return
    while ctx.state.playing:  # a rerun (Stop camera, any widget) ends this loop
        with view.container():
            if live.error is not None:
                st.error(error_message(live.error, "predicting"), icon=":material/error:")
            live_answer_view(live.latest(), trust, live.stats())
        time.sleep(_REDRAW_S)


__all__ = ["LIVE_KEY", "live_answer_view", "live_section"]
