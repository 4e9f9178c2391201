"""The exported web page in Debian's Chromium: opened from disk, no server, no network (browser).

Every request that is not a ``file://`` one is aborted and recorded, so a page that needed
the internet (a CDN, a font) fails here. The page's answer for each uploaded picture must be
the app's answer (:meth:`tlcore.predict.Predictor.answer` on the exported ``.keras`` file):
the class for a plain model; the threshold and "I don't know" for a trusted two-class one.
"""

from __future__ import annotations

import numpy as np
import pytest

from browser_helpers import browser  # noqa: F401 (the fixture)
from export_helpers import CLASSES, fitted_classifier, make_images
from onnx_helpers import TWO_CLASSES, trusted_two_class

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    from tlcore.export import export_model
    from tlcore.predict import load_predictor

    root = tmp_path_factory.mktemp("web_bundle")
    (root / "plain").mkdir()
    images = make_images(root / "plain")
    model, _ = fitted_classifier(images)
    plain = export_model(model, root / "plain_export", CLASSES, formats=["keras", "web"], card={"name": "shapes"})
    (root / "trusted").mkdir()
    world = trusted_two_class(root / "trusted")
    trusted = export_model(world["model"], root / "trusted_export", TWO_CLASSES, formats=["keras", "web"],
                           card={"name": "clinic"}, trust=world["trust"], prototypes=world["prototypes"])
    return {
        "plain": {"paths": plain, "images": images, "answers": load_predictor(plain["keras"]).answer(images)},
        "trusted": {"paths": trusted, "images": world["images"],
                    "answers": load_predictor(trusted["keras"]).answer(world["images"])},
    }


def _open(browser, index, init_script: str | None = None):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    blocked: list[str] = []
    errors: list[str] = []

    def route(request_route):
        if request_route.request.url.startswith("file:"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda err: errors.append(str(err)))
    if init_script:
        page.add_init_script(init_script)
    page.goto(index.as_uri())
    page.wait_for_function("document.body.dataset.state !== 'loading'", timeout=60_000)
    return context, page, blocked, errors


def _classify(page, picture, count: int) -> dict:
    page.set_input_files("#file", str(picture))
    page.wait_for_function(f"Number(document.body.dataset.answered || 0) >= {count}", timeout=30_000)
    return page.evaluate("window.transferStudioAnswer")


@pytest.mark.parametrize("which", ["plain", "trusted"])
def test_the_page_opened_from_disk_answers_as_the_app(browser, bundles, which):  # noqa: F811
    bundle = bundles[which]
    context, page, blocked, errors = _open(browser, bundle["paths"]["web"] / "index.html")
    try:
        assert page.evaluate("document.body.dataset.state") == "ready", page.inner_text("#status")
        classes = CLASSES if which == "plain" else TWO_CLASSES
        assert page.title() == f"{'shapes' if which == 'plain' else 'clinic'}: image classifier"
        assert page.locator("#classes li").all_inner_texts() == classes
        times = []
        for i, (picture, want) in enumerate(zip(bundle["images"], bundle["answers"]), start=1):
            got = _classify(page, picture, i)
            times.append(got["ms"])
            assert got["label"] == want.label, (picture.name, got, want)
            assert got["unknown"] == want.unknown
            np.testing.assert_allclose([p for _, p in sorted(got["top"])], [p for _, p in sorted(want.top)],
                                       atol=2e-3)
            shown = page.inner_text("#answer-label")
            assert shown == ("I don't know" if want.unknown else want.label)
        print(f"{which}: {len(times)} pictures, {np.median(times):.0f} ms per picture in the browser (median)")
        if which == "trusted":  # guards: the threshold and "I don't know" were both exercised
            answers = bundle["answers"]
            assert any(a.unknown for a in answers) and {a.label for a in answers if not a.unknown} == set(classes)
            assert "at least" in page.inner_text("#classes + p")  # the threshold, said on the page
        else:
            assert {a.label for a in bundle["answers"]} == set(classes)
        assert not blocked and not errors, (blocked, errors)
    finally:
        context.close()


def test_a_browser_without_webassembly_is_told_so(browser, bundles):  # noqa: F811
    index = bundles["plain"]["paths"]["web"] / "index.html"
    context, page, blocked, _ = _open(browser, index, "delete window.WebAssembly")
    try:
        assert page.evaluate("document.body.dataset.state") == "no-webassembly"
        assert "no WebAssembly" in page.inner_text("#status")
        assert page.is_disabled("#file") and page.is_disabled("#camera-start")
        assert not blocked
    finally:
        context.close()


