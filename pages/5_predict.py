"""Step 5 — Predict: upload new pictures and see what a trained model answers ("I don't know" included),
how sure it is, and where it looks; or let it answer the webcam live (ui.live)."""

from __future__ import annotations

import io

import streamlit as st

import ui
from tlcore import check_image_bytes

ui.page_header(
    "predict",
    "Try a trained model on **new pictures**: drop one or more images and see its answer, how sure it is "
    "about each, and where in the picture it looks — or hold things up to your webcam and watch it answer "
    "live. A text model reads **new sentences** you type or drop as a .txt file. When a picture or a text is "
    "unlike anything it was trained on, it says **“I don't know”**.",
)

run_id = ui.pick_finished_run("predict_run")
if run_id is None:
    st.stop()
run = ui.run_folder(run_id)


labels = ui.call(run.labels, what="reading the class names") or []
ui.set_item("text" if ui.is_text_run_folder(str(run.path)) else "picture")
if ui.is_text_run_folder(str(run.path)):  # a text run reads sentences: typed, or a .txt file
    top_k = st.number_input("Guesses to show", min_value=1, max_value=max(1, min(5, len(labels) or 5)),
                            value=min(3, max(1, len(labels) or 3)), key="predict_topk",
                            help="How many of the most likely classes to list for each sentence.")
    sentences = ui.text_inputs()
    if not sentences:
        st.caption("Tip: write sentences like the ones you trained on, or quite different ones to see "
                   "“I don't know”.")
        st.stop()
    model = ui.call(ui.run_model, str(run.path), what="loading the model")
    if model is None:
        st.stop()
    if model.trust is not None and model.trust.two_classes:
        st.info(ui.threshold_words(model.trust, "text"), icon=":material/tune:")
    ui.text_answers(model, sentences, int(top_k))
    ui.next_step("runs", "Next: download the model")
    st.stop()

FROM_FILES, FROM_CAMERA = "Pictures", "Live camera"
source = st.radio("What the model looks at", [FROM_FILES, FROM_CAMERA], horizontal=True, key="predict_source",
                  help="Pictures: files you drop here. Live camera: the model answers what your webcam sees, "
                       "several times a second.")
col_up, col_k = st.columns([3, 1])
with col_up:
    files = st.file_uploader(
        "Drop pictures here",
        accept_multiple_files=True,
        key="predict_upload",
        help="JPEG, PNG, GIF, BMP, TIFF or WebP. Pictures of any size work; they are resized inside the model.",
    ) if source == FROM_FILES else None
with col_k:
    top_k = st.number_input("Guesses to show", min_value=1, max_value=max(1, min(5, len(labels) or 5)),
                            value=min(3, max(1, len(labels) or 3)), key="predict_topk",
                            help="How many of the most likely classes to list for each picture.")

if source == FROM_CAMERA:
    ui.live_section(str(run.path), int(top_k))
    st.stop()

if not files:
    st.caption("Tip: pictures from the validation folder or new photos you took yourself both work.")
    st.stop()

# Check every picture first, so one bad file is named and the others still get predicted.
# Nothing is written to disk: tlcore reads the uploaded bytes directly.
good: list[tuple[str, bytes]] = []  # (file name, content)
for upload in files[:50]:
    data = upload.getvalue()
    problem = check_image_bytes(data, upload.name)
    if problem:
        st.error(f"“{upload.name}” cannot be used: {problem}. Fix: use a JPEG, PNG, GIF, BMP, TIFF or WebP picture.",
                 icon=":material/broken_image:")
        continue
    good.append((upload.name, data))
if len(files) > 50:
    st.warning(f"Only the first 50 of {len(files)} pictures are shown. Fix: predict the rest in smaller groups.")
if not good:
    st.stop()


def _as_file(name: str, data: bytes) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


model = ui.call(ui.run_model, str(run.path), what="loading the model")
if model is None:
    st.stop()
with st.spinner(f"Looking at {len(good)} picture(s)…"):
    answers = ui.call(model.answer, [_as_file(n, d) for n, d in good], top_k=int(top_k), what="predicting")
if answers is None:
    st.stop()

trust = model.trust
if trust is not None and trust.two_classes:
    st.info(ui.threshold_words(trust), icon=":material/tune:")
elif trust is None:
    st.caption("This run was trained before Transfer Studio calibrated percentages and could say “I don't know”: "
               "its percentages may be over-sure. Train it again to add both.")

LOOK_OFF, LOOK_ANSWER = "no", "answer"
look_options = [LOOK_OFF, LOOK_ANSWER, *labels]
look = st.selectbox("Show where the model looks", look_options, key="predict_explain",
                    format_func=lambda o: {LOOK_OFF: "Don't show", LOOK_ANSWER: "For its answer"}.get(o, f"For “{o}”"),
                    help="Colours the parts of each picture that push the model towards a class (Grad-CAM): red "
                         "counts most. On the object, good; on the background or a label, a warning sign.")

st.header("What the model sees", anchor=False)
for index, ((name, data), answer) in enumerate(zip(good, answers)):
    with st.container(border=True):
        widths = [1, 1, 2] if look != LOOK_OFF else [1, 3]
        cols = st.columns(widths, vertical_alignment="center")
        with cols[0]:
            thumb = ui.picture_thumbnail(_as_file(name, data), 256)
            if thumb is not None:
                st.image(thumb, width="stretch")
            st.caption(name)
        if look != LOOK_OFF:
            with cols[1]:
                # Named, not None: with a threshold the answer need not be the most likely class.
                target = (answer.label or answer.top[0][0]) if look == LOOK_ANSWER else look
                overlay = ui.heatmap_overlay(str(run.path), ui.file_stamp(str(run.model_path)), data, name, target)
                if overlay is not None:
                    st.image(overlay, width="stretch")
                    st.caption(f"Where it looks for “{target}”")
        with cols[-1]:
            ui.answer_view(answer, trust, key=f"predict_bar_{index}")

ui.next_step("runs", "Next: download the model")
