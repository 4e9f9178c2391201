"""Every page as a user meets it, through streamlit's AppTest (no browser).

Each test gets its own workspace root (``TLCORE_WORKSPACE``) and data root
(``TLCORE_DATA_ROOTS``) holding a tiny generated dataset, so nothing touches the repository.
Runs shown on the Train/Evaluate/Predict/Runs pages are written as run folders in the
format of docs/ARCHITECTURE.md, through tlcore.runs.RunFolder (training itself is tested in
test_train/test_jobs and in the browser test).
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from tlcore.config import TrainConfig
from tlcore.export.formats import DOWNLOADS, EXPORT_FORMATS
from tlcore.runs import RunFolder

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["pages/1_data.py", "pages/2_model.py", "pages/3_train.py", "pages/4_evaluate.py", "pages/5_predict.py",
         "pages/6_runs.py", "pages/7_classroom.py"]
TIMEOUT = 180  # the first page that builds a Keras model pays for importing TensorFlow
SESSION = "testsession01"
CLASSES = ["circle", "square", "triangle"]


# --------------------------------------------------------------------------- fixtures
def _shape_image(kind: str, i: int, size: int = 40) -> Image.Image:
    img = Image.new("RGB", (size, size), (30 + 7 * i % 200, 80, 120))
    draw = ImageDraw.Draw(img)
    a, b = 6 + i % 4, size - 6 - i % 3
    color = (250, 240 - 9 * i % 120, 40)
    if kind == "circle":
        draw.ellipse([a, a, b, b], fill=color)
    elif kind == "square":
        draw.rectangle([a, a, b, b], fill=color)
    else:
        draw.polygon([(size // 2, a), (a, b), (b, b)], fill=color)
    return img


def make_dataset(folder: Path, per_class: int = 12) -> Path:
    for cls in CLASSES:
        (folder / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _shape_image(cls, i).save(folder / cls / f"{cls}_{i:02d}.png")
    return folder


def zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buf.getvalue()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private workspace root and a data root with a small 'shapes' dataset."""
    ws_root = tmp_path / "ws"
    data_root = tmp_path / "data"
    make_dataset(data_root / "shapes")
    monkeypatch.setenv("TLCORE_WORKSPACE", str(ws_root))
    monkeypatch.setenv("TLCORE_DATA_ROOTS", str(data_root))
    monkeypatch.chdir(ROOT)
    return {"ws_root": ws_root, "data_root": data_root, "session_dir": ws_root / "sessions" / SESSION}


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["ws"] = SESSION
    return at


def open_page(page: str) -> AppTest:
    at = new_app().run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    return at


def select_dataset(env) -> None:
    """What the Data page saves when a folder is chosen (app_state.json in the session's workspace)."""
    session = env["session_dir"]
    session.mkdir(parents=True, exist_ok=True)
    root = str((env["data_root"] / "shapes").resolve())
    state = {"dataset": root, "dataset_name": "shapes", "config": {"data": root}}
    (session / "app_state.json").write_text(json.dumps(state))


