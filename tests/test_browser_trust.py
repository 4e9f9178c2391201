"""Trust your model, in a real browser: on the Evaluate page of a two-class run, choose the threshold
by a target sensitivity, see the confusion matrix change, press "Use this threshold", and see the
Predict page decide at it — with "I don't know" and where the model looks.

Two runs of the same journey: generated pictures with random weights (fast, offline), and a part of
the chest X-ray set with the real ImageNet MobileNetV2 (realistic numbers; with
``TLCORE_UPDATE_SCREENSHOTS=1`` its screenshots replace the README's ``docs/screenshots/5_trust_*.png``).
"""

# ruff: noqa: F811  (the tests take the imported `browser` fixture as a parameter)
from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from browser_helpers import ROOT, browser, go_to, no_exception, start_server, wait_idle  # noqa: F401  (browser: a fixture)
from PIL import Image
from test_pages_trust import write_two_class_dataset

from tlcore.config import TrainConfig
from tlcore.runs import RunFolder
from tlcore.train import train
from tlcore.workspace import Workspace

ARTIFACTS = ROOT / "tests" / "artifacts" / "trust"
SCREENSHOTS = ROOT / "docs" / "screenshots"
SESSION = "trustbrowser01"
RUN_ID = "20250103-080000-two-classes"

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1200)]


def _sample(source: Path, target: Path, count: int, seed: int) -> None:
    files = sorted(p for p in source.iterdir() if p.is_file())
    target.mkdir(parents=True)
    for path in random.Random(seed).sample(files, min(count, len(files))):
        shutil.copyfile(path, target / path.name)


def chest_xray_part(root: Path, chest_xray_dir: Path) -> Path:
    """A few hundred of the chest X-rays, keeping the set's imbalance and its test folder."""
    for split, counts in (("train", {"NORMAL": 150, "PNEUMONIA": 300}), ("test", {"NORMAL": 100, "PNEUMONIA": 150})):
        for name, count in counts.items():
            _sample(chest_xray_dir / split / name, root / split / name, count, seed=len(name))
    return root


@pytest.fixture(params=["generated", pytest.param("chest_xray", marks=pytest.mark.real_data)])
def journey(request, tmp_path, random_weights):
    """The data, a trained two-class run in the session's workspace, and the pictures to try on Predict."""
    workspace = tmp_path / "workspace"
    ws = Workspace.for_session(SESSION, workspace)
    if request.param == "generated":
        data = write_two_class_dataset(tmp_path / "two")
        config = TrainConfig(data=str(data), weights=random_weights, layer="block_2_add", image_size=32, epochs=30,
                             batch_size=8, learning_rate=1e-2)
        known = min((data / "test" / "sick").glob("*.png"))
        odd = tmp_path / "blank_card.png"
        Image.fromarray(np.full((64, 64, 3), 255, np.uint8)).save(odd)
    else:
        request.getfixturevalue("real_keras_home")  # sets KERAS_HOME to the real weights
        data = chest_xray_part(tmp_path / "chest_xray", request.getfixturevalue("chest_xray_dir"))
        config = TrainConfig(data=str(data), epochs=15)
        known = min((data / "test" / "PNEUMONIA").iterdir())
        bees = request.getfixturevalue("hymenoptera_dir") / "val" / "bees"
        odd = min(p for p in bees.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    result = train(config, ws.runs_dir / RUN_ID, workspace=ws)
    assert result.status == "finished"
    return {"name": request.param, "workspace": workspace, "run": RunFolder(ws.runs_dir / RUN_ID),
            "known": known, "odd": odd, "screenshots": request.param == "chest_xray" and bool(os.environ.get("TLCORE_UPDATE_SCREENSHOTS"))}


def _grow(page) -> None:
    """Streamlit scrolls inside its main section: grow the window to the content for whole-page shots."""
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=\"stMain\"], "
        "[data-testid=\"stAppViewContainer\"]')).map(e => e.scrollHeight), document.body.scrollHeight)")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(max(int(height) + 40, 1000), 12000)})
    page.wait_for_timeout(800)
    wait_idle(page)
    page.wait_for_timeout(1500)  # plotly draws after the script run


