"""The main journey in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Upload a zip of sample_data/shapes → pick a small model → train to the end → see the curves
and the confusion matrix → predict one picture → download the .keras file, which must load
and predict the same as the run's own model with tlcore. A screenshot of every page is saved
to tests/artifacts/ (CI artifacts) and copied to docs/screenshots/ (the README tour).
"""

from __future__ import annotations

import shutil
import zipfile

import pytest

from browser_helpers import ROOT, browser, go_to, no_exception, small_model, start_server, wait_idle  # noqa: F401  (browser: a fixture)

ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
TRAIN_TIMEOUT_S = 300

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


@pytest.fixture(params=["none", pytest.param("imagenet", marks=pytest.mark.real_data)])
def weights(request):
    """Random weights (fast, offline, always) and real ImageNet weights from ../shared (the README shots)."""
    if request.param == "imagenet":
        request.getfixturevalue("real_keras_home")  # fails loudly without ../shared; sets KERAS_HOME
    return request.param


@pytest.fixture
def server(tmp_path_factory, weights):
    """`streamlit run app.py` on a free local port with its own workspace (the jobs inherit KERAS_HOME)."""
    workspace = tmp_path_factory.mktemp("workspace")
    running = start_server(workspace)
    yield {"url": running.url, "workspace": workspace}
    running.stop()


def charts(page, at_least: int = 1) -> int:
    """Number of plotly charts, after waiting for the first ones to draw (they load lazily)."""
    page.locator('[data-testid="stPlotlyChart"]').nth(at_least - 1).wait_for(timeout=60_000)
    return page.locator('[data-testid="stPlotlyChart"]').count()


def screenshot(page, name: str, weights: str) -> None:
    """tests/artifacts/<weights>/<name>.png, copied to docs/screenshots/ for the README tour."""
    (ARTIFACTS / weights).mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / weights / f"{name}.png"
    # Streamlit scrolls inside its main section, so grow the window to the content for a whole-page shot.
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=\"stMain\"], section.main, "
        "[data-testid=\"stAppViewContainer\"]')).map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(max(int(height) + 40, size["height"]), 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    shutil.copyfile(path, SCREENSHOTS / f"{name}.png")


def click_matrix_cell(page, row: int, col: int, n: int) -> None:
    """Click the centre of one confusion-matrix cell (row = true class, col = predicted)."""
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.locator(".nsewdrag").first.wait_for()
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)  # plotly finishes its first draw
    box = chart.locator(".nsewdrag").first.bounding_box()
    x = box["x"] + (col + 0.5) * box["width"] / n
    y = box["y"] + (row + 0.5) * box["height"] / n
    page.mouse.click(x, y)
    wait_idle(page)


