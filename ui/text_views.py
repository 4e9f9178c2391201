"""The Evaluate and Predict pages' text parts: the texts a model got wrong as a table, and sentences
typed or uploaded for a text run to answer."""

from __future__ import annotations

import streamlit as st

from tlcore import RunFolder

from .answer_views import answer_view
from .calls import call, plain
from .datasets import file_stamp
from .text_model import is_text_run

MAX_TEXTS = 50  # sentences answered at once (as for pictures)
_SHORT = 120  # characters of a text shown in an answer's heading


@st.cache_data(max_entries=16, show_spinner=False)
def _texts(run_path: str, stamp: float) -> dict[str, str]:
    predictions = RunFolder(run_path).predictions() or {}
    found: dict[str, str] = {}
    for split in predictions.values():
        if isinstance(split, dict) and split.get("texts"):
            found.update(zip(map(str, split.get("paths") or []), map(str, split["texts"])))
    return found


def run_texts(run_path: str) -> dict[str, str]:
    """A text run's validation and test texts by row id (from its ``predictions.json``); {} for pictures."""
    folder = RunFolder(run_path)
    return _texts(run_path, file_stamp(str(folder.predictions_path)))


def is_text_run_folder(run_path: str) -> bool:
    """Whether a run learned from texts: its settings name a text encoder, or its model has a tokenizer beside it.

    (Not by reading predictions.json: the pages ask on every redraw, and for a picture run that file is large.)"""
    folder = RunFolder(run_path)
    try:
        config = folder.config_dict()
    except Exception:
        config = {}
    return is_text_run(config or {}) or folder.tokenizer_path.is_dir()


def mistakes_table(mistakes: list[dict], texts: dict[str, str], limit: int = 200) -> None:
    """The texts a model got wrong: text, true class, predicted class and how sure it was."""
    rows = [{"text": texts.get(str(mk.get("path")), mk.get("text") or str(mk.get("path"))),
             "true": mk.get("true"), "predicted": mk.get("predicted"),
             "probability": float(mk.get("confidence", 0))} for mk in mistakes[:limit]]
    st.caption(f"{len(mistakes)} text(s), most confident mistakes first. *probability*: how sure the model was of "
               "its wrong answer.")
    st.dataframe(rows, hide_index=True, width="stretch", key="eval_text_mistakes", column_config={
        "text": st.column_config.TextColumn("text", width="large"),
        "probability": st.column_config.ProgressColumn("probability", min_value=0.0, max_value=1.0, format="percent"),
    })
    if len(mistakes) > limit:
        st.caption(f"…and {len(mistakes) - limit} more.")


def _short(text: str) -> str:
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def text_inputs() -> list[str]:
    """The sentences to answer: typed (one per line) and/or from an uploaded .txt file (one per line)."""
    typed = st.text_area("Type sentences, one per line", key="predict_texts", height=140,
                         placeholder="e.g. The food was wonderful and the staff friendly.")
    upload = st.file_uploader("…or drop a .txt file (one sentence per line)", type=["txt"], key="predict_text_upload")
    lines = [line.strip() for line in (typed or "").splitlines()]
    if upload is not None:
        try:
            lines += [line.strip() for line in upload.getvalue().decode("utf-8-sig").splitlines()]
        except UnicodeDecodeError as err:
            st.error(f"“{plain(upload.name)}” is not UTF-8 text (byte {err.start} cannot be read). Fix: save the file "
                     "as UTF-8 (in a text editor: choose the UTF-8 encoding when saving).", icon=":material/error:")
    texts = [line for line in lines if line]
    if len(texts) > MAX_TEXTS:
        st.warning(f"Only the first {MAX_TEXTS} of {len(texts)} sentences are answered. Fix: predict the rest in "
                   "smaller groups.")
    return texts[:MAX_TEXTS]


def text_answers(model, texts: list[str], top_k: int) -> None:
    """What a text run answers for each sentence: the class or "I don't know" and why, with bars."""
    with st.spinner(f"Reading {len(texts)} sentence(s)…"):
        answers = call(model.answer, texts, top_k=int(top_k), what="predicting")
    if answers is None:
        return
    st.header("What the model reads", anchor=False)
    for index, (text, answer) in enumerate(zip(texts, answers)):
        with st.container(border=True):
            st.markdown(f"> {plain(_short(text))}")
            answer_view(answer, model.trust, key=f"predict_text_bar_{index}", item="text")


__all__ = ["MAX_TEXTS", "is_text_run_folder", "mistakes_table", "run_texts", "text_answers", "text_inputs"]