def write_run(env, run_id: str, status: str = "finished", epochs: int = 3) -> Path:
    """A run folder as tlcore.jobs writes it."""
    folder = RunFolder(env["session_dir"] / "runs" / run_id)
    run = folder.path
    root = str((env["data_root"] / "shapes").resolve())
    folder.write_config(TrainConfig(data=root, backbone="MobileNetV2", epochs=epochs, weights="none", image_size=32))
    now = time.time()
    events = [{"t": now - 30, "type": "status", "status": "queued"},
              {"t": now - 29, "type": "status", "status": "running", "message": "Preparing data"},
              {"t": now - 28, "type": "stage", "stage": "head", "message": "Training the classifier head"}]
    done = epochs if status == "finished" else 1
    for e in range(1, done + 1):
        events.append({"t": now - 28 + e, "type": "epoch", "stage": "head", "epoch": e, "epochs": epochs,
                       "loss": 1.0 / e, "accuracy": 0.5 + 0.1 * e, "val_loss": 1.1 / e, "val_accuracy": 0.45 + 0.1 * e,
                       "seconds": 1.0, "images_per_s": 30.0})
    if status == "running":
        events.append({"t": now - 1, "type": "batch", "stage": "head", "epoch": 1, "epochs": epochs, "batch": 2,
                       "batches": 4, "loss": 0.8, "accuracy": 0.6, "images_per_s": 31.0})
    else:
        events.append({"t": now, "type": "status", "status": status, "accuracy": 0.8, "seconds": 30.0})
    for event in events:
        folder.emit(event)
    if status == "finished":
        folder.write_labels(CLASSES)
        folder.model_path.write_bytes(b"not used by these tests")
        val = sorted((env["data_root"] / "shapes").rglob("*.png"))
        folder.write_evaluation({
            "accuracy": 0.8, "num_images": 9, "classes": CLASSES, "macro_f1": 0.79,
            "confusion_matrix": [[3, 0, 0], [1, 2, 0], [0, 1, 2]],
            "report": {c: {"precision": 0.8, "recall": 0.8, "f1": 0.8, "support": 3} for c in CLASSES},
            "misclassified": [
                {"path": str(val[15]), "true": "square", "predicted": "circle", "confidence": 0.7, "true_probability": 0.2},
                {"path": str(val[30]), "true": "triangle", "predicted": "square", "confidence": 0.6, "true_probability": 0.3},
            ],
        })
    return run


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [w.value for w in at.warning] + [h.value for h in at.header]
    return "\n".join(str(p) for p in parts)


