"""The text parts of the pages as a user meets them (AppTest, no browser): a file of labelled
sentences on the Data page (its columns, its check, sample texts, bad files explained), the
text encoders on the Model page, a text run's mistakes on Evaluate and typed sentences on Predict.

The sentences are generated (two classes with clearly different words). Runs are written
through tlcore.runs.RunFolder, or trained for real (GloVe-50d, a few seconds; marked slow).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_pages import PAGES, ROOT, SESSION, assert_clean, open_page, texts
from tlcore.config import TrainConfig
from tlcore.runs import RunFolder

NOUNS = ["film", "meal", "hotel", "book", "concert", "trip", "phone", "game", "service", "show",
         "room", "song", "class", "team", "park", "car", "coffee", "shop", "staff", "view"]
GOOD = ["wonderful", "great", "lovely", "excellent", "delightful", "superb", "brilliant", "charming"]
BAD = ["terrible", "awful", "horrible", "dreadful", "miserable", "disgusting", "boring", "broken"]
CLASSES = ["bad", "good"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private workspace root and an empty data root (as in test_pages, without pictures)."""
    ws_root, data_root = tmp_path / "ws", tmp_path / "data"
    data_root.mkdir()
    monkeypatch.setenv("TLCORE_WORKSPACE", str(ws_root))
    monkeypatch.setenv("TLCORE_DATA_ROOTS", str(data_root))
    monkeypatch.chdir(ROOT)
    return {"ws_root": ws_root, "data_root": data_root, "session_dir": ws_root / "sessions" / SESSION}