def shoot(page, journey, name: str, start: str | None = None, end: str | None = None) -> None:
    """A screenshot of the page, or of the part from heading ``start`` to heading ``end``, into
    tests/artifacts/trust/<data>/ (and docs/screenshots/ for the real-data run)."""
    _grow(page)
    folder = ARTIFACTS / journey["name"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if start is not None:
        top = page.get_by_role("heading", name=start).first.bounding_box()["y"] - 16
        # The last section ends at the page's "Next: …" link.
        below = page.get_by_role("heading", name=end).first if end else page.locator('[data-testid="stPageLink"]').last
        bottom = below.bounding_box()["y"] - 16
        with Image.open(path) as image:
            left = int(page.locator('[data-testid="stMain"]').bounding_box()["x"])
            image.crop((left, max(0, int(top)), image.width, int(bottom))).save(path)
    if journey["screenshots"]:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / f"{name}.png")


def validation_counts(page) -> str:
    """The validation pictures' confusion matrix in words (the first such line; the test pictures' follows)."""
    return page.get_by_text("pictures it finds").first.inner_text()


def test_pick_a_threshold_see_the_matrix_change_and_predict_use_it(journey, browser):
    server = start_server(journey["workspace"])
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{server.url}/evaluate?ws={SESSION}")
        wait_idle(page)
        page.get_by_role("heading", name="Where the cut-off goes").wait_for()
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        no_exception(page)
        shoot(page, journey, "5_trust_intervals", "1 · Overall", "2 · Which classes get mixed up")
        shoot(page, journey, "5_trust_calibration", "Can you believe the percentages?", "Where the cut-off goes")
        shoot(page, journey, "5_trust_unknown", "say “I don't know”")
        page.set_viewport_size({"width": 1400, "height": 1000})
        before = validation_counts(page)

        # A radiologist must miss few pneumonias: the threshold that finds 99 % of them on validation.
        page.get_by_text("Reach a sensitivity", exact=True).click()
        wait_idle(page)
        thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Target sensitivity").get_by_role("slider")
        thumb.focus()
        for _ in range(8):  # 95 % → 99 % in steps of 0.5
            page.keyboard.press("ArrowRight")
        wait_idle(page)
        page.wait_for_timeout(1000)
        wait_idle(page)
        no_exception(page)
        after = validation_counts(page)
        assert after != before, (before, after)
        assert "misses 0" in after, after  # 99 % of 10 (or of a few dozen) leaves none to miss on validation
        shoot(page, journey, "5_trust_operating_point", "Where the cut-off goes", "say “I don't know”")
        page.set_viewport_size({"width": 1400, "height": 1000})

        page.get_by_role("button", name="Use this threshold").click()
        page.get_by_text("Saved: threshold").wait_for()
        no_exception(page)
        trust = json.loads(journey["run"].trust_path.read_text())
        assert trust["rule"] == "sensitivity" and trust["target"] == pytest.approx(0.99)
        threshold = f"{trust['threshold']:.3f}"
        assert threshold in page.get_by_text("Saved: threshold").inner_text()

        # The pictures it now gets wrong, and where it looked in each.
        page.get_by_text("Show where the model looks", exact=True).click()
        wait_idle(page)
        page.get_by_text("Red marks where the model looked").wait_for()
        no_exception(page)
        shoot(page, journey, "5_trust_mistakes_heatmap", "4 · Pictures it got wrong",
              "Can you believe the percentages?")
        page.set_viewport_size({"width": 1400, "height": 1000})

        go_to(page, "Predict")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
            [str(journey["known"]), str(journey["odd"])])
        page.get_by_role("heading", name="What the model sees").wait_for()
        wait_idle(page)
        no_exception(page)
        said = page.get_by_text("A picture is called").first.inner_text()
        assert f"threshold {threshold}" in said and "target sensitivity of 99.0 %" in said, said
        page.get_by_text("I don't know —").first.wait_for()
        shoot(page, journey, "5_trust_predict_unknown")
        page.set_viewport_size({"width": 1400, "height": 1000})

        page.locator('[data-testid="stSelectbox"]').filter(has_text="Show where the model looks").click()
        page.get_by_role("option", name="For its answer").click()
        page.get_by_text("Where it looks for").first.wait_for()
        wait_idle(page)
        no_exception(page)
        shoot(page, journey, "5_trust_predict_heatmap")
        context.close()
    finally:
        server.stop()