def shown(markdown: str) -> str:
    """The text a markdown element shows: its backslash escapes undone (``TLCORE\\_MAX`` reads ``TLCORE_MAX``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# --------------------------------------------------------------------------- the frame
def test_pages_never_import_tensorflow_or_keras():
    for path in [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")), *(ROOT / p for p in PAGES)]:
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(tensorflow|keras)\b", source, re.M), path


def test_app_gives_each_session_its_own_workspace(env):
    a = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    b = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert_clean(a)
    wa, wb = a.query_params.get("ws"), b.query_params.get("ws")
    assert wa and wb and wa != wb
    assert (env["ws_root"] / "sessions" / wa).is_dir()
    sidebar = "\n".join(m.value for m in a.sidebar.markdown)
    assert "Training on" in sidebar and ("CPU" in sidebar or "GPU" in sidebar)


def test_reload_comes_back_to_the_same_workspace(env):
    at = new_app().run()
    at.tabs  # the Data page
    at.selectbox(key="data_folder_pick").select(str((env["data_root"] / "shapes").resolve())).run()
    at.button(key="data_use_folder").click().run()
    assert_clean(at)
    state = json.loads((env["session_dir"] / "app_state.json").read_text())
    assert state["dataset"].endswith("shapes")
    # A reload is a new browser session with the same ?ws= link.
    again = new_app().run()
    assert_clean(again)
    assert any("shapes" in m.value for m in again.sidebar.markdown)
    assert any(m.label == "Classes" and str(m.value) == "3" for m in again.metric)


# --------------------------------------------------------------------------- every page renders
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_a_dataset(env, page):
    at = open_page(page)
    assert_clean(at)
    assert at.title, "each page has a title"


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_a_dataset_and_a_run(env, page):
    select_dataset(env)
    write_run(env, "20250101-120000-mobilenetv2-fe")
    at = open_page(page)
    assert_clean(at)


# --------------------------------------------------------------------------- Data
def test_data_page_widgets(env):
    at = open_page(PAGES[0])
    assert at.file_uploader(key="data_upload") is not None
    assert "zip" in at.file_uploader(key="data_upload").allowed_type[0]
    picker = at.selectbox(key="data_folder_pick")
    assert any(o.endswith("shapes") for o in picker.options)
    assert at.button(key="data_use_folder").disabled  # nothing chosen yet
    assert at.text_input(key="data_folder_typed") is not None
    assert at.slider(key="data_val_fraction").value == pytest.approx(0.2)


def test_data_page_upload_zip_shows_counts_report_and_samples(env):
    at = open_page(PAGES[0])
    at.file_uploader(key="data_upload").set_value(("shapes.zip", zip_folder(env["data_root"] / "shapes"), "application/zip"))
    at.run()
    assert_clean(at)
    assert {m.label: str(m.value) for m in at.metric}["Classes"] == "3"
    assert len(at.get("plotly_chart")) >= 1  # the per-class bar chart
    assert len(at.get("imgs")) >= 3 or len(at.image) >= 3  # sample grid
    # The upload was extracted inside this session's workspace only.
    assert any((env["session_dir"] / "datasets").iterdir())
    state = json.loads((env["session_dir"] / "app_state.json").read_text())
    assert state["dataset_name"] == "shapes"


@pytest.mark.parametrize(
    "name,content",
    [
        ("broken.zip", b"this is not a zip file at all"),
        ("empty.zip", None),  # a valid zip with no images
        ("evil.zip", "traversal"),
    ],
)
def test_data_page_bad_upload_shows_error_not_exception(env, name, content):
    if content is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("readme.txt", "no pictures here")
        content = buf.getvalue()
    elif content == "traversal":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("../../outside.png", b"x")
        content = buf.getvalue()
    at = open_page(PAGES[0])
    at.file_uploader(key="data_upload").set_value((name, content, "application/zip"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, "a bad upload must be explained with st.error"
    assert "Fix" in at.error[0].value or "fix" in at.error[0].value.lower()
    assert not (env["ws_root"].parent / "outside.png").exists()
    # Rerunning (any click) keeps the explanation instead of silently dropping it.
    at.run()
    assert at.error and not at.exception


def test_data_page_says_which_limit_is_the_zip_and_which_is_unpacked(env):
    at = open_page(PAGES[0])
    caption = next(c.value for c in at.caption if "unpacked" in c.value)
    assert "zip file itself may be up to 2.0 GB" in caption  # .streamlit/config.toml's maxUploadSize (2000 MB)
    assert "unpacked, it may hold up to" in caption and "GB in all" in caption


def _one_class_zip(env) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted((env["data_root"] / "shapes" / "circle").glob("*.png")):
            zf.write(path, f"only_circles/circle/{path.name}")
    return buf.getvalue()


def test_data_page_refused_zip_is_not_offered_again_and_hides_the_old_report(env):
    at = open_page(PAGES[0])
    at.file_uploader(key="data_upload").set_value(("shapes.zip", zip_folder(env["data_root"] / "shapes"),
                                                   "application/zip")).run()
    assert_clean(at)
    at.file_uploader(key="data_upload").set_value(("only_circles.zip", _one_class_zip(env), "application/zip")).run()
    assert not at.exception
    assert at.error, "the one-class zip is refused"
    assert not any("What we found" in h.value for h in at.header), "the old report does not show under the error"
    assert any("still “shapes”" in c.value for c in at.caption)
    earlier = at.selectbox(key="data_earlier")
    assert earlier.options == ["shapes  (in use)"], "only datasets that loaded, the one in use first"
    assert earlier.index == 0
    at.run()  # a later rerun with the refused file still in the uploader: still no old report
    assert at.error and not any("What we found" in h.value for h in at.header)


@pytest.mark.parametrize("typed", ["../../../etc", "/etc", "no_such_folder"])
def test_data_page_refuses_paths_outside_the_data_roots(env, typed):
    at = open_page(PAGES[0])
    at.text_input(key="data_folder_typed").input(typed).run()
    at.button(key="data_use_folder").click().run()
    assert not at.exception
    assert at.error
    assert not (env["session_dir"] / "app_state.json").exists() or \
        "etc" not in json.loads((env["session_dir"] / "app_state.json").read_text()).get("dataset", "")


# --------------------------------------------------------------------------- Model
@pytest.mark.slow
def test_model_page_widgets_and_summary(env):
    select_dataset(env)
    at = open_page(PAGES[1])
    assert_clean(at)
    backbone = at.selectbox(key="m_backbone")
    assert "MobileNetV2" in backbone.options and backbone.value == "MobileNetV2"
    assert at.radio(key="m_weights").value == "imagenet"
    assert at.number_input(key="m_image_size").value == 224
    assert at.radio(key="m_mode").value == "feature-extraction"
    assert at.toggle(key="m_augment") is not None
    assert at.number_input(key="m_epochs").value == 20
    assert len(at.table) >= 1 and len(at.dataframe) >= 1  # backbone comparison + layer table
    assert any("out_relu" in m.value for m in at.markdown), "the recommended layer is preselected"
    labels = {m.label for m in at.metric}
    assert {"Trainable parameters", "Frozen parameters", "Estimated time per epoch"} <= labels
    assert "estimate" in " ".join(m.help or "" for m in at.metric if m.label.startswith("Estimated")).lower()


def test_model_page_compares_every_backbone_without_hiding_rows(env):
    from tlcore.backbones import IMAGE_BACKBONES as BACKBONES

    at = open_page(PAGES[1])
    compare = at.table[0].value
    assert list(compare["backbone"]) == list(BACKBONES), "every backbone is a visible row (st.table never scrolls)"
    assert "speed on this computer" in compare.columns
    assert set(compare["speed on this computer"]) == {"not measured yet"}, "no speed is made up"


def test_model_page_measures_backbone_speed_on_this_computer(env, monkeypatch):
    import streamlit as st
    import tlcore

    monkeypatch.setattr(tlcore, "measure_speed", lambda name, **_: 100.0 + len(name))  # what the page imports
    try:
        at = open_page(PAGES[1])
        at.button(key="m_measure_speed").click().run()
        assert_clean(at)
        compare = at.table[0].value
        assert compare.loc[compare["backbone"] == "VGG16", "speed on this computer"].item() == "105 images/s"
        assert any("measured here" in c.value for c in at.caption)
    finally:
        st.cache_resource.clear()  # the measured speeds are kept per server


def test_model_page_layer_table_counts_the_parameters_a_cut_keeps(env):
    at = open_page(PAGES[1])
    layers = at.dataframe[0].value
    starred = layers[layers["★"] == "★"]
    assert len(starred) >= 3
    assert (starred["parameters kept"] > 0).all(), "a cut point keeps the weights of every layer below it"
    default = layers[layers["layer"].str.contains("out_relu")]
    assert default["parameters kept"].item() == 2_257_984  # MobileNetV2 without its top


@pytest.mark.slow
def test_fine_tuning_layers_read_the_same_on_model_and_train_pages(env):
    select_dataset(env)
    at = open_page(PAGES[1])
    at.radio(key="m_mode").set_value("fine-tune").run()
    slider = at.slider(key="m_ft_layers")
    assert slider.label == "Layers with weights to fine-tune" and "BatchNorm" in slider.help
    slider.set_value(12).run()
    assert_clean(at)
    words = "the top 12 layers with weights (BatchNorm kept frozen)"
    assert any(words in m.value for m in at.markdown), "the plan"
    assert any(words in c.value for c in at.caption), "the summary's own count (fine_tune_layers_unfrozen)"
    assert not any(re.search(r"\b\d+ layers unfrozen", c.value) for c in at.caption)
    at.switch_page(PAGES[2]).run()
    assert_clean(at)
    assert any(words in m.value for m in at.markdown), "the Train page says the same"


@pytest.mark.parametrize("name,content,problem", [
    ("photo.jpg", b"\xff\xd8\xff\xe0 a picture", "not a Keras model file"),
    ("broken.keras", b"not a zip archive", "not a valid .keras model file"),
])
def test_model_page_refused_backbone_file_is_explained_and_not_kept(env, name, content, problem):
    at = open_page(PAGES[1])
    at.file_uploader(key="m_backbone_upload").set_value((name, content, "application/octet-stream")).run()
    assert not at.exception
    assert at.error, "the reason is a visible message, not only an icon with a tooltip"
    message = at.error[0].value
    assert problem in message and "Fix:" in message
    assert "model.save(" not in message and "('" not in message, "the fix is in words, not code"
    kept = env["session_dir"] / "uploads" / "backbones"
    assert not kept.exists() or not any(kept.iterdir()), "a refused file is not kept"
    assert at.file_uploader(key="m_backbone_upload_1").value is None, "the refused file no longer shows as uploaded"
    state_file = env["session_dir"] / "app_state.json"
    saved = json.loads(state_file.read_text()).get("config", {}) if state_file.exists() else {}
    assert not saved.get("backbone_file")
    at.run()  # the explanation stays until the next upload
    assert at.error and problem in at.error[0].value


@pytest.mark.slow
def test_model_page_choices_are_kept_across_pages(env):
    select_dataset(env)
    at = open_page(PAGES[1])
    at.radio(key="m_weights").set_value("none")
    at.number_input(key="m_epochs").set_value(2)
    at.radio(key="m_mode").set_value("fine-tune").run()
    assert_clean(at)
    assert at.slider(key="m_ft_layers") is not None
    at.switch_page(PAGES[2]).run()
    assert_clean(at)
    at.switch_page(PAGES[1]).run()
    assert at.number_input(key="m_epochs").value == 2
    assert at.radio(key="m_mode").value == "fine-tune"
    saved = json.loads((env["session_dir"] / "app_state.json").read_text())["config"]
    assert saved["epochs"] == 2 and saved["weights"] == "none" and saved["mode"] == "fine-tune"


@pytest.mark.slow
def test_model_page_augmentation_preview(env):
    select_dataset(env)
    at = open_page(PAGES[1])
    at.toggle(key="m_augment").set_value(True).run()
    assert_clean(at)
    assert at.slider(key="m_aug_rot") is not None
    assert len(at.image) >= 8 or len(at.get("imgs")) >= 1


# --------------------------------------------------------------------------- Train
def test_train_page_without_dataset_explains(env):
    at = open_page(PAGES[2])
    assert_clean(at)
    assert "Data" in texts(at)


def test_train_page_shows_a_running_run_with_progress_and_cancel(env):
    select_dataset(env)
    run = write_run(env, "20250101-130000-mobilenetv2-fe", status="running", epochs=4)
    at = open_page(PAGES[2])
    assert_clean(at)
    assert at.button(key="train_start") is not None
    cancel = at.button(key=f"cancel_{run.name}")
    assert cancel is not None
    assert len(at.get("plotly_chart")) >= 2  # loss and accuracy curves
    progress = at.get("progress")
    assert progress, "a progress bar"
    cancel.click().run()
    assert not at.exception
    assert RunFolder(run).cancel_requested


def _append_events(run: Path, events: list[dict]) -> None:
    for event in events:
        RunFolder(run).emit(event)


def _rewrite_events(run: Path, events: list[dict]) -> None:
    """Replace a run's event stream (to insert events before its end)."""
    RunFolder(run).events_path.unlink()
    _append_events(run, events)


