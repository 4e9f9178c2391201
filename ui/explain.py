"""Grad-CAM on a page: the overlay of where a run's model looks in an uploaded picture."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st

from tlcore import RunFolder, explain_images, load_model

from .calls import call
from .datasets import file_stamp


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def _loaded(run_path: str, model_stamp: float, trust_stamp: float):
    return load_model(run_path)


def run_model(run_path: str):
    """The run's model (a tlcore Predictor), kept in memory for the next pictures and shared by
    the Predict page and the heatmaps (at most two, to bound memory). A new threshold or
    strictness (trust.json changed) loads it again, since the decisions are inside it."""
    folder = RunFolder(run_path)
    return _loaded(run_path, file_stamp(str(folder.model_path)), file_stamp(str(folder.trust_path)))


def _overlay(run_path: str, model_stamp: float, image_bytes: bytes, name: str, class_name: str | None):
    source = io.BytesIO(image_bytes)
    source.name = name  # an unreadable picture is named in the message
    return explain_images(run_model(run_path), [source], class_name=class_name)[0].overlay


@st.cache_data(max_entries=256, show_spinner="Looking where the model looks…")
def heatmap_overlay(run_path: str, model_stamp: float, image_bytes: bytes, name: str,
                    class_name: str | None) -> np.ndarray | None:
    """The Grad-CAM overlay (uint8 RGB at the model's image size) of a picture for ``class_name``
    (None: the predicted class), or None with the problem shown on the page.

    ``model_stamp`` (the model file's modification time) makes a retrained run's model a new entry.
    """
    return call(_overlay, run_path, model_stamp, image_bytes, name, class_name, what="explaining the picture")
