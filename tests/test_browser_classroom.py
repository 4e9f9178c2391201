"""The classroom in a real browser with Chromium's fake camera: two classes recorded from the camera,
training that starts by itself, the plain-words summary, and live answers that follow the video
from "a" to "b" (the shared steps are in tests/classroom_flow.py)."""

from __future__ import annotations

import re
import zipfile

import pytest
from browser_helpers import ROOT, no_exception, start_server, wait_idle
from classroom_flow import camera_browser, record_class, videos, wait_trained, watch_live

from tlcore import CaptureFolder, Workspace

SESSION = "classroom0001"
SHOTS = 12  # a class needs 10; a burst keeps 4 a second

pytestmark = [pytest.mark.browser, pytest.mark.real_data, pytest.mark.timeout(600)]


def test_two_classes_from_the_camera_train_and_answer_live(tmp_path, real_keras_home):
    playwright_api = pytest.importorskip("playwright.sync_api")
    cameras = videos(tmp_path)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    server = start_server(workspace)
    url = f"{server.url}/classroom?ws={SESSION}"
    shots = ROOT / "tests" / "artifacts" / "classroom"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with playwright_api.sync_playwright() as p:
            with camera_browser(p, cameras["a"]) as page:
                record_class(page, url, "a", SHOTS, first=True)
                assert "Still needed" in page.inner_text("body")
                page.screenshot(path=str(shots / "classroom_record.png"), full_page=True)
                not_a_picture = tmp_path / "notes.jpg"  # bad input: named like a photo, but text
                not_a_picture.write_text("not a photo")
                page.get_by_role("tab", name=re.compile("From files")).click()
                wait_idle(page)
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(not_a_picture))
                page.get_by_text("“notes.jpg”: This file is not a picture").wait_for()
                page.goto(url.replace("/classroom?", "/?"))  # the same pictures, on the Data page (the default page)
                wait_idle(page)
                heading = page.get_by_text(re.compile(r"a · \d+ pictures")).first
                for _ in range(3):  # a click that lands during a rerun of the page is lost: click again
                    page.get_by_role("tab", name=re.compile("Make them with the camera")).click()
                    try:
                        heading.wait_for(timeout=15_000)
                        break
                    except Exception:
                        wait_idle(page)
                heading.wait_for()
                no_exception(page)
                page.screenshot(path=str(shots / "data_camera.png"), full_page=True)
                with page.expect_download() as download:  # the zip is made when the button is pressed
                    page.get_by_role("button", name=re.compile("Download as a zip")).click()
                names = zipfile.ZipFile(download.value.path()).namelist()
                assert len(names) >= SHOTS and all(n.startswith("classroom/a/rec-") for n in names), names
            with camera_browser(p, cameras["b"]) as page:  # a second laptop on the same workspace
                record_class(page, url, "b", SHOTS, first=False)
                wait_trained(page)  # started by itself: no Train button was pressed
            ws = Workspace.for_session(SESSION, workspace)
            folder = CaptureFolder.open(ws, ws.datasets_dir / "camera-classroom")
            assert all(n >= SHOTS for n in folder.counts().values()) and folder.classes() == ["a", "b"]
            assert len(list(ws.runs_dir.iterdir())) == 1
            with camera_browser(p, cameras["a-then-b"]) as page:
                page.goto(url)
                wait_trained(page)
                body = page.inner_text("body")
                assert "It learned to tell “a” and “b” apart." in body, body[-2000:]
                # one recording a class: the validation pictures share it, and the page says the score is optimistic
                assert "came from a recording it also learned from" in body
                seen = watch_live(page, ["a", "b"], timeout_s=90)
                assert "a" in seen and seen[-1] == "b"
                no_exception(page)
                page.screenshot(path=str(shots / "classroom_live.png"), full_page=True)
    except Exception:
        print(server.log_tail(4000))
        raise
    finally:
        server.stop()
