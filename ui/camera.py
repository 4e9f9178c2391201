"""The webcam in the browser: the one place that uses streamlit-webrtc.

The browser sends its camera to the server over WebRTC; each frame reaches a callback here in
a thread of streamlit-webrtc (never the script's thread, so a callback must not call ``st``).
Two uses:

- :func:`record_burst` — "hold to record": Start/Stop records, a few pictures a second are kept
  and handed to the page in the script's thread, and recording stops by itself at a maximum;
- :func:`live_stream` — every frame to a callback, for live prediction.

No STUN or TURN server is asked for (:data:`RTC_CONFIGURATION`): browser and server find each
other directly, which works on this computer (``localhost``) and on a local network, offline.
Browsers give the camera only to pages from ``localhost`` or ``https://``; the words around the
component (:func:`camera_help`) say what to do when the browser refuses or finds no camera,
since the component itself only shows the browser's error name.
"""

from __future__ import annotations

import queue
import threading
import time
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import streamlit as st

try:  # the camera is optional: without streamlit-webrtc the rest of the app works
    from streamlit_webrtc import WebRtcMode, webrtc_streamer
except ImportError:  # pragma: no cover - depends on the install
    webrtc_streamer = None

RTC_CONFIGURATION: dict[str, list] = {"iceServers": []}  # no STUN/TURN: localhost and local networks, offline
# Video only; 15 frames a second is plenty for pictures and predictions and spares the CPU.
MEDIA_CONSTRAINTS = {"video": {"frameRate": {"ideal": 15}}, "audio": False}
INSTALL_FIX = "install the camera component: `pip install streamlit-webrtc` (it comes with `pip install -e .`)."
_POLL_S = 0.1  # how often the script thread drains frames while recording
_STOP_TIMEOUT_S = 5.0  # an automatic stop the browser did not confirm is given up after this long

CAMERA_HELP = (
    "Press **Start** and allow the camera when the browser asks. "
    "**NotAllowedError** in the box means the browser was refused the camera: allow it (the camera icon in the "
    "address bar), then press Start again. **NotFoundError** or **NotReadableError**: no camera was found, or another "
    "program uses it; plug one in or close the other program. "
    "Browsers give the camera only to pages opened as `localhost` or `https://`: on another computer of the "
    "network, open the app through https, or use pictures from files instead."
)


def camera_available() -> bool:
    """True when streamlit-webrtc can be imported; otherwise the page has said what to install."""
    if webrtc_streamer is None:
        st.warning(f"The camera is not available on this server. Fix: {INSTALL_FIX}", icon=":material/videocam_off:")
        return False
    return True


# What the page gets where no browser can connect (streamlit's AppTest): a camera that is off.
_NOT_CONNECTED = SimpleNamespace(state=SimpleNamespace(playing=False, signalling=False))


def _served() -> bool:
    """True in a real ``streamlit run`` server; False under AppTest, whose runtime has no sessions
    for WebRTC to attach to (streamlit-webrtc would fail there)."""
    from streamlit.runtime import Runtime

    try:
        return Runtime.exists() and getattr(Runtime.instance(), "_session_mgr", None) is not None
    except Exception:  # a stand-in runtime (tests) answers oddly: no camera there
        return False


def _streamer(**kwargs):
    """``webrtc_streamer`` with our settings, or a camera that is off where no browser can connect."""
    if not _served():
        st.caption("The camera appears here when the app runs in a browser.")
        return _NOT_CONNECTED
    return webrtc_streamer(mode=WebRtcMode.SENDRECV, rtc_configuration=RTC_CONFIGURATION,
                           media_stream_constraints=MEDIA_CONSTRAINTS, **kwargs)


def camera_help() -> None:
    """What to do when the camera does not start, in plain words, below the component."""
    st.caption(CAMERA_HELP)


def _rgb(frame) -> np.ndarray:
    """An ``av.VideoFrame`` as an RGB uint8 (H, W, 3) array."""
    return frame.to_ndarray(format="rgb24")


class _BurstSampler:
    """Keeps one frame every ``interval_s`` seconds, from the component's thread, in a thread-safe queue."""

    def __init__(self, interval_s: float, max_frames: int):
        self.interval_s = interval_s
        self.max_frames = max_frames
        self._queue: queue.Queue[np.ndarray] = queue.Queue()
        self._lock = threading.Lock()
        self._last = float("-inf")
        self.kept = 0

    def reset(self, interval_s: float, max_frames: int) -> None:
        with self._lock:
            self.interval_s, self.max_frames = interval_s, max_frames
            self._last, self.kept = float("-inf"), 0
            while not self._queue.empty():
                self._queue.get_nowait()

    def __call__(self, frame):  # streamlit-webrtc's video_frame_callback: runs in its own thread
        now = time.monotonic()
        with self._lock:
            if self.kept < self.max_frames and now - self._last >= self.interval_s:
                self._last = now
                self.kept += 1
                self._queue.put(_rgb(frame))
        return frame

    def drain(self) -> list[np.ndarray]:
        frames = []
        while True:
            try:
                frames.append(self._queue.get_nowait())
            except queue.Empty:
                return frames


