"""The data check in a real browser: find a planted mislabeled picture, relabel it, and see the next
run use the fix (its settings record the change, its data report applies it, the file is untouched)."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from browser_helpers import ROOT, browser, go_to, no_exception, small_model, start_server, wait_idle  # noqa: F401  (browser: a fixture)

ARTIFACTS = ROOT / "tests" / "artifacts"
PLANTED = "red_stripes/green_columns_07.png"  # a green-columns picture saved in the red-stripes folder

pytestmark = [pytest.mark.browser, pytest.mark.real_data, pytest.mark.timeout(900)]


def test_find_relabel_and_train_with_the_fix(separable_dataset, real_keras_home, browser, tmp_path):
    root = tmp_path / "planted"
    shutil.copytree(separable_dataset, root)
    shutil.move(root / "green_columns" / "green_columns_07.png", root / PLANTED)
    zip_path = tmp_path / "planted.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        for path in sorted(root.rglob("*.png")):
            zf.write(path, f"planted/{path.relative_to(root).as_posix()}")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    server = start_server(workspace)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + "/model")
        wait_idle(page)
        small_model(page, 96)

        go_to(page, "Data")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(zip_path))
        page.get_by_text("What we found").first.wait_for(timeout=120_000)
        wait_idle(page)
        page.get_by_role("button", name="Check my pictures").click()
        page.get_by_role("tab", name="Wrong labels?").wait_for(timeout=300_000)
        wait_idle(page)
        no_exception(page)
        card = page.locator('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]').filter(
            has_text=PLANTED).filter(has=page.get_by_role("button", name="Relabel as green_columns")).last
        card.wait_for(timeout=60_000)
        (ARTIFACTS / "check").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "check" / "suspects.png"), full_page=True)
        card.get_by_role("button", name="Relabel as green_columns").click()
        wait_idle(page)
        page.get_by_role("tab", name="Your changes (1)").click()
        page.get_by_role("button", name="Undo the last change").wait_for()
        no_exception(page)

        go_to(page, "Train")
        page.get_by_text("1 relabelled").first.wait_for()
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("Training finished").first.wait_for(timeout=300_000)
        no_exception(page)
        context.close()
    finally:
        server.stop()

    runs = list(workspace.glob("sessions/*/runs/*/config.json"))
    assert len(runs) == 1
    config = json.loads(runs[0].read_text())
    assert config["edits"] == [{"path": PLANTED, "action": "relabel", "label": "green_columns"}]
    report = json.loads((runs[0].parent / "data_report.json").read_text())
    assert [(e["path"], e["label"]) for e in report["edits"]] == [(PLANTED, "green_columns")]
    extracted = list(workspace.glob(f"sessions/*/datasets/*/planted/{PLANTED}")) or list(
        workspace.glob(f"sessions/*/datasets/*/{PLANTED}"))
    assert extracted, "the picture is still where the user put it: the fix lives in the app, not in the files"