def test_whole_journey_in_the_browser(server, browser, tmp_path, weights, shapes_dir):
    from playwright.sync_api import expect

    zip_path = tmp_path / "shapes.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        for path in sorted(shapes_dir.rglob("*")):
            if path.is_file():
                zf.write(path, f"shapes/{path.relative_to(shapes_dir).as_posix()}")

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    # The first request is a page's own link, as after a server restart: it must still open inside the app.
    page.goto(server["url"] + "/data")
    page.get_by_text("Choose your images").first.wait_for()
    wait_idle(page)
    assert "ws=" in page.url, "the session's workspace is kept in the link"
    assert "Training on" in page.locator('[data-testid="stSidebar"]').inner_text()

    # ---- 1. Data: upload the zip
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(zip_path))
    page.get_by_text("What we found").first.wait_for(timeout=120_000)
    wait_idle(page)
    no_exception(page)
    metrics = page.locator('[data-testid="stMetric"]')
    assert "3" in metrics.filter(has_text="Classes").first.inner_text()
    assert charts(page) >= 1, "per-class bar chart"
    assert page.locator('[data-testid="stImage"]').count() >= 3, "sample grid"
    assert "shapes" in page.locator('[data-testid="stSidebar"]').inner_text()
    screenshot(page, "1_data", weights)

    # ---- 2. Model: small and quick settings
    go_to(page, "Model")
    page.get_by_text("Where to cut the network").first.wait_for()
    if weights == "none":
        page.get_by_text("Random start (no pretraining").click()
        wait_idle(page)
    small_model(page, 64 if weights == "none" else 96)
    page.get_by_text("Trainable parameters").first.wait_for(timeout=120_000)
    page.get_by_text("All times here are estimates").first.wait_for(timeout=180_000)  # the timed estimate
    no_exception(page)
    screenshot(page, "2_model", weights)

    # ---- 3. Train: start, watch, finish
    go_to(page, "Train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training finished").first.wait_for(timeout=TRAIN_TIMEOUT_S * 1000)
    wait_idle(page)
    no_exception(page)
    assert charts(page, 2) >= 2, "loss and accuracy curves"
    assert page.locator('[data-testid="stProgress"]').count() >= 1
    screenshot(page, "3_train", weights)

    # A reload comes back to the same workspace and shows the run again.
    page.reload()
    page.get_by_text("Training finished").first.wait_for()
    assert "shapes" in page.locator('[data-testid="stSidebar"]').inner_text()

    # ---- 4. Evaluate: accuracy and confusion matrix
    go_to(page, "Evaluate")
    page.get_by_text("Which classes get mixed up").first.wait_for()
    wait_idle(page)
    no_exception(page)
    assert charts(page) >= 1, "confusion matrix"
    assert page.locator('[data-testid="stMetric"]').filter(has_text="Accuracy").count() >= 1
    # Clicking the cell "true circle, predicted square" filters the mistakes to that cell.
    click_matrix_cell(page, row=0, col=1, n=3)
    true_box = page.locator('[data-testid="stSelectbox"]').filter(has_text="True class")
    pred_box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Predicted as")
    expect(true_box.get_by_role("combobox")).to_have_value("circle", timeout=30_000)
    expect(pred_box.get_by_role("combobox")).to_have_value("square", timeout=30_000)
    page.get_by_role("button", name="Show all").click()
    wait_idle(page)
    screenshot(page, "4_evaluate", weights)

    # ---- 5. Predict one picture
    go_to(page, "Predict")
    picture = next((shapes_dir / "val" / "circle").glob("*.png"))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(picture))
    page.get_by_text("What the model sees").first.wait_for(timeout=120_000)
    wait_idle(page)
    no_exception(page)
    # the answer with its probability, or (a barely trained random start) "I don't know" and why
    answers = page.locator("h3").filter(has_text="%").count() + page.locator("h3").filter(has_text="I don't know").count()
    assert answers >= 1, "the answer, or I don't know"
    screenshot(page, "5_predict", weights)

    # ---- 6. Runs & export: download the .keras file
    go_to(page, "Runs & export")
    page.get_by_text("Download a model").first.wait_for()
    wait_idle(page)
    no_exception(page)
    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name="Keras model (.keras)").click()
    download = download_info.value
    downloaded = tmp_path / "downloaded.keras"
    download.save_as(str(downloaded))
    # SavedModel, TFLite and the model card are made in the background, then offered for download.
    page.get_by_role("button", name="Make SavedModel, TFLite and model card").click()
    try:
        page.get_by_role("button", name="TensorFlow Lite", exact=True).wait_for(timeout=300_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / weights / "6_runs_export_failed.png"), full_page=True)
        raise
    page.get_by_role("button", name="Model card (.md)").wait_for()
    wait_idle(page)
    no_exception(page)
    screenshot(page, "6_runs", weights)
    context.close()

    # The downloaded file loads with tlcore and predicts like the run's own model.
    from tlcore.predict import load_model, predict_images

    runs = list((server["workspace"] / "sessions").glob("*/runs/*/model.keras"))
    assert len(runs) == 1
    from_run = load_model(runs[0].parent)
    from_download = load_model(downloaded)
    probe = [str(p) for p in sorted((shapes_dir / "val").rglob("*.png"))[:6]]
    a = from_run.predict_proba(probe)
    b = from_download.predict_proba(probe)
    assert a.shape == (6, 3) and b.shape == (6, 3)
    assert abs(a - b).max() < 1e-5
    top = predict_images(from_download, probe[:1], top_k=2)
    assert len(top) == 1 and len(top[0]) == 2


def test_confusion_matrix_cell_can_be_clicked_again_after_show_all(browser, tmp_path):
    """A real click in Plotly, twice on the same cell after "Show all" (no training: a written run folder)."""
    from playwright.sync_api import expect
    from test_pages import make_dataset, write_run

    workspace = tmp_path / "workspace"
    code = "browsersession01"
    env = {"session_dir": workspace / "sessions" / code, "data_root": tmp_path / "data"}
    make_dataset(env["data_root"] / "shapes")
    write_run(env, "20250101-120000-mobilenetv2-fe")
    running = start_server(workspace)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{running.url}/evaluate?ws={code}")
        page.get_by_text("Which classes get mixed up").first.wait_for()
        wait_idle(page)
        no_exception(page)
        true_box = page.locator('[data-testid="stSelectbox"]').filter(has_text="True class").get_by_role("combobox")
        pred_box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Predicted as").get_by_role("combobox")

        def outlines() -> int:
            return page.evaluate("() => document.querySelectorAll('[data-testid=\"stPlotlyChart\"] "
                                 ".js-plotly-plot')[0]._fullLayout.shapes.filter(s => s.type === 'rect').length")

        click_matrix_cell(page, row=1, col=0, n=3)  # true square, predicted circle
        expect(true_box).to_have_value("square", timeout=30_000)
        expect(pred_box).to_have_value("circle")
        assert outlines() == 1, "the chosen cell is outlined"
        page.get_by_role("button", name="Show all").click()
        wait_idle(page)
        expect(true_box).to_have_value("any class")
        assert outlines() == 0
        for _ in range(2):
            click_matrix_cell(page, row=1, col=0, n=3)
            expect(true_box).to_have_value("square", timeout=30_000)
            expect(pred_box).to_have_value("circle")
            assert outlines() == 1
            page.get_by_role("button", name="Show all").click()
            wait_idle(page)
            expect(true_box).to_have_value("any class")
        no_exception(page)
        context.close()
    finally:
        running.stop()