def test_train_page_shows_the_feature_pass_as_its_own_stage(env):
    select_dataset(env)
    run = env["session_dir"] / "runs" / "20250101-140000-mobilenetv2-fe"
    RunFolder(run).write_config(TrainConfig(data="x", backbone="MobileNetV2", epochs=20))
    now = time.time()
    _append_events(run, [
        {"t": now - 6, "type": "status", "status": "queued"},
        {"t": now - 5, "type": "status", "status": "running", "message": "Preparing data"},
        {"t": now - 4, "type": "stage", "stage": "features", "message": "Computing bottleneck features"},
        *[{"t": now - 3 + b, "type": "batch", "stage": "features", "split": "train", "view": 0, "batch": b,
           "batches": 50, "images_done": 32 * b, "images_total": 1600} for b in (1, 2, 3)],
    ])
    at = open_page(PAGES[2])
    assert_clean(at)
    bar = at.get("progress")[0]
    text = bar.proto.text
    assert "Computing features of the training pictures: 96 of 1,600" in text, text
    assert "Epoch" not in text and "left" in text
    assert bar.proto.value > 0
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images per second"] == "32/s"
    assert metrics["Time left"] != "—"


def test_train_page_head_on_cached_features_shows_time_per_epoch(env):
    select_dataset(env)
    run = write_run(env, "20250101-150000-mobilenetv2-fe", status="finished", epochs=3)
    lines = RunFolder(run).events()
    t = lines[2]["t"]  # the head stage: a feature pass ran before it
    lines[2:2] = [{"t": t - 2, "type": "stage", "stage": "features", "message": "Computing bottleneck features"},
                  {"t": t - 1, "type": "batch", "stage": "features", "split": "train", "batch": 1, "batches": 1,
                   "images_done": 36, "images_total": 36}]
    for ev in lines:
        if ev.get("type") == "epoch":
            ev["images_per_s"], ev["seconds"] = 20270.0, 0.2
    _rewrite_events(run, lines)
    at = open_page(PAGES[2])
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert "Images per second" not in metrics and metrics["Time per epoch"] == "0.2 s"
    assert not any("20,270" in str(v) for v in metrics.values())


