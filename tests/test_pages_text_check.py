"""The data check's results for texts as a user meets them (AppTest): suspects, near-copies, outliers
and shifted splits shown as quoted texts with their labels (never opened as pictures), the map's
hover texts, and relabel / exclude / keep buttons that change the texts the next run reads.

The check itself runs for real (:func:`tlcore.checks.check_dataset`) on made-up sentence
features, so no text encoder is needed: one review carries the other class's features (a wrong
label), one sentence is far from everything (an outlier), and a training review and its reworded
copy in validation share their features (a leak).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from test_pages import ROOT, SESSION, TIMEOUT, assert_clean, texts
from text_samples import reviews
from tlcore.checks import CheckFolder, check_dataset
from tlcore.config import TrainConfig
from tlcore.data import load_edits
from tlcore.data.any_source import load_any
from tlcore.workspace import Workspace
from ui.calls import plain

PLANTED = "Great *value* for $5, I loved it."  # positive words, labelled negative (and markdown in it)
ODD = "Photosynthesis turns sunlight, water and carbon dioxide into glucose."
LEAK = ("The hotel staff were lovely and the room was spotless.", "The hotel staff were lovely, the room was spotless!")


def _rows() -> list[tuple[str, str, str]]:
    """``(text, label, split)``: reviews with a split column, the planted label, the outlier and the leak."""
    rows = [(text, label, "val" if i % 5 == 4 else "train") for i, (text, label) in enumerate(reviews(30, seed=3))]
    return [(PLANTED, "negative", "train"), (ODD, "positive", "train"), (LEAK[0], "positive", "train"),
            (LEAK[1], "positive", "val")] + rows


def _fake_features(dataset, paths: list[str]) -> np.ndarray:
    """Sentence features made up from the labels: each class off-centre in its own direction."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (len(paths), 32))
    for i, path in enumerate(paths):
        text = dataset.texts[str(dataset.root / path)]
        x[i, 0 if dataset.classes[label_of(dataset, path)] == "positive" or text == PLANTED else 1] += 4
        if text == ODD:
            x[i] = 0
            x[i, 5] = 40
        if text in LEAK:  # the same features: a copy in meaning (and in wording)
            x[i] = 0
            x[i, 0], x[i, 2] = 4, 6
    return x


def label_of(dataset, path: str) -> int:
    return next(s.label for s in dataset.samples if s.path == str(dataset.root / path))


@pytest.fixture
def text_check(tmp_path, monkeypatch):
    """A TSV of reviews chosen on the Data page, and a finished check of it in the session's workspace."""
    from tlcore.checks import run

    ws_root, data_root = tmp_path / "ws", tmp_path / "data"
    data_root.mkdir()
    monkeypatch.setenv("TLCORE_WORKSPACE", str(ws_root))
    monkeypatch.setenv("TLCORE_DATA_ROOTS", str(data_root))
    monkeypatch.chdir(ROOT)
    data = data_root / "reviews.tsv"
    data.write_text("text\tlabel\tsplit\n" + "".join(f"{t}\t{lab}\t{s}\n" for t, lab, s in _rows()), encoding="utf-8")
    data = str(data.resolve())

    def features(config, *, workspace=None, on_event=None, should_stop=None):
        dataset = load_any(config.data, edits=config.edits, workspace=workspace)
        samples = [s for split in ("train", "val", "test") for s in dataset.split(split)]
        paths = [Path(s.path).relative_to(dataset.root).as_posix() for s in samples]
        return run.CheckFeatures(
            dataset=dataset, features=_fake_features(dataset, paths), labels=np.array([s.label for s in samples]),
            splits=np.array([s.split for s in samples]), paths=paths, backbone="GloVe-50d", layer="text_encoder",
            image_size=64, cached=True, seconds=0.1, texts=[dataset.texts[s.path] for s in samples])

    monkeypatch.setattr(run, "check_features", features)
    session = ws_root / "sessions" / SESSION
    session.mkdir(parents=True)
    (session / "app_state.json").write_text(json.dumps({"dataset": data, "dataset_name": "reviews",
                                                        "config": {"data": data}}))
    ws = Workspace(session)
    config = TrainConfig(data=data, backbone="GloVe-50d")
    result = check_dataset(config, workspace=ws).to_dict()
    result["shift"][0]["flagged"] = True  # as if these validation texts read unlike training: listed
    folder = CheckFolder(data, ws)
    folder.begin(config)
    folder.write_result(result)
    folder.log_status("finished", "Done.")
    return {"data": data, "ws": ws, "result": result}


def _check_view(session: str) -> None:
    """The Data page's check section alone (the page shows it under "Can you trust your texts?")."""
    import streamlit as st

    import ui

    st.session_state["ws_id"] = session
    ui.check_panel(ui.current_dataset())


