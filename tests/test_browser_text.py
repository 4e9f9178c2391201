"""The text journey in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Upload a TSV of labelled sentences → see its columns, counts and sample texts → MiniLM-L6 with
feature extraction (the real offline weights), a few epochs → train to the end and see the
curves → see the texts it got wrong → type a sentence on Predict and get an answer → download
the .keras file from the Runs page.
"""

from __future__ import annotations

import zipfile

import pytest

from browser_helpers import ROOT, browser, go_to, no_exception, start_server, wait_idle  # noqa: F401  (browser: a fixture)
from test_pages_text import write_tsv

ARTIFACTS = ROOT / "tests" / "artifacts" / "text"
TRAIN_TIMEOUT_S = 300

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


@pytest.fixture
def server(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("workspace")
    running = start_server(workspace)
    yield {"url": running.url, "workspace": workspace, "server": running}
    running.stop()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_text_journey_in_the_browser(server, browser, tmp_path):
    tsv = write_tsv(tmp_path / "reviews.tsv", per_class=40)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(server["url"] + "/data")
        page.get_by_text("Choose your images").first.wait_for()
        wait_idle(page)

        # ---- 1. Data: upload the sentences
        page.get_by_role("tab", name="Upload sentences").click()
        uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="labelled sentences")
        uploader.locator('input[type="file"]').set_input_files(str(tsv))
        page.get_by_text("What we found").first.wait_for(timeout=120_000)
        wait_idle(page)
        no_exception(page)
        assert "2" in page.locator('[data-testid="stMetric"]').filter(has_text="Classes").first.inner_text()
        page.get_by_text("Column with the texts").first.wait_for()
        page.get_by_text("A look at your texts").first.wait_for()
        assert page.locator('[data-testid="stImage"]').count() == 0, "sample texts, not thumbnails"
        _shot(page, "1_data")

        # ---- 2. Model: MiniLM-L6 (the default), feature extraction, a few epochs
        go_to(page, "Model")
        page.get_by_text("Pretrained text encoder").first.wait_for()
        assert page.get_by_text("Where to cut the network").count() == 0
        box = page.get_by_role("spinbutton", name="Epochs", exact=True)
        box.fill("5")
        box.press("Enter")
        wait_idle(page)
        no_exception(page)
        _shot(page, "2_model")

        # ---- 3. Train: start, watch, finish, curves
        go_to(page, "Train")
        page.get_by_role("button", name="Start training").click()
        try:
            page.get_by_text("Training finished").first.wait_for(timeout=TRAIN_TIMEOUT_S * 1000)
        except Exception:
            _shot(page, "3_train_failed")
            raise AssertionError("training did not finish: " + page.locator("section").first.inner_text()[-2000:]
                                 + "\n--- server log ---\n" + server["server"].log_tail())
        wait_idle(page)
        no_exception(page)
        page.locator('[data-testid="stPlotlyChart"]').nth(1).wait_for(timeout=60_000)
        assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2, "loss and accuracy curves"
        _shot(page, "3_train")

        # ---- 4. Evaluate: texts, no heatmaps
        go_to(page, "Evaluate")
        page.get_by_text("Which classes get mixed up").first.wait_for()
        wait_idle(page)
        no_exception(page)
        assert page.get_by_text("Show where the model looks").count() == 0
        _shot(page, "4_evaluate")

        # ---- 5. Predict a typed sentence
        go_to(page, "Predict")
        area = page.get_by_role("textbox", name="Type sentences, one per line")
        area.fill("The concert was wonderful and really superb (3).")
        area.press("Control+Enter")
        page.get_by_text("What the model reads").first.wait_for(timeout=120_000)
        wait_idle(page)
        no_exception(page)
        answers = page.locator("h3").filter(has_text="%").count() + page.locator("h3").filter(has_text="I don't know").count()
        assert answers >= 1, "the answer, or I don't know"
        assert page.locator("h3").filter(has_text="good").count() >= 1, "a clearly good sentence is called good"
        _shot(page, "5_predict")

        # ---- 6. Runs & export: download the Keras model with its tokenizer
        go_to(page, "Runs & export")
        page.get_by_text("Download a model").first.wait_for()
        wait_idle(page)
        no_exception(page)
        with page.expect_download(timeout=60_000) as download_info:
            page.get_by_role("button", name="Keras model + tokenizer (.zip)").click()
        downloaded = tmp_path / "downloaded.zip"
        download_info.value.save_as(str(downloaded))
        _shot(page, "6_runs")
    finally:
        context.close()
    runs = list((server["workspace"] / "sessions").glob("*/runs/*/model.keras"))
    with zipfile.ZipFile(downloaded) as archive:
        names = set(archive.namelist())
        assert {"model.keras", "tokenizer/tokenizer.json", "tokenizer/vocab.txt", "labels.json"} <= names, names
        assert len(runs) == 1 and archive.read("model.keras") == runs[0].read_bytes()