def test_train_page_shows_one_accuracy_the_kept_models_and_says_why(env):
    """Once "Best validation accuracy 87.5 %" stood beside "Validation accuracy: 82.5 %"."""
    select_dataset(env)
    run = write_run(env, "20250101-160000-mobilenetv2-ft", status="finished", epochs=3)
    lines = RunFolder(run).events()
    final = lines.pop()
    message = ("Fine-tuning did not beat the frozen model (80.0% vs 82.5% validation accuracy); "
               "the frozen model was kept.")
    lines += [{"t": final["t"], "type": "epoch", "stage": "fine-tune", "epoch": 1, "epochs": 2, "loss": 0.3,
               "accuracy": 0.9, "val_loss": 0.5, "val_accuracy": 0.875, "seconds": 1.0},
              {"t": final["t"], "type": "fine_tune_result", "kept": "frozen", "message": message},
              dict(final, accuracy=0.825)]
    _rewrite_events(run, lines)
    at = open_page(PAGES[2])
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Validation accuracy"] == "82.5%" and "87.5%" not in metrics.values()
    assert any(message in i.value for i in at.info)
    assert any("82.5%" in s.value for s in at.success)


def test_evaluate_page_says_which_model_the_figures_are_of(env):
    select_dataset(env)
    run = write_run(env, "20250101-170000-mobilenetv2-ft", status="finished")
    evaluation = RunFolder(run).evaluation()
    message = "Fine-tuning raised validation accuracy from 70.0% to 80.0%; the fine-tuned model was kept."
    evaluation["fine_tune"] = {"kept": "fine-tuned", "message": message}
    RunFolder(run).write_evaluation(evaluation)
    at = open_page(PAGES[3])
    assert_clean(at)
    assert any(message in i.value for i in at.info)