def _sampler(key: str, interval_s: float, max_frames: int) -> _BurstSampler:
    """This session's sampler for the recorder ``key`` (kept across reruns)."""
    name = f"_camera_sampler_{key}"
    sampler = st.session_state.get(name)
    if sampler is None:
        sampler = st.session_state[name] = _BurstSampler(interval_s, max_frames)
    return sampler


def record_burst(key: str, on_frames: Callable[[list[np.ndarray]], None], *, fps: float = 4.0,
                 max_frames: int = 60) -> None:
    """"Hold to record": a camera with Start/Stop; while recording, one picture every ``1/fps`` s.

    The pictures (RGB uint8 arrays, (H, W, 3)) are handed to ``on_frames`` in batches, in the
    script's thread, while recording goes on; recording stops by itself after ``max_frames``.
    While recording, this call holds the script in its loop until the page reruns (Stop, the
    automatic stop, any widget): what comes below it is drawn again only after recording, so put
    it last, and keep one recorder on a page (e.g. a class picker above one recorder). Let
    ``on_frames`` keep the pictures first (session state, disk) and draw afterwards: a rerun may
    interrupt it at any ``st`` call.

    Args:
        key: A name unique on the page (the component's key; also keeps this recorder's state).
        on_frames: Called with each batch of new pictures, oldest first.
        fps: Pictures kept a second (the camera itself runs at up to 15).
        max_frames: Recording stops after this many pictures.
    """
    if fps <= 0 or max_frames < 1:
        raise ValueError(f"fps must be positive and max_frames at least 1, got fps={fps!r}, max_frames={max_frames!r}")
    if not camera_available():
        return
    sampler = _sampler(key, 1.0 / fps, max_frames)
    stop_name = f"_camera_stop_{key}"
    stopping = st.session_state.get(stop_name)  # when the automatic stop was asked for
    if stopping is not None and time.monotonic() - stopping > _STOP_TIMEOUT_S:
        stopping = st.session_state[stop_name] = None
    ctx = _streamer(
        key=key, video_frame_callback=sampler,
        # Given, the component obeys it and hides its buttons: only for the one rerun that stops it.
        desired_playing_state=False if stopping is not None else None,
        translations={"start": "Start recording", "stop": "Stop recording"},
    )
    camera_help()
    status = st.empty()
    if not ctx.state.playing:
        if stopping is not None:
            st.session_state[stop_name] = None
            st.rerun()  # the buttons come back
        sampler.reset(1.0 / fps, max_frames)
        return
    if stopping is not None:  # wait for the browser to confirm; its answer reruns the page
        status.caption(f"{max_frames} pictures recorded: stopping…")
        while time.monotonic() - stopping < _STOP_TIMEOUT_S:
            time.sleep(_POLL_S)
        st.session_state[stop_name] = None
        st.rerun()
    while ctx.state.playing:  # a rerun (Stop, any widget) ends this loop; the sampler keeps its count
        done = sampler.kept >= max_frames  # read first: every kept frame is then in the queue
        batch = sampler.drain()
        if batch:
            on_frames(batch)
        status.caption(f":red[●] Recording: {sampler.kept} of {max_frames} pictures. "
                       "Press **Stop recording** to end.")
        if done:
            st.session_state[stop_name] = time.monotonic()
            st.rerun()
        time.sleep(_POLL_S)


def live_stream(key: str, on_frame: Callable[[np.ndarray], Any]):
    """A camera whose every frame (RGB uint8, (H, W, 3)) goes to ``on_frame``, in the component's thread.

    ``on_frame`` must return quickly (hand the frame over, e.g. :meth:`tlcore.LivePredictor.offer`)
    and must not call ``st``; the video shown back in the browser waits for it.

    Returns:
        The streamlit-webrtc context (``ctx.state.playing`` is True while the camera runs), or
        None when streamlit-webrtc is not installed (the page has said what to install).
    """
    if not camera_available():
        return None

    def callback(frame):
        on_frame(_rgb(frame))
        return frame

    ctx = _streamer(
        key=key, video_frame_callback=callback,
        translations={"start": "Start camera", "stop": "Stop camera"},
    )
    camera_help()
    return ctx


__all__ = ["CAMERA_HELP", "INSTALL_FIX", "MEDIA_CONSTRAINTS", "RTC_CONFIGURATION", "camera_available", "camera_help",
           "live_stream", "record_burst"]
