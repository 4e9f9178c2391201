"""Training on labelled sentences: the same run, events, evaluation, trust and predictor as for pictures."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from text_samples import reviews, write_reviews_tsv
from tlcore import TrainConfig, load_predictor
from tlcore.errors import TLCoreError
from tlcore.runs import RunFolder
from tlcore.train import train
from tlcore.workspace import Workspace

from conftest import REPO


@pytest.fixture(scope="module")
def reviews_tsv(tmp_path_factory):
    return write_reviews_tsv(tmp_path_factory.mktemp("text") / "reviews.tsv", per_class=30)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return Workspace(tmp_path_factory.mktemp("ws"))


@pytest.fixture(scope="module")
def text_run(reviews_tsv, workspace, tmp_path_factory):
    """Feature extraction with nothing chosen but the data: the picture default becomes the text encoder."""
    events: list[dict] = []
    run_dir = tmp_path_factory.mktemp("runs") / "first"
    result = train(TrainConfig(data=str(reviews_tsv), epochs=40), run_dir, workspace=workspace,
                   on_event=events.append)
    return result, events, run_dir


def test_text_data_gets_the_text_encoder_and_the_run_says_so(text_run):
    result, events, run_dir = text_run
    assert result.status == "finished"
    saved = RunFolder(run_dir).config()
    assert saved.backbone == "MiniLM-L6"  # replayed from config.json, the run uses the same encoder
    said = [e.get("message", "") for e in events if e.get("type") == "stage"]
    assert any("texts" in m and "MiniLM-L6" in m for m in said), said


def test_a_text_run_learns_and_is_evaluated_like_a_picture_run(text_run):
    result, events, run_dir = text_run
    evaluation = result.evaluation
    assert evaluation["accuracy"] >= 0.9, evaluation["accuracy"]
    assert len(evaluation["accuracy_ci"]) == 2 and evaluation["calibration"]["temperature"] > 0
    epochs = [e for e in events if e.get("type") == "epoch"]
    assert len(epochs) >= 3 and all("val_loss" in e for e in epochs)  # the curves the Train page draws
    predictions = RunFolder(run_dir).predictions()
    assert len(predictions["val"]["texts"]) == len(predictions["val"]["labels"]) == 12
    assert all(isinstance(t, str) and t for t in predictions["val"]["texts"])
    trust = RunFolder(run_dir).trust()
    assert trust["item"] == "text" and trust["similarity_limit"] is not None


def test_the_run_answers_new_sentences_and_knows_what_it_does_not_know(text_run):
    _, _, run_dir = text_run
    predictor = load_predictor(run_dir)
    assert predictor.modality == "text"
    answers = predictor.answer(["What a superb hotel, I loved it.", "The battery was dreadful, I hated it."])
    # the top class is right; with 48 training texts a new wording may still be "unlike every training text"
    assert [a.top[0][0] for a in answers] == ["positive", "negative"], answers
    far = predictor.answer(["Photosynthesis converts light energy into chemical energy in chloroplasts."])[0]
    assert far.similarity < min(a.similarity for a in answers)
    assert far.unknown and far.label is None and "unlike every training text" in far.reason, far
    with pytest.raises(TLCoreError, match="strings"):
        predictor.answer([b"bytes are not text"])


def test_the_second_run_reuses_every_cached_sentence_feature(text_run, reviews_tsv, workspace, tmp_path):
    result = train(TrainConfig(data=str(reviews_tsv), backbone="MiniLM-L6", epochs=2, seed=42), tmp_path / "again",
                   workspace=workspace)
    assert result.feature_cache_misses == 0 and result.feature_cache_hits > 0


def test_fine_tuning_trains_the_top_blocks_and_says_which_weights_it_kept(reviews_tsv, workspace, tmp_path):
    events: list[dict] = []
    result = train(TrainConfig(data=str(reviews_tsv), backbone="MiniLM-L6", mode="fine-tune", epochs=5,
                               fine_tune_epochs=2, fine_tune_layers=8, fine_tune_learning_rate=5e-5, batch_size=16),
                   tmp_path / "tuned", workspace=workspace, on_event=events.append)
    report = result.evaluation["fine_tune"]
    assert report["kept"] in ("fine-tuned", "frozen") and report["message"]
    assert report["layers"] == 8 and "fine_tuned_val_accuracy" in report
    tuned_epochs = [e for e in events if e.get("type") == "epoch" and e.get("stage") == "fine-tune"]
    assert len(tuned_epochs) == 2
    stage = next(e for e in events if e.get("stage") == "fine-tune" and e.get("type") == "stage")
    assert "top 1 of 6 transformer blocks" in stage["message"] and stage["trainable_params"] > 0
    assert load_predictor(tmp_path / "tuned").answer(["A wonderful film, I loved it."])[0].label in (
        "positive", None)


def test_glove_has_nothing_to_fine_tune_and_keeps_the_frozen_model(reviews_tsv, workspace, tmp_path):
    result = train(TrainConfig(data=str(reviews_tsv), backbone="GloVe-50d", mode="fine-tune", epochs=30,
                               learning_rate=1e-2), tmp_path / "glove", workspace=workspace)
    assert result.evaluation["fine_tune"]["kept"] == "frozen"
    assert "no layers to fine-tune" in result.evaluation["fine_tune"]["message"]
    assert result.evaluation["accuracy"] >= 0.75


@pytest.mark.parametrize("settings, words", [
    ({"backbone": "ResNet50"}, "image backbone"),
    ({"augment": True}, "Augmentation"),
    ({"feature_cache": False}, "always cache"),
])
def test_picture_settings_on_texts_are_refused_with_what_to_do(reviews_tsv, workspace, tmp_path, settings, words):
    with pytest.raises(TLCoreError, match=words):
        train(TrainConfig(data=str(reviews_tsv), epochs=1, **settings), tmp_path / "bad", workspace=workspace)


def test_a_text_encoder_for_pictures_is_refused(tiny_dataset, workspace, tmp_path):
    with pytest.raises(TLCoreError, match="text encoder; this dataset holds pictures"):
        train(TrainConfig(data=str(tiny_dataset), backbone="GloVe-50d", epochs=1), tmp_path / "bad",
              workspace=workspace)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tlcore", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_the_command_line_trains_on_a_csv_and_predicts_typed_texts_and_text_files(tmp_path):
    rows = reviews(25, seed=3)
    lines = ["id,review,stars"] + [f'{i},"{t}",{"5" if lab == "positive" else "1"}' for i, (t, lab) in enumerate(rows)]
    (tmp_path / "reviews.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env_ws = ["--workspace", str(tmp_path / "ws")] if "--workspace" in _cli("train", "--help", cwd=REPO).stdout else []
    done = _cli("train", "reviews.csv", "--epochs", "10", "--out", "runs", "--name", "cli", *env_ws, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    run = next((tmp_path / "runs").iterdir())
    config = json.loads((run / "config.json").read_text())
    assert config["backbone"] == "MiniLM-L6"
    (tmp_path / "new.txt").write_text("Really superb pizza, would buy again!\n\nWhat a horrible phone.\n", "utf-8")
    said = _cli("predict", str(run), "The staff was wonderful, I loved it.", "new.txt", "--json", cwd=tmp_path)
    assert said.returncode == 0, said.stderr[-2000:]
    answers = json.loads(said.stdout)
    assert [a["path"] for a in answers] == ["The staff was wonderful, I loved it.", "new.txt:1", "new.txt:3"]
    assert [a["decision"] for a in answers] == ["5", "5", "1"], answers


@pytest.mark.real_data
def test_sentiment_feature_extraction_reaches_the_floor_over_seeded_splits(tmp_path):
    """The issue's floor: the defaults reach at least 88 % on the UCI labelled sentences (3 seeded splits)."""
    from _realdata import DATASETS, require

    folder = require(DATASETS / "sentiment", "The sentiment (UCI labelled sentences) dataset")
    lines = []
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                text, label = line.rsplit("\t", 1)
                lines.append(f"{text.strip()}\t{label.strip()}")
    data = tmp_path / "sentiment.tsv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    workspace = Workspace(tmp_path / "ws")
    scores = []
    for seed in (1, 2, 3):
        result = train(TrainConfig(data=str(data), seed=seed), tmp_path / f"seed{seed}", workspace=workspace)
        assert 580 <= result.evaluation["num_images"] <= 620  # 20 % held out (copies of a text stay together)
        scores.append(result.evaluation["accuracy"])
    mean = float(np.mean(scores))
    half = 1.96 * float(np.std(scores, ddof=1)) / np.sqrt(len(scores))
    print(f"\nsentiment, MiniLM-L6 feature extraction: {', '.join(f'{s:.1%}' for s in scores)}; "
          f"mean {mean:.1%} (± {half:.1%}); interval of the first split {result.evaluation['accuracy_ci']}")
    assert mean >= 0.88, scores


def test_where_the_model_looks_is_refused_for_texts_with_what_to_see_instead(text_run, tmp_path):
    from tlcore import explain_run

    _, _, run_dir = text_run
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(TLCoreError, match="classifies texts"):
        explain_run(run_dir, [tmp_path / "x.png"], tmp_path / "out")


def test_the_text_encoders_have_no_picture_layers_to_list():
    from tlcore.backbones import list_layers

    with pytest.raises(TLCoreError, match="text encoder"):
        list_layers("MiniLM-L6")


def test_a_run_folder_started_on_texts_is_named_after_the_text_encoder(reviews_tsv, tmp_path):
    from tlcore.runs import RunFolder
    from tlcore.train.stages import prefer_text_encoder

    config = TrainConfig(data=str(reviews_tsv))
    assert prefer_text_encoder(config) and config.backbone == "MiniLM-L6"
    assert "minilm" in RunFolder.create(tmp_path, config).path.name.lower()
    chosen = TrainConfig(data=str(reviews_tsv), backbone="GloVe-50d")
    assert not prefer_text_encoder(chosen) and chosen.backbone == "GloVe-50d"  # a choice is kept