def test_train_page_gets_one_training_process_ready_before_the_click(env, monkeypatch):
    from tlcore.jobs import stop_standbys
    from tlcore.runs import process_alive

    monkeypatch.setenv("TLCORE_WARM_WORKER", "1")
    select_dataset(env)
    lock = env["ws_root"] / "train.lock"  # the app's default lock: <TLCORE_WORKSPACE>/train.lock
    try:
        at = open_page(PAGES[2])
        at.run()  # a second render finds the first one's standby
        assert_clean(at)
        waiting = [p for p in (env["ws_root"] / "standby").iterdir() if p.suffix in (".starting", ".ready")]
        assert len(waiting) == 1, waiting
        assert process_alive(int(waiting[0].name.split("-")[0]))
    finally:
        stop_standbys(lock)


# --------------------------------------------------------------------------- Evaluate
def test_evaluate_page_shows_accuracy_matrix_and_mistakes(env):
    write_run(env, "20250101-120000-mobilenetv2-fe")
    at = open_page(PAGES[3])
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Accuracy"] == "80.0 %"
    assert len(at.get("plotly_chart")) >= 1
    assert at.toggle(key="eval_normalized") is not None
    # Filtering the mistakes the way a click on a cell does.
    at.selectbox(key="eval_true").select("square")
    at.selectbox(key="eval_pred").select("circle").run()
    assert_clean(at)
    assert "1 picture(s)" in texts(at)


