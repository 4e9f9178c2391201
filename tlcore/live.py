"""Live prediction: a camera's frames in, the model's latest answer out, never lagging behind.

A camera delivers frames faster than a CPU can run a network on them (15-30 a second against a
few). :class:`LivePredictor` keeps only the newest frame: while the model is busy with one frame,
each frame that arrives replaces the one waiting, and the replaced frame is dropped. So the answer
shown is always about what the camera sees now, not about a queue of old frames.

Each frame is answered by :meth:`tlcore.predict.Predictor.answer`, the call the Predict page makes
for an uploaded picture: same resize, same model, same threshold and "I don't know". A frame saved
as a PNG and uploaded gets the same answer as the live frame.

    live = LivePredictor(load_predictor("runs/first"))
    live.offer(frame)            # from the camera's thread, returns at once
    live.latest().answer         # the newest answer (None until the first frame is answered)
    live.rate()                  # answers a second, measured over the last few seconds
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import TLCoreError
from .predict import Answer, Predictor

_IDLE_S = 5.0  # the worker thread ends after this long without frames; the next frame starts a new one


class FrameRate:
    """Events a second, measured over the last ``window_s`` seconds.

    Args:
        window_s: How far back to look. Short follows changes quickly; long is steadier.
        clock: Seconds as a float (``time.monotonic``; tests pass a fake clock).
    """

    def __init__(self, window_s: float = 3.0, clock: Callable[[], float] = time.monotonic):
        if window_s <= 0:
            raise ValueError(f"window_s must be a positive number of seconds, got {window_s!r}")
        self.window_s = float(window_s)
        self._clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self) -> None:
        """Count one event now."""
        with self._lock:
            self._times.append(self._clock())
            self._forget(self._times[-1])

    def rate(self) -> float | None:
        """Events a second over the window, or None before two events fall in it."""
        with self._lock:
            self._forget(self._clock())
            if len(self._times) < 2:
                return None
            span = self._times[-1] - self._times[0]
            return (len(self._times) - 1) / span if span > 0 else None

    def _forget(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()


@dataclass(frozen=True)
class LiveAnswer:
    """The model's answer for one camera frame.

    Attributes:
        answer: What :meth:`Predictor.answer` says for the frame (class, or "I don't know").
        frame_number: Which frame it is, counting every frame offered (1 = the first).
        seconds: How long the model took for it.
        at: When the answer was ready (the predictor's clock).
    """

    answer: Answer
    frame_number: int
    seconds: float
    at: float


@dataclass(frozen=True)
class LiveStats:
    """How live prediction keeps up: frames offered, answered and dropped, and the rates."""

    offered: int
    answered: int
    dropped: int
    answers_per_second: float | None
    frames_per_second: float | None


class LivePredictor:
    """Answers the newest camera frame with a :class:`Predictor`, dropping frames while busy.

    :meth:`offer` never waits for the model: it is safe to call from a camera's own thread.
    A worker thread answers the newest waiting frame (``background=True``); without it,
    :meth:`step` answers the waiting frame in the caller's thread (benchmarks, tests).

    Args:
        predictor: The loaded model (``load_predictor(run)``, as on the Predict page).
        top_k: How many of the most likely classes each answer lists.
        background: Answer in a worker thread, started by the first frame.
        clock: Seconds as a float, for the rates and ``LiveAnswer.at``.
        window_s: How far back the rates look.
    """

    def __init__(self, predictor: Predictor, *, top_k: int = 3, background: bool = True,
                 clock: Callable[[], float] = time.monotonic, window_s: float = 3.0):
        if not isinstance(top_k, int) or top_k < 1:
            raise TLCoreError(f"top_k is {top_k!r}, which is not allowed.", "use a whole number of at least 1.")
        self.predictor = predictor
        self.top_k = top_k
        self.background = background
        self._clock = clock
        self._answers = FrameRate(window_s, clock)
        self._frames = FrameRate(window_s, clock)
        self._wake = threading.Condition()
        self._waiting: tuple[int, np.ndarray] | None = None
        self._latest: LiveAnswer | None = None
        self._error: TLCoreError | None = None
        self._offered = self._answered = self._dropped = 0
        self._worker: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------ the camera's side

    def offer(self, frame: np.ndarray) -> bool:
        """Hand over the newest frame (RGB uint8, (H, W, 3)); returns at once.

        Returns:
            False when it replaced a frame the model had not reached (that frame is dropped).
        """
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[-1] not in (3, 4):
            raise TLCoreError(f"A camera frame has shape {frame.shape}; expected (height, width, 3).",
                              "give RGB frames as uint8 arrays (e.g. av.VideoFrame.to_ndarray(format='rgb24')).")
        with self._wake:
            if self._closed:
                return False
            self._offered += 1
            replaced = self._waiting is not None
            if replaced:
                self._dropped += 1
            self._waiting = (self._offered, frame)
            self._frames.tick()
            if self.background and (self._worker is None or not self._worker.is_alive()):
                self._worker = threading.Thread(target=self._work, name="tlcore-live", daemon=True)
                self._worker.start()
            self._wake.notify()
        return not replaced

    # ------------------------------------------------------------ the model's side

    def step(self) -> LiveAnswer | None:
        """Answer the waiting frame now, in this thread (None when no frame waits)."""
        with self._wake:
            waiting, self._waiting = self._waiting, None
        if waiting is None:
            return None
        return self._answer(*waiting)

    def _answer(self, number: int, frame: np.ndarray) -> LiveAnswer | None:
        start = self._clock()
        try:
            answer = self.predictor.answer([frame], top_k=min(self.top_k, max(1, len(self.predictor.classes))))[0]
        except TLCoreError as err:
            with self._wake:
                self._error = err
            return None
        done = self._clock()
        live = LiveAnswer(answer, number, done - start, done)
        with self._wake:
            self._latest, self._error = live, None
            self._answered += 1
        self._answers.tick()
        return live

    def _work(self) -> None:
        while True:
            with self._wake:
                if self._waiting is None and not self._closed:
                    self._wake.wait(timeout=_IDLE_S)
                if self._closed or self._waiting is None:
                    if self._worker is threading.current_thread():
                        self._worker = None  # the next frame starts a new worker
                    return
                waiting, self._waiting = self._waiting, None
            self._answer(*waiting)

    # ------------------------------------------------------------ what the page reads

    def latest(self) -> LiveAnswer | None:
        """The newest answer (None until a frame has been answered)."""
        with self._wake:
            return self._latest

    @property
    def error(self) -> TLCoreError | None:
        """The problem with the last frame tried, if the model could not answer it."""
        with self._wake:
            return self._error

    def rate(self) -> float | None:
        """Frames answered a second over the last few seconds (None before two answers)."""
        return self._answers.rate()

    def stats(self) -> LiveStats:
        """Frames offered, answered and dropped, with the answer and camera rates."""
        with self._wake:
            offered, answered, dropped = self._offered, self._answered, self._dropped
        return LiveStats(offered, answered, dropped, self._answers.rate(), self._frames.rate())

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the worker thread (the frame it is on is finished first); later frames are refused."""
        with self._wake:
            self._closed = True
            self._waiting = None
            worker = self._worker
            self._wake.notify_all()
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout_s)


__all__ = ["FrameRate", "LiveAnswer", "LivePredictor", "LiveStats"]
