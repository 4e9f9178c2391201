"""Live prediction (tlcore.live): a camera frame gets the answer an uploaded picture gets, frames that
arrive while the model is busy are dropped (the newest wins), and the rates are measured.
The Predict page's "Live camera" section is opened through AppTest (no camera there: it says how to start)."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from camera_video import kind_frame
from export_helpers import CLASSES, fitted_classifier, make_images
from export_helpers import write_run as write_model_run
from PIL import Image

from tlcore.errors import TLCoreError
from tlcore.live import FrameRate, LivePredictor
from tlcore.predict import Answer, load_predictor
from tlcore.runs import RunFolder


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    model, arrays = fitted_classifier(make_images(root))
    write_model_run(root / "run", model, arrays)
    return load_predictor(root / "run")


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SlowPredictor:
    """Answers only when the test lets it (``go``), and remembers which frames it saw."""

    classes = ["a", "b"]
    trust = None

    def __init__(self):
        self.go = threading.Event()
        self.started = threading.Event()
        self.seen: list[int] = []

    def answer(self, images, top_k=3):
        self.started.set()
        self.go.wait(10)
        self.seen.append(int(images[0][0, 0, 0]))
        return [Answer("a", 0.9, [("a", 0.9), ("b", 0.1)][:top_k])]


def _frame(value: int) -> np.ndarray:
    return np.full((4, 4, 3), value, np.uint8)


def test_a_frame_gets_the_answer_its_picture_gets_on_the_predict_page(predictor):
    live = LivePredictor(predictor, top_k=2, background=False)
    frame = kind_frame("a", (320, 240), seed=3)
    assert live.offer(frame)
    got = live.step()
    assert got is not None and got.frame_number == 1 and got.seconds >= 0
    png = io.BytesIO()
    Image.fromarray(frame).save(png, format="PNG")
    png.seek(0)
    png.name = "frame.png"
    uploaded = predictor.answer([png], top_k=2)[0]  # what the Predict page asks for an upload
    assert got.answer.label == uploaded.label and got.answer.unknown == uploaded.unknown
    assert [c for c, _ in got.answer.top] == [c for c, _ in uploaded.top]
    np.testing.assert_allclose([p for _, p in got.answer.top], [p for _, p in uploaded.top], atol=1e-6)
    assert live.latest() is got
    assert live.step() is None  # nothing waits any more


def test_top_k_is_clipped_to_the_classes_and_checked(predictor):
    live = LivePredictor(predictor, top_k=5, background=False)
    live.offer(kind_frame("b"))
    assert len(live.step().answer.top) == len(CLASSES)
    with pytest.raises(TLCoreError, match="top_k"):
        LivePredictor(predictor, top_k=0)
    with pytest.raises(TLCoreError, match="shape"):
        live.offer(np.zeros((5, 5), np.uint8))


def test_frames_that_arrive_while_the_model_is_busy_are_dropped_and_the_newest_wins():
    slow = SlowPredictor()
    live = LivePredictor(slow, top_k=2)
    try:
        assert live.offer(_frame(1))
        assert slow.started.wait(5)  # the model is busy with frame 1
        assert live.offer(_frame(2))
        assert not live.offer(_frame(3))  # frame 2 never reached the model: replaced
        assert not live.offer(_frame(4))
        t0 = time.monotonic()
        for value in range(5, 50):
            live.offer(_frame(value))
        assert time.monotonic() - t0 < 1.0, "offer must never wait for the model"
        slow.go.set()
        deadline = time.time() + 5
        while live.stats().answered < 2 and time.time() < deadline:
            time.sleep(0.01)
        stats = live.stats()
        assert slow.seen == [1, 49]  # the first frame, then the newest: none of the stale ones
        assert (stats.offered, stats.answered, stats.dropped) == (49, 2, 47)
        assert live.latest().frame_number == 49
    finally:
        slow.go.set()
        live.close()
    assert not live.offer(_frame(7))  # closed: refused


def test_the_worker_thread_ends_when_closed_and_a_live_model_keeps_up(predictor):
    live = LivePredictor(predictor, top_k=1)
    frame = kind_frame("a")
    deadline = time.time() + 20
    while live.stats().answered < 4 and time.time() < deadline:
        live.offer(frame)
        time.sleep(0.01)
    stats = live.stats()
    assert stats.answered >= 4 and stats.offered >= stats.answered + stats.dropped
    assert live.rate() is not None and live.rate() > 0
    live.close()
    assert not any(t.name == "tlcore-live" and t.is_alive() for t in threading.enumerate())


def test_frame_rate_counts_events_in_its_window():
    clock = FakeClock()
    rate = FrameRate(window_s=2.0, clock=clock)
    assert rate.rate() is None
    for _ in range(11):  # 10 intervals of 0.1 s: 10 a second
        rate.tick()
        clock.now += 0.1
    assert rate.rate() == pytest.approx(10.0)
    clock.now += 5  # nothing for 5 s: the window is empty again
    assert rate.rate() is None
    with pytest.raises(ValueError, match="window_s"):
        FrameRate(window_s=0)


def test_an_error_in_the_model_is_kept_for_the_page_not_raised_in_the_camera_thread():
    class Broken:
        classes, trust = ["a"], None

        def answer(self, images, top_k=3):
            raise TLCoreError("The model gives 3 outputs but labels.json names 1 classes.", "keep the labels.json.")

    live = LivePredictor(Broken(), background=False)
    live.offer(_frame(1))
    assert live.step() is None
    assert "labels.json" in str(live.error)


# ------------------------------------------------------------------ the Predict page, without a camera


def test_predict_page_offers_the_live_camera_and_says_how_to_start_it(predictor, monkeypatch, tmp_path):
    from test_pages import PAGES, SESSION, assert_clean, open_page, texts

    ws_root = tmp_path / "ws"
    monkeypatch.setenv("TLCORE_WORKSPACE", str(ws_root))
    monkeypatch.delenv("TLCORE_DATA_ROOTS", raising=False)
    run_dir = ws_root / "sessions" / SESSION / "runs" / "20250101-120000-live"
    RunFolder(run_dir).path.parent.mkdir(parents=True)
    import shutil

    shutil.copytree(predictor.source.parent, run_dir)
    folder = RunFolder(run_dir)
    for event in ({"t": time.time() - 5, "type": "status", "status": "running"},
                  {"t": time.time(), "type": "status", "status": "finished", "accuracy": 0.8, "seconds": 3.0}):
        folder.emit(event)
    at = open_page(PAGES[4])
    assert_clean(at)
    assert at.radio(key="predict_source").value == "Pictures"
    at.radio(key="predict_source").set_value("Live camera").run()
    assert_clean(at)
    shown = texts(at)
    assert "Camera off" in shown and "Start camera" in shown
    assert "NotAllowedError" in shown  # what to do when the browser refuses the camera
    assert not at.get("file_uploader")  # the upload flow is for "Pictures"
