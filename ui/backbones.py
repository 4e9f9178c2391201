"""The table that compares every backbone, with speeds measured on this computer, not guessed."""

from __future__ import annotations

import streamlit as st

import tlcore  # measure_speed is looked up when called, so tests can stand in for the measurement
from tlcore import IMAGE_BACKBONES as BACKBONES

from .calls import call
from .frame import device_description


@st.cache_resource(show_spinner=False)
def _measured_speeds() -> dict[str, float]:
    """Images per second of each backbone on this server's computer, shared by every session
    (a fact about the machine, measured once when someone asks)."""
    return {}


def backbone_comparison() -> None:
    """Every backbone in one table, and a button that measures their speed here."""
    speeds = _measured_speeds()
    missing = [name for name in BACKBONES if name not in speeds]
    if missing and st.button(
            "Measure the speed of each on this computer", icon=":material/speed:", key="m_measure_speed",
            help="Runs a few pictures through each network here. Takes about a minute; the result is kept."):
        bar = st.progress(0.0, text="Measuring…")
        for i, name in enumerate(missing):
            bar.progress(i / len(missing), text=f"Measuring {name} ({i + 1} of {len(missing)})…")
            speed = call(tlcore.measure_speed, name, what=f"measuring {name}")  # shows why, if it fails
            if speed is None:
                break
            speeds[name] = float(speed)
        bar.empty()
        if all(name in speeds for name in BACKBONES):
            st.rerun()  # redraw without the button
    # st.table shows every row (a dataframe would scroll inside itself and hide the last ones).
    st.table([
        {"backbone": b.name, "parameters": f"{b.params_millions:.1f} M", "native size": f"{b.native_size} px",
         "speed on this computer": f"{speeds[b.name]:,.0f} images/s" if b.name in speeds else "not measured yet",
         "in short": b.description}
        for b in BACKBONES.values()
    ])
    st.caption(
        "*Speed on this computer* is measured here, not taken from a list: pictures per second through each network "
        f"cut at its recommended layer, at its native size, in batches of 8, on {device_description()}. "
        "It is the speed of computing features; a fine-tuning step costs about three times as much."
        if speeds else
        "Speed depends on the computer, so it is measured here rather than guessed: press the button above."
    )
