"""Live prediction in a real browser: Chromium's fake camera plays a video of kind "a" frames, then
kind "b" frames (tests/camera_video.py); on Predict → Live camera, after "Start camera", the live bars'
top class is "a" while the video shows "a" and changes to "b" when the video does.

The run is trained (random weights, small pictures: seconds) on pictures of the two kinds made by
the same generator as the video, so the right answer is known. Without a camera, the browser's
error is shown and the page says what to do.
"""

from __future__ import annotations

import shutil
import time

import pytest
from browser_helpers import CHROMIUM_ARGS, ROOT, no_exception, start_server, wait_idle
from camera_video import chromium_camera_args, write_kind_pictures, write_y4m

from tlcore.config import TrainConfig
from tlcore.train import train
from tlcore.workspace import Workspace

SESSION = "livebrowser01"
RUN_ID = "20250104-090000-live-a-b"
ANSWER = ".st-key-predict_live_answer"  # the container ui.live redraws
CAMERA_FRAME = 'iframe[title*="streamlit_webrtc"]'  # the camera component (its buttons are inside)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def server(tmp_path_factory, random_weights):
    """The app, with a run trained on pictures of kinds "a" and "b" in the session's workspace."""
    tmp_path = tmp_path_factory.mktemp("live")
    workspace = tmp_path / "workspace"
    ws = Workspace.for_session(SESSION, workspace)
    data = tmp_path / "kinds"
    for kind in ("a", "b"):
        write_kind_pictures(data / kind, kind, 24, seed=ord(kind))
    # A random MobileNetV2's deeper features hardly differ between pictures; its first layer keeps colour.
    config = TrainConfig(data=str(data), weights=random_weights, layer="Conv1_relu", image_size=32, epochs=15,
                         batch_size=8, learning_rate=1e-2)
    result = train(config, ws.runs_dir / RUN_ID, workspace=ws)
    assert result.status == "finished"
    app = start_server(workspace)
    yield app
    app.stop()


def _page(p, camera_args: list[str]):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.fail("Debian's chromium is not installed: run `make browser` (apt-get install chromium).")
    browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS + camera_args, headless=True)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(60_000)
    return browser, page


@pytest.fixture
def playwright():
    with pytest.importorskip("playwright.sync_api").sync_playwright() as p:
        yield p


def _open_live_camera(page, server) -> None:
    page.goto(f"{server.url}/predict?ws={SESSION}")
    wait_idle(page)
    no_exception(page)
    page.get_by_text("Live camera", exact=True).click()
    page.locator(ANSWER).get_by_text("Camera off").wait_for()
    wait_idle(page)


def _top_class(page) -> str | None:
    """The class of the first live bar ("a — 97%" → "a"), or None before the first answer."""
    bars = page.locator(f'{ANSWER} [data-testid="stProgress"]')
    if bars.count() == 0:
        return None
    try:
        text = bars.first.inner_text(timeout=2000)
    except Exception:  # redrawn between count and read
        return None
    return text.split("—")[0].strip() or None


def _wait_for_top(page, wanted: str, timeout_s: float) -> list[str | None]:
    seen = []
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        seen.append(_top_class(page))
        if seen[-1] == wanted:
            return seen
        page.wait_for_timeout(250)
    raise AssertionError(f"the live answer never became {wanted!r}; seen {seen[-20:]}")


def test_live_bars_follow_the_camera_from_a_to_b(server, playwright, tmp_path):
    video = write_y4m(tmp_path / "camera.y4m", [("a", 8), ("b", 8)])  # 8 s of "a", 8 s of "b", again
    browser, page = _page(playwright, chromium_camera_args(video))
    try:
        _open_live_camera(page, server)
        camera = page.frame_locator(CAMERA_FRAME)
        camera.get_by_role("button", name="Start camera").click()
        _wait_for_top(page, "a", timeout_s=45)
        _wait_for_top(page, "b", timeout_s=20)  # the video turns to "b" 8 s after it starts
        rate = page.locator(ANSWER).locator("p", has_text="The model answers").first.inner_text()
        assert float(rate.split("answers")[1].split("times")[0]) > 0, rate
        no_exception(page)
        shots = ROOT / "tests" / "artifacts" / "live"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "predict_live.png"), full_page=True)
        camera.get_by_role("button", name="Stop camera").click()
        page.locator(ANSWER).get_by_text("Camera off").wait_for()
        no_exception(page)
    finally:
        browser.close()


def test_no_camera_is_named_and_the_page_says_what_to_do(server, playwright):
    browser, page = _page(playwright, ["--use-fake-ui-for-media-stream"])  # permission granted, but no camera
    try:
        _open_live_camera(page, server)
        camera = page.frame_locator(CAMERA_FRAME)
        camera.get_by_role("button", name="Start camera").click()
        camera.get_by_text("NotFoundError").wait_for()  # the browser's own error, shown by the component
        said = page.get_by_text("NotFoundError or NotReadableError").inner_text()
        assert "no camera was found" in said and "localhost" in said, said
        assert page.locator(ANSWER).get_by_text("Camera off").count() == 1
        no_exception(page)
    finally:
        browser.close()