def click_chart(at: AppTest, key_part: str, points: list[dict]) -> AppTest:
    """What the browser sends when a point of a plotly chart is clicked (selection_mode="points")."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    chart = next(c for c in at.get("plotly_chart") if key_part in c.proto.id)
    states = at._tree.get_widget_states()
    selection = {"selection": {"points": points, "point_indices": [0], "box": [], "lasso": []}}
    states.widgets.append(WidgetState(id=chart.proto.id, string_value=json.dumps(selection)))
    return at._run(states)


def _matrix_spec(at: AppTest) -> dict:
    chart = next(c for c in at.get("plotly_chart") if "eval_cm_" in c.proto.id)
    return json.loads(chart.proto.spec)


def _outlined(spec: dict) -> list[tuple[float, float, float, float]]:
    return [(s["x0"], s["x1"], s["y0"], s["y1"]) for s in spec["layout"].get("shapes", []) if s.get("type") == "rect"]


@pytest.mark.slow
def test_evaluate_a_cell_can_be_clicked_again_after_show_all_and_is_outlined(env):
    write_run(env, "20250101-120000-mobilenetv2-fe")
    at = open_page(PAGES[3])
    assert _outlined(_matrix_spec(at)) == [], "nothing chosen yet"
    cell = [{"x": "circle", "y": "square", "customdata": ["square", "circle"], "curve_number": 1, "point_index": 3}]
    click_chart(at, "eval_cm_", cell)
    assert_clean(at)
    assert (at.selectbox(key="eval_true").value, at.selectbox(key="eval_pred").value) == ("square", "circle")
    assert "1 picture(s)" in texts(at)
    # the chosen cell (row "square" = 1, column "circle" = 0) is outlined
    assert _outlined(_matrix_spec(at)) == [(-0.5, 0.5, 0.5, 1.5)]
    at.button(key="eval_clear").click().run()
    assert at.selectbox(key="eval_true").value == "any class"
    assert _outlined(_matrix_spec(at)) == []
    for _ in range(2):  # the same cell again, twice: each click counts
        click_chart(at, "eval_cm_", cell)
        assert_clean(at)
        assert (at.selectbox(key="eval_true").value, at.selectbox(key="eval_pred").value) == ("square", "circle")
        assert _outlined(_matrix_spec(at)) == [(-0.5, 0.5, 0.5, 1.5)]
    # a filter chosen by hand moves the outline too (only the true class: its whole row)
    at.selectbox(key="eval_pred").select("any class").run()
    assert _outlined(_matrix_spec(at)) == [(-0.5, 2.5, 0.5, 1.5)]


# --------------------------------------------------------------------------- Predict
def test_predict_page_widgets_and_bad_image(env):
    write_run(env, "20250101-120000-mobilenetv2-fe")
    at = open_page(PAGES[4])
    assert_clean(at)
    uploader = at.file_uploader(key="predict_upload")
    assert uploader.accept_multiple_files
    assert at.number_input(key="predict_topk").value == 3
    uploader.set_value([("notes.jpg", b"this is text, not a picture", "image/jpeg")])
    at.run()
    assert not at.exception
    assert at.error and "notes.jpg" in at.error[0].value


# --------------------------------------------------------------------------- Runs & export
def test_runs_page_table_curves_and_downloads(env):
    write_run(env, "20250101-120000-mobilenetv2-fe")
    write_run(env, "20250101-110000-mobilenetv2-fe", epochs=2)
    at = open_page(PAGES[5])
    assert_clean(at)
    assert len(at.dataframe) >= 1
    assert len(at.get("plotly_chart")) >= 2  # two finished runs preselected and overlaid
    labels = [b.label for b in at.get("download_button")]
    assert any(".keras" in str(label) for label in labels), labels
    assert at.button(key="runs_make_export") is not None


def test_runs_page_table_fits_and_keeps_every_setting_in_details(env):
    write_run(env, "20250101-120000-mobilenetv2-fe")
    at = open_page(PAGES[5])
    assert_clean(at)
    main = at.dataframe(key="runs_table").value
    assert len(main.columns) <= 8, f"too wide for the page: {list(main.columns)}"
    details = next(d.value for d in at.dataframe if "weights" in d.value.columns)
    assert {"layer", "weights", "image size", "batch", "learning rate", "augment", "started"} <= set(details.columns)


def test_runs_page_shows_the_8_bit_models_measured_accuracy_beside_the_float_one(env):
    run = write_run(env, "20250101-120000-mobilenetv2-fe")
    at = open_page(PAGES[5])
    assert not any(m.label == "TensorFlow Lite, 8-bit" for m in at.metric), "nothing measured before an export"
    export = RunFolder(run).export_dir
    export.mkdir()
    (export / EXPORT_FORMATS["tflite-quant"].file_name).write_bytes(b"not used by this test")
    (export / DOWNLOADS["info"].file_name).write_text(json.dumps(
        {"accuracy": {"float": 0.954, "tflite_int8": 0.948, "split": "val", "images": 153, "disagree": 2}}))
    at = open_page(PAGES[5])
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Keras model (float)"] == "95.4%" and metrics["TensorFlow Lite, 8-bit"] == "94.8%"
    assert any("153 validation pictures" in c.value for c in at.caption)
    quant = next(b for b in at.get("download_button") if "8-bit" in str(b.label))
    assert "94.8%" in quant.help and "nearly as accurate" not in quant.help


# --------------------------------------------------------------------------- many users
@pytest.mark.slow
def test_sessions_do_not_see_each_others_data_or_runs(env):
    select_dataset(env)
    write_run(env, "20250101-120000-mobilenetv2-fe")
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.query_params["ws"] = "someoneelse"
    other.run()
    assert_clean(other)
    assert not any("shapes" in m.value for m in other.sidebar.markdown)
    for page in PAGES[3:]:
        other.switch_page(page).run()
        assert_clean(other)
        assert "20250101-120000" not in texts(other)
    # Typing the path of the first session's workspace is refused.
    other.switch_page(PAGES[0]).run()
    other.text_input(key="data_folder_typed").input(str(env["session_dir"])).run()
    other.button(key="data_use_folder").click().run()
    assert not other.exception and other.error
    assert "outside" in other.error[0].value


@pytest.mark.slow
def test_a_workspace_can_be_opened_by_its_code(env):
    select_dataset(env)  # the workspace "testsession01" has a dataset
    # Two runs first: AppTest's first run goes through app.py, later ones through the page's own
    # frame (ui.frame._ensure_frame), and sidebar widgets keep their values within one of the two.
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run().run()
    assert at.query_params["ws"] != SESSION
    at.text_input(key="ws_open_code").input(SESSION).run()
    at.button(key="ws_open").click().run()
    assert_clean(at)
    assert at.query_params["ws"] == SESSION
    assert any("shapes" in m.value for m in at.sidebar.markdown)
    at.run()
    at.text_input(key="ws_open_code").input("../../etc").run()
    at.button(key="ws_open").click().run()
    assert not at.exception and at.error
    assert at.query_params["ws"] == SESSION


def test_runs_page_shows_why_an_export_job_failed(env):
    run = RunFolder(write_run(env, "20250101-120000-mobilenetv2-fe"))
    run.log_export_status("queued", "Waiting to start", formats=["tflite"], features=False)
    run.log_export_status("failed", "The model could not be converted. Fix: train it again.")
    at = open_page(PAGES[5])
    assert not at.exception
    assert at.error and "Making SavedModel, TFLite and the model card failed." in at.error[0].value
    assert "Fix: train it again." in at.error[0].value
    assert not at.button(key="runs_make_export").disabled, "a failed export can be started again"
