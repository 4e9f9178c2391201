"""Step 5 — Predict: upload new pictures and see what a trained model thinks they are."""

from __future__ import annotations

import io

import streamlit as st

import ui
from tlcore import check_image_bytes, load_model, predict_images

ui.page_header(
    "predict",
    "Try a trained model on **new pictures**: drop one or more images and see its best guesses, "
    "with how sure it is about each.",
)

run_id = ui.pick_finished_run("predict_run")
if run_id is None:
    st.stop()
run = ui.run_folder(run_id)


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def _model(path: str, stamp: float):
    """Kept in memory for the next pictures (at most two models, to bound memory)."""
    return load_model(path)


labels = ui.call(run.labels, what="reading the class names") or []
col_up, col_k = st.columns([3, 1])
with col_up:
    files = st.file_uploader(
        "Drop pictures here",
        accept_multiple_files=True,
        key="predict_upload",
        help="JPEG, PNG, GIF, BMP, TIFF or WebP. Pictures of any size work; they are resized inside the model.",
    )
with col_k:
    top_k = st.number_input("Guesses to show", min_value=1, max_value=max(1, min(5, len(labels) or 5)),
                            value=min(3, max(1, len(labels) or 3)), key="predict_topk",
                            help="How many of the most likely classes to list for each picture.")

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


model = ui.call(_model, str(run.path), ui.file_stamp(str(run.model_path)), what="loading the model")
if model is None:
    st.stop()
with st.spinner(f"Looking at {len(good)} picture(s)…"):
    results = ui.call(predict_images, model, [_as_file(n, d) for n, d in good], top_k=int(top_k), what="predicting")
if results is None:
    st.stop()

st.header("What the model sees", anchor=False)
for index, ((name, data), guesses) in enumerate(zip(good, results)):
    guesses = [(str(c), float(p)) for c, p in guesses]
    with st.container(border=True):
        col_img, col_res = st.columns([1, 3], vertical_alignment="center")
        with col_img:
            thumb = ui.picture_thumbnail(_as_file(name, data), 256)
            if thumb is not None:
                st.image(thumb, width="stretch")
            st.caption(name)
        with col_res:
            if guesses:
                best, prob = guesses[0]
                st.markdown(f"### {best} — {prob:.0%}")
                if prob >= 0.8:
                    st.caption("The model is confident.")
                elif prob >= 0.5:
                    st.caption("The model is fairly sure, but not certain.")
                else:
                    st.caption("The model is unsure. A low score can mean the picture looks like none of your classes.")
                fig = ui.probability_figure(guesses)
                st.plotly_chart(fig, width="stretch", key=f"predict_bar_{index}")

ui.next_step("runs", "Next: download the model")
