"""The classroom journey in a real browser, as a teacher does it: shared by the browser test and
``bench/classroom.py`` (which times it with 30 pictures a class).

Chromium's fake camera plays a generated video (tests/camera_video.py). One browser per kind of
video: the class "a" is recorded with a camera that shows kind "a", the class "b" with one that
shows "b" (on the same workspace, as two laptops of a class would), and the live answer is watched
with a camera whose video turns from "a" to "b".
"""

from __future__ import annotations

import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from browser_helpers import CHROMIUM_ARGS, no_exception, wait_idle
from camera_video import chromium_camera_args, write_y4m

LIVE_ANSWER = ".st-key-predict_live_answer"


@contextmanager
def camera_browser(playwright, video: Path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS + chromium_camera_args(video),
                                         headless=True)
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        page.set_default_timeout(60_000)
        yield page
    finally:
        browser.close()


def _webrtc(page, key: str):
    # streamlit-webrtc adds to its key in the element's class: st-key-<key>-frontend-…
    return page.frame_locator(f'[class*="st-key-{key}-"] iframe[title*="streamlit_webrtc"]')


def record_class(page, url: str, cls: str, shots: int, *, first: bool) -> None:
    """On the classroom page: (start the dataset,) add class ``cls`` and record ``shots`` pictures of it."""
    page.goto(url)
    wait_idle(page)
    no_exception(page)
    if first:
        page.get_by_placeholder("classroom").fill("classroom")
        page.get_by_role("button", name="Start").click()
        wait_idle(page)
    page.get_by_placeholder("e.g. thumbs up").fill(cls)
    page.get_by_role("button", name="Add class").click()
    wait_idle(page)
    page.get_by_role("tab", name=re.compile("Record")).click()
    camera = _webrtc(page, f"classroom_burst_{cls}")
    camera.get_by_role("button", name="Start recording").click()
    deadline = time.time() + 60 + shots
    while time.time() < deadline:
        status = page.get_by_text(re.compile(r"Recording: \d+ of")).all_inner_texts()
        done = int(re.search(r"Recording: (\d+) of", status[0]).group(1)) if status else 0
        if done >= shots:
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError(f"recording {cls!r} never reached {shots} pictures")
    camera.get_by_role("button", name="Stop recording").click()
    deadline = time.time() + 30
    while page.get_by_text(re.compile(r"Recording: \d+ of")).count() and time.time() < deadline:
        page.wait_for_timeout(250)  # the page is drawn again once the browser has stopped the camera
    wait_idle(page)
    no_exception(page)


def wait_trained(page, timeout_s: float = 300) -> None:
    page.get_by_text("It has learned").wait_for(timeout=timeout_s * 1000)
    wait_idle(page)
    no_exception(page)


def live_top_class(page) -> str | None:
    bars = page.locator(f'{LIVE_ANSWER} [data-testid="stProgress"]')
    if bars.count() == 0:
        return None
    try:
        return bars.first.inner_text(timeout=2000).split("—")[0].strip() or None
    except Exception:  # redrawn between count and read
        return None


def watch_live(page, wanted: list[str], timeout_s: float = 60) -> list[str | None]:
    """Start the live camera and wait until its top class has been each of ``wanted`` in turn."""
    _webrtc(page, "predict_live").get_by_role("button", name="Start camera").click()
    seen: list[str | None] = []
    deadline = time.time() + timeout_s
    for target in wanted:
        while time.time() < deadline:
            seen.append(live_top_class(page))
            if seen[-1] == target:
                break
            page.wait_for_timeout(250)
        else:
            raise AssertionError(f"the live answer never became {target!r}; seen {seen[-20:]}")
    return seen


def videos(folder: Path) -> dict[str, Path]:
    """The three fake cameras: only kind a, only kind b, and a then b."""
    return {"a": write_y4m(folder / "a.y4m", [("a", 30)]), "b": write_y4m(folder / "b.y4m", [("b", 30)]),
            "a-then-b": write_y4m(folder / "ab.y4m", [("a", 10), ("b", 10)])}
