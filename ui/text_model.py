"""The Model page's text parts: which text encoder to start from and how long a text may be.

The encoders come from tlcore's one registry (``TEXT_ENCODERS``); the picture-only settings
(layer, image size, augmentation, a backbone file) do not apply to texts and are cleared here.
"""

from __future__ import annotations

import streamlit as st

from tlcore import DEFAULT_TEXT_ENCODER, SETTINGS, TEXT_ENCODERS

from .calls import plain
from .state import update_config, widget_default

MAX_FINE_TUNE_LAYERS = 64  # the slider's end: whole transformer blocks are unfrozen, as many as fit


def is_text_run(config) -> bool:
    """True when a run's settings (a TrainConfig or its dict) name a text encoder."""
    backbone = config.get("backbone") if isinstance(config, dict) else getattr(config, "backbone", None)
    return backbone in TEXT_ENCODERS


def _reset_after_encoder_change() -> None:
    st.session_state.pop("m_sequence_length", None)
    update_config(sequence_length=None)


def encoder_section(config):
    """Section 1 for text data: the encoder and the sequence length. Returns the updated config."""
    st.header("1 · Pretrained text encoder", anchor=False)
    st.caption(
        "A *text encoder* is a network already trained on a huge amount of English text. It turns each sentence "
        "into a list of numbers (its *features*) that capture what it means; you reuse that and only teach it "
        "your classes."
    )
    names = list(TEXT_ENCODERS)
    if config.backbone not in names:
        config = update_config(backbone=DEFAULT_TEXT_ENCODER if DEFAULT_TEXT_ENCODER in names else names[0],
                               sequence_length=None)
        st.session_state.pop("m_text_encoder", None)
    col_pick, col_info = st.columns([2, 3], vertical_alignment="bottom")
    with col_pick:
        encoder = st.selectbox("Text encoder", names, key=widget_default("m_text_encoder", config.backbone),
                               on_change=_reset_after_encoder_change,
                               help=f"{DEFAULT_TEXT_ENCODER} gives strong sentence features and is a good first choice.")
    spec = TEXT_ENCODERS[encoder]
    with col_info:
        st.markdown(f"**{plain(spec.description)}**  \n{spec.params_millions:.1f} M parameters · "
                    f"{spec.feature_size} features per sentence")
    with st.expander("Compare the text encoders", icon=":material/compare:"):
        st.dataframe([{"encoder": name, "parameters (M)": s.params_millions, "features": s.feature_size,
                       "default length (tokens)": s.native_size, "about": s.description}
                      for name, s in TEXT_ENCODERS.items()], hide_index=True, width="stretch")
    setting = SETTINGS["sequence_length"]
    length = st.number_input(
        "Sequence length (tokens)", min_value=int(setting.minimum or spec.min_size),
        max_value=int(setting.maximum or 512), step=8,
        key=widget_default("m_sequence_length", int(config.sequence_length or spec.native_size)),
        help=f"Each text is cut or padded to this many tokens (words or pieces of words). {spec.native_size} is "
             f"{encoder}'s default; longer keeps more of long texts but is slower.",
    )
    # Settings for pictures mean nothing here: cleared, so the run's settings say what it does.
    return update_config(backbone=encoder, sequence_length=None if int(length) == spec.native_size else int(length),
                         weights="imagenet", image_size=None, layer=None, backbone_file=None, augment=False,
                         feature_cache=True, features=None)


def can_fine_tune(encoder: str) -> bool:
    """Whether an encoder has layers to fine-tune (averaged word vectors have none)."""
    spec = TEXT_ENCODERS.get(encoder)
    return spec is not None and bool(spec.cut_points.strip("^$"))


def text_summary(config, num_classes: int) -> None:
    """What a text run trains, from the registry (no model is built on the page)."""
    spec = TEXT_ENCODERS.get(config.backbone)
    if spec is None:
        return
    head = spec.feature_size * num_classes + num_classes  # one dense layer on the sentence features
    cols = st.columns(2)
    cols[0].metric("Trainable parameters", f"{head:,}" if num_classes else "—",
                   help="The new classifier on the sentence features (before any fine-tuning).")
    cols[1].metric("Frozen parameters", f"{spec.params_millions:.1f} M",
                   help="The pretrained encoder, kept as it learned.")
    st.caption("Each text goes through the encoder once; its features are saved, so the classifier trains in "
               "seconds and repeat runs are fast.")


__all__ = ["MAX_FINE_TUNE_LAYERS", "can_fine_tune", "encoder_section", "is_text_run", "text_summary"]