def test_no_camera_gets_a_plain_message(browser, bundles):  # noqa: F811
    # Chromium here has no camera and Playwright grants no permission: getUserMedia is refused.
    context, page, _, errors = _open(browser, bundles["plain"]["paths"]["web"] / "index.html")
    try:
        page.click("#camera-start")
        page.wait_for_function("document.getElementById('camera-message').textContent.length > 0", timeout=30_000)
        message = page.inner_text("#camera-message")
        assert "camera" in message.lower() and "python -m http.server" in message, message  # opened from disk
        assert page.is_hidden("#video") and not errors
    finally:
        context.close()


# ---------------------------------------------------------------------------- real photos


def _screenshot(page, name: str) -> None:
    """tests/artifacts/web/<name>.png (the README's docs/screenshots/ copies are made by hand: a test
    run never changes tracked files)."""
    from browser_helpers import ROOT

    path = ROOT / "tests" / "artifacts" / "web" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


@pytest.fixture(scope="module")
def hymenoptera_bundle(hymenoptera_dir, real_keras_home, tmp_path_factory):
    from tlcore.config import TrainConfig
    from tlcore.export import export_run
    from tlcore.export.accuracy import validation_images
    from tlcore.predict import load_predictor
    from tlcore.runs import RunFolder
    from tlcore.train import train
    from tlcore.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("web_hymenoptera_ws"))
    run = ws.runs_dir / "hymenoptera"
    train(TrainConfig(data=str(hymenoptera_dir)), run, workspace=ws)
    folder = RunFolder(run)
    paths = export_run(run, ["web"])
    val = validation_images(folder.path, folder.config_dict(), folder.labels(), folder.evaluation())
    pictures = val["paths"][::15]  # ten photos, both classes
    return {"paths": paths, "pictures": pictures, "truth": [folder.labels()[val["labels"][i]]
                                                            for i in range(0, len(val["paths"]), 15)],
            "answers": load_predictor(run).answer(pictures)}


@pytest.mark.real_data
@pytest.mark.slow
def test_the_page_classifies_real_photos_offline_like_the_app(browser, hymenoptera_bundle):  # noqa: F811
    bundle = hymenoptera_bundle
    web = bundle["paths"]["web"]
    size = sum(p.stat().st_size for p in web.iterdir())
    context, page, blocked, errors = _open(browser, web / "index.html")
    try:
        assert page.evaluate("document.body.dataset.state") == "ready", page.inner_text("#status")
        got = []
        for i, picture in enumerate(bundle["pictures"], start=1):
            got.append(_classify(page, picture, i))
            if got[-1]["unknown"] and not any(g["unknown"] for g in got[:-1]):
                _screenshot(page, "web_page_unknown")
        _screenshot(page, "web_page")
    finally:
        context.close()
    want = bundle["answers"]
    print(f"hymenoptera web page: {size / 1e6:.1f} MB folder, {bundle['paths']['web-zip'].stat().st_size / 1e6:.1f} "
          f"MB zip; {np.median([g['ms'] for g in got]):.0f} ms per photo in Chromium (median of {len(got)}); "
          f"page {[g['label'] for g in got]}, truth {bundle['truth']}")
    assert [g["label"] for g in got] == [w.label for w in want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(sorted(p for _, p in g["top"]), sorted(p for _, p in w.top), atol=0.02)
    right = sum(g["label"] == t for g, t in zip(got, bundle["truth"]))
    assert right >= len(got) - 2, (right, len(got))
    assert not blocked and not errors, (blocked, errors)


def test_the_camera_feeds_the_model_live(browser, bundles):  # noqa: F811
    from browser_helpers import CHROMIUM_ARGS

    camera_browser = browser.browser_type.launch(
        executable_path=browser_executable(), headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    try:
        context = camera_browser.new_context(permissions=["camera"])
        page = context.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
        page.goto((bundles["plain"]["paths"]["web"] / "index.html").as_uri())
        page.wait_for_function("document.body.dataset.state === 'ready'", timeout=60_000)
        page.click("#camera-start")
        page.wait_for_function("Number(document.body.dataset.answered || 0) >= 2", timeout=30_000)
        first = int(page.evaluate("document.body.dataset.answered"))
        page.wait_for_timeout(2000)
        frames = int(page.evaluate("document.body.dataset.answered")) - first
        answer = page.evaluate("window.transferStudioAnswer")
        print(f"camera: {frames / 2:.1f} answers per second (small model, fake camera)")
        assert answer["source"] == "camera" and answer["label"] in CLASSES and frames >= 2
        assert page.inner_text("#camera-message") == "" and page.is_visible("#video")
        page.click("#camera-stop")
        assert page.is_hidden("#video")
    finally:
        camera_browser.close()


def browser_executable() -> str:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")