def sentences(per_class: int = 40) -> list[tuple[str, str]]:
    """``per_class`` different sentences of each class: the adjectives give the class away."""
    rows = []
    for label, words in (("good", GOOD), ("bad", BAD)):
        for i in range(per_class):
            noun = NOUNS[i % len(NOUNS)]
            first, second = words[i % len(words)], words[(i // len(NOUNS) + i + 3) % len(words)]
            rows.append((f"The {noun} was {first} and really {second} ({i}).", label))
    return rows


def write_tsv(path: Path, per_class: int = 40) -> Path:
    """``sentence<TAB>label`` lines, no header (like ../shared/datasets/sentiment)."""
    path.write_text("".join(f"{text}\t{label}\n" for text, label in sentences(per_class)), encoding="utf-8")
    return path


def tsv_bytes(per_class: int = 40) -> bytes:
    return "".join(f"{text}\t{label}\n" for text, label in sentences(per_class)).encode("utf-8")


def upload_text(at, name: str, data: bytes):
    at.file_uploader(key="data_text_upload").set_value((name, data, "text/plain"))
    return at.run()


def _state(env) -> dict:
    return json.loads((env["session_dir"] / "app_state.json").read_text())


# --------------------------------------------------------------------------- Data
def test_data_page_offers_an_upload_of_sentences(env):
    at = open_page(PAGES[0])
    assert_clean(at)
    uploader = at.file_uploader(key="data_text_upload")
    assert {t.lstrip(".") for t in uploader.allowed_type} == {"csv", "tsv", "txt"}


def test_data_page_reads_a_tsv_shows_columns_counts_and_sample_texts(env):
    at = upload_text(open_page(PAGES[0]), "reviews.tsv", tsv_bytes())
    assert_clean(at)
    metrics = {m.label: str(m.value) for m in at.metric}
    assert metrics["Classes"] == "2"
    assert int(metrics["Training texts"]) + int(metrics["Validation texts"]) == 80
    assert int(metrics["Validation texts"]) > 0, "a share of each class is kept aside"
    # the detected columns, offered for change
    text_box = next(s for s in at.selectbox if s.label == "Column with the texts")
    label_box = next(s for s in at.selectbox if s.label == "Column with the labels")
    assert text_box.value and label_box.value and text_box.value != label_box.value
    assert len(at.get("plotly_chart")) >= 1  # counts per class and split
    # sample texts per class instead of thumbnails
    shown_texts = [t for d in at.dataframe if "text" in d.value.columns for t in d.value["text"]]
    assert any("wonderful" in t or "great" in t for t in shown_texts)
    assert any("terrible" in t or "awful" in t for t in shown_texts)
    assert not at.image
    state = _state(env)
    assert state["dataset"].endswith("reviews.tsv") and Path(state["dataset"]).is_file()
    config = state["config"]
    assert config["data"] == state["dataset"]
    assert (config["text_column"], config["label_column"]) == (text_box.value, label_box.value)


def test_data_page_columns_can_be_changed_and_a_wrong_choice_is_explained(env):
    rows = sentences(20)
    csv = "id,review,label,stars\n" + "".join(
        f"{i},{text},{label},{5 if label == 'good' else 1}\n" for i, (text, label) in enumerate(rows))
    at = upload_text(open_page(PAGES[0]), "reviews.csv", csv.encode("utf-8"))
    assert_clean(at)
    assert next(s for s in at.selectbox if s.label == "Column with the texts").value == "review"
    label_box = next(s for s in at.selectbox if s.label == "Column with the labels")
    assert label_box.value in ("label", "stars")
    other = "stars" if label_box.value == "label" else "label"
    label_box.select(other).run()
    assert_clean(at)
    assert _state(env)["config"]["label_column"] == other
    assert {m.label: str(m.value) for m in at.metric}["Classes"] == "2"
    # an id column is no label: refused with a message, and the choices stay to fix it
    next(s for s in at.selectbox if s.label == "Column with the labels").select("id").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "fix" in at.error[0].value.lower()
    assert any(s.label == "Column with the labels" for s in at.selectbox)


def test_data_page_finds_repeated_texts_and_leaks_between_splits(env):
    rows = sentences(20)
    lines = ["text,label,split"] + [f"{t},{label},{'val' if i % 4 == 0 else 'train'}" for i, (t, label) in enumerate(rows)]
    lines.append(f"{rows[0][0]},{rows[0][1]},train")  # the same text in val (row 0) and in train
    at = upload_text(open_page(PAGES[0]), "split.csv", ("\n".join(lines) + "\n").encode("utf-8"))
    assert_clean(at)
    assert any(m.value == "**Split column:** `split`" for m in at.markdown), "the split column is named"
    assert any("more than one split" in w.value for w in at.warning), "the leak between splits is a finding"
    leaks = next(d.value for d in at.dataframe if "texts" in d.value.columns)
    assert f"“{rows[0][0]}” (val)" in leaks["texts"][0], "the leaking text is shown as a text, not a row id"
    why = next(d.value for d in at.dataframe if "why" in d.value.columns)
    assert set(why["column"]) == {"text", "label", "split"} and "given" not in set(why["why"])


@pytest.mark.parametrize("name,content,words", [
    ("one_column.csv", "text\n" + "".join(f"sentence number {i}\n" for i in range(30)), "column"),
    ("one_label.tsv", "".join(f"sentence number {i}\tgood\n" for i in range(30)), "label"),
    ("binary.csv", b"PK\x03\x04\x00\x00binary\x00\x00\xff\xfe" * 20, ""),
    ("latin1.csv", "text,label\n" + "".join(f"caf\xe9 number {i},{'a' if i % 2 else 'b'}\n" for i in range(30)),
     "utf-8"),
])
def test_data_page_bad_text_files_are_explained_never_a_traceback(env, name, content, words):
    data = content if isinstance(content, bytes) else content.encode("latin-1" if "latin1" in name else "utf-8")
    at = upload_text(open_page(PAGES[0]), name, data)
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, "a bad file is explained with st.error"
    message = at.error[0].value
    assert "fix" in message.lower()
    assert words.lower() in message.lower()
    assert not any("What we found" in h.value for h in at.header)
    at.run()  # a later rerun keeps the explanation
    assert at.error and not at.exception


# --------------------------------------------------------------------------- Model
def _choose_tsv(env) -> str:
    """What the Data page saves once a file of sentences is read (app_state.json)."""
    path = write_tsv(env["data_root"] / "reviews.tsv")
    session = env["session_dir"]
    session.mkdir(parents=True, exist_ok=True)
    state = {"dataset": str(path), "dataset_name": "reviews",
             "config": {"data": str(path)}}
    (session / "app_state.json").write_text(json.dumps(state))
    return str(path)


def test_model_page_offers_text_encoders_and_hides_picture_settings(env):
    from tlcore import DEFAULT_TEXT_ENCODER, TEXT_ENCODERS

    path = _choose_tsv(env)
    at = open_page(PAGES[1])
    assert_clean(at)
    encoder = at.selectbox(key="m_text_encoder")
    assert encoder.options == list(TEXT_ENCODERS) and encoder.value == DEFAULT_TEXT_ENCODER
    assert at.number_input(key="m_sequence_length").value == TEXT_ENCODERS[DEFAULT_TEXT_ENCODER].native_size
    assert len(at.radio(key="m_mode").options) == 2 and at.radio(key="m_mode").value == "feature-extraction"
    keys = {w.key for w in [*at.selectbox, *at.number_input, *at.toggle, *at.radio]}
    assert not keys & {"m_backbone", "m_image_size", "m_augment", "m_weights", "m_pool", "m_cache"}, keys
    assert not any("Where to cut" in h.value or "Augmentation" in h.value for h in at.header)
    assert any(m.label == "Trainable parameters" for m in at.metric)
    config = _state(env)["config"]
    assert config["backbone"] == DEFAULT_TEXT_ENCODER and config["data"] == path
    assert not config["augment"] and not config["image_size"]
    at.number_input(key="m_sequence_length").set_value(32).run()
    assert _state(env)["config"]["sequence_length"] == 32
    at.radio(key="m_mode").set_value("fine-tune").run()
    assert_clean(at)
    assert at.slider(key="m_ft_layers") is not None


def test_model_page_word_vectors_have_nothing_to_fine_tune(env):
    _choose_tsv(env)
    at = open_page(PAGES[1])
    at.selectbox(key="m_text_encoder").select("GloVe-50d").run()
    assert_clean(at)
    assert len(at.radio(key="m_mode").options) == 1 and at.radio(key="m_mode").value == "feature-extraction"
    assert _state(env)["config"]["backbone"] == "GloVe-50d"


# --------------------------------------------------------------------------- Evaluate (a written run)
def write_text_run(env, run_id: str = "20250101-120000-minilm-l6-fe") -> Path:
    """A finished text run's folder (its model is not used by these tests)."""
    path = _choose_tsv(env)
    folder = RunFolder(env["session_dir"] / "runs" / run_id)
    folder.write_config(TrainConfig(data=path, backbone="MiniLM-L6"))
    folder.emit({"type": "status", "status": "finished", "accuracy": 0.9, "seconds": 5.0})
    folder.write_labels(CLASSES)
    folder.model_path.write_bytes(b"not used by these tests")
    ids = [f"{path}#{n}" for n in (3, 50)]
    folder.write_predictions({"val": {"paths": ids, "labels": [1, 0], "texts": ["The film was lovely, sort of.",
                                                                             "The meal was awful, they said."]}})
    folder.write_evaluation({
        "accuracy": 0.9, "num_images": 20, "classes": CLASSES, "macro_f1": 0.9,
        "confusion_matrix": [[9, 1], [1, 9]],
        "report": {c: {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 10} for c in CLASSES},
        "misclassified": [{"path": ids[0], "true": "good", "predicted": "bad", "confidence": 0.7, "true_probability": 0.3},
                          {"path": ids[1], "true": "bad", "predicted": "good", "confidence": 0.6, "true_probability": 0.4}],
    })
    return folder.path


def _mistakes(at):
    return next(d.value for d in at.dataframe if "predicted" in d.value.columns)


def test_evaluate_page_lists_the_texts_it_got_wrong(env):
    write_text_run(env)
    at = open_page(PAGES[3])
    assert_clean(at)
    assert any(h.value.startswith("4 · Texts it got wrong") for h in at.header)
    table = _mistakes(at)
    assert list(table.columns) == ["text", "true", "predicted", "probability"]
    assert table["text"].tolist() == ["The film was lovely, sort of.", "The meal was awful, they said."]
    assert at.get("toggle") and not any(t.key == "eval_heatmaps" for t in at.toggle), "no Grad-CAM for texts"
    at.selectbox(key="eval_true").select("bad").run()
    assert _mistakes(at)["text"].tolist() == ["The meal was awful, they said."]


def test_predict_page_offers_a_text_box_for_a_text_run(env):
    write_text_run(env)
    at = open_page(PAGES[4])
    assert_clean(at)
    assert at.text_area(key="predict_texts") is not None
    assert at.file_uploader(key="predict_text_upload") is not None
    assert not any(r.key == "predict_source" for r in at.radio), "no camera for a text run"


# --------------------------------------------------------------------------- a real run (GloVe: seconds)
@pytest.fixture
def trained_text_run(env):
    from tlcore.train import train

    path = _choose_tsv(env)
    run = env["session_dir"] / "runs" / "20250101-130000-glove-50d-fe"
    train(TrainConfig(data=path, backbone="GloVe-50d", epochs=15, learning_rate=0.01, seed=1), run)
    state = _state(env)
    state["last_run"] = run.name
    (env["session_dir"] / "app_state.json").write_text(json.dumps(state))
    return run


@pytest.mark.slow
def test_predict_page_answers_typed_sentences_of_a_trained_text_run(env, trained_text_run):
    at = open_page(PAGES[4])
    assert_clean(at)
    at.text_area(key="predict_texts").input("The concert was wonderful and really superb.\n\n"
                                            "The hotel was awful and really dreadful.\n")
    at.run()
    assert_clean(at)
    answers = [m.value for m in at.markdown if m.value.startswith("### ") and " — " in m.value]
    assert len(answers) == 2, answers
    assert answers[0].startswith("### good") or "I don't know" in answers[0]
    assert answers[1].startswith("### bad") or "I don't know" in answers[1]
    assert "What the model reads" in texts(at)
    at.switch_page(PAGES[3]).run()  # its evaluation: texts, no heatmaps
    assert_clean(at)
    assert not any(t.key == "eval_heatmaps" for t in at.toggle)


def test_the_data_page_says_what_to_install_when_text_support_is_missing(env, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "keras_hub" else real(name, *a))
    at = upload_text(open_page(PAGES[0]), "reviews.tsv", tsv_bytes())
    assert_clean(at)
    warned = " ".join(w.value for w in at.warning)
    assert "keras-hub" in warned and "pip install -e '.[text]'" in warned, warned
    assert any(m.label == "Classes" for m in at.metric), "the texts are still read and checked"