def _open(monkeypatch) -> AppTest:
    import ui.check_views as views

    def no_pictures(*args, **kwargs):
        raise AssertionError(f"a text was opened as a picture: {args}")

    monkeypatch.setattr(views, "thumbnail", no_pictures)
    monkeypatch.setattr(views, "_thumbnail_uri", no_pictures)
    return AppTest.from_function(_check_view, args=(SESSION,), default_timeout=TIMEOUT).run()


def plain_quote(text: str) -> str:
    return f"“{plain(text)}”"


def _planted(result: dict) -> dict:
    return next(s for s in result["labels"]["suspects"] if s["text"] == PLANTED)


def test_the_check_shows_texts_with_their_labels_not_pictures(text_check, monkeypatch):
    result = text_check["result"]
    assert result["item"] == "text"
    at = _open(monkeypatch)
    assert_clean(at)
    assert any(m.label == "Texts checked" and str(m.value) == str(result["num_images"]) for m in at.metric)
    titles = [t.label for t in at.tabs]
    assert "More texts?" in titles and any(t.startswith("Wrong labels? (") for t in titles)
    page = texts(at)
    assert "“Great \\*value\\* for \\$5, I loved it.”" in page  # quoted, and its markdown shown as typed
    planted = _planted(result)
    caption = next(c.value for c in at.caption if c.value.startswith(planted["path"] + " "))
    assert "labelled **negative**, looks like **positive**" in caption and "(training)" in caption
    assert f"“{ODD}”" in page  # the outlier
    assert f"“{LEAK[0]}”" in page and f"“{LEAK[1]}”" in page  # the leak, both sides
    dataset = load_any(text_check["data"])
    for path in result["shift"][0]["example_paths"]:  # the validation texts most unlike training
        assert f"- {plain_quote(dataset.texts[str(dataset.root / path)])} · {plain(path)}" in page
    for words in [r["message"] for r in result["shift"]] + [c.get("message") or "" for c in
                                                            result.get("curve", {}).get("classes", [])]:
        page = page.replace(plain(words), "")  # tlcore's own sentences about the splits and the curve
    assert "picture" not in page.lower() and "image" not in page.lower(), page
    keys = {b.key for b in at.button}
    for action in ("relabel", "exclude", "keep"):
        assert f"sus_{action}_{planted['path']}" in keys
    assert any(k.startswith("out_exclude_") for k in keys) and "dup_0" in keys
    assert at.button(key="check_start").label == "Check again"


def test_relabel_exclude_and_keep_buttons_change_the_texts_the_next_run_reads(text_check, monkeypatch):
    planted = _planted(text_check["result"])
    at = _open(monkeypatch)
    at.button(key=f"sus_relabel_{planted['path']}").click().run()
    assert_clean(at)
    assert [e.to_dict() for e in load_edits(text_check["data"], text_check["ws"])] == [
        {"path": planted["path"], "action": "relabel", "label": "positive"}]
    assert "differ from the ones this check saw" in texts(at)
    assert not any(b.key == f"sus_relabel_{planted['path']}" for b in at.button)  # decided: no longer listed
    assert any(t.label == "Your changes (1)" for t in at.tabs)
    table = at.dataframe[-1].value
    assert list(table["text"]) == [PLANTED] and list(table["new label"]) == ["positive"]

    at.button(key="dup_0").click().run()  # exclude the training copy of the leak
    assert_clean(at)
    odd = next(o for o in text_check["result"]["outliers"]["items"] if o["text"] == ODD)
    at.button(key=f"out_keep_{odd['path']}").click().run()
    assert_clean(at)
    edits = {e.path: e for e in load_edits(text_check["data"], text_check["ws"])}
    assert edits[odd["path"]].action == "keep"
    excluded = [p for p, e in edits.items() if e.action == "exclude"]
    dataset = load_any(text_check["data"], edits=[e.to_dict() for e in edits.values()])
    assert [dataset.texts.get(str(dataset.root / p)) for p in excluded] == [None]
    assert LEAK[0] not in dataset.texts.values() and LEAK[1] in dataset.texts.values()
    row = next(s for s in dataset.samples if dataset.texts[s.path] == PLANTED)
    assert dataset.classes[row.label] == "positive"

    at.button(key="edits_undo").click().run()
    assert_clean(at)
    assert odd["path"] not in {e.path for e in load_edits(text_check["data"], text_check["ws"])}


def test_the_map_hovers_with_the_texts(text_check):
    from ui.check_views import _map_frame

    result = text_check["result"]
    dataset = load_any(text_check["data"])
    frame = _map_frame(result, dataset)
    assert "image" not in frame.columns and len(frame) == result["num_images"]
    assert PLANTED in set(frame["text"]) and frame["text"].str.len().max() <= 200
    assert set(frame.loc[frame["text"] == PLANTED, "mark"]) == {"may be labelled wrong"}
