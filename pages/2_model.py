"""Step 2 — Model: which pretrained network to start from, where to cut it, how to train it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import streamlit as st

import ui
from tlcore import (AUGMENTATION_SETTINGS, IMAGE_BACKBONES as BACKBONES, SETTINGS, Augmentation, TrainConfig,
                    augment_previews, list_layers, model_summary, save_user_backbone)

ui.page_header(
    "model",
    "Choose the pretrained network to start from and how to train it. "
    "**The defaults already work well** — if you are unsure, go straight to *Train*.",
)

config = ui.current_config()
dataset = ui.current_dataset(quiet=True)
ws = ui.workspace()
is_text = dataset is not None and dataset.is_text  # sentences: a text encoder instead of a picture backbone
items = "texts" if is_text else "images"


@st.cache_data(max_entries=32, show_spinner="Looking inside the network…")
def _layers(backbone: str, image_size: int | None, backbone_file: str | None) -> list[dict]:
    rows = list_layers(backbone_file or backbone, image_size=image_size)
    return [dataclasses.asdict(r) for r in rows]


@st.cache_data(max_entries=64, show_spinner="Counting the model's parameters…")
def _summary(config_json: str, num_classes: int, num_train_images: int) -> dict:
    return dict(model_summary(TrainConfig.from_dict(json.loads(config_json)), num_classes, num_train_images,
                              measure=False))


@st.cache_data(max_entries=64, show_spinner="Timing a few training steps on this computer…")
def _timing(config_json: str, num_classes: int, num_train_images: int) -> dict:
    return dict(model_summary(TrainConfig.from_dict(json.loads(config_json)), num_classes, num_train_images,
                              measure=True))


@st.cache_data(max_entries=32, show_spinner="Making preview…")
def _previews(path: str, aug: dict, seed: int, size: int) -> list:
    return augment_previews(path, Augmentation(**aug), n=8, size=size, seed=seed)


def _use_own_backbone(upload) -> str | None:
    """Use a user's backbone file; None when it is in use, else why it cannot be (nothing is kept)."""
    try:
        target = save_user_backbone(ws, upload.name, upload.getvalue())
    except Exception as err:  # every refusal is shown as a message, never as a traceback
        return (ui.error_message(err, "checking your model file")
                + " If you have no such file, choose one of the built-in backbones above.")
    ui.update_config(backbone_file=str(target), layer=None)
    return None


def _reset_after_backbone_change() -> None:
    for key in ("m_image_size", "m_layer_search"):
        st.session_state.pop(key, None)
    ui.update_config(layer=None, image_size=None, backbone_file=None)


# --------------------------------------------------------------------------- backbone
if is_text:  # sentences: a text encoder; the picture-only sections below do not apply
    config = ui.encoder_section(config)
    tunable_layers = ui.MAX_FINE_TUNE_LAYERS if ui.can_fine_tune(config.backbone) else 0
else:
    st.header("1 · Pretrained network", anchor=False)
    st.caption(
        "A *backbone* is a network already trained on over a million everyday photos (ImageNet). "
        "It has learned to see edges, textures and shapes; you reuse that and only teach it your classes."
    )
    names = list(BACKBONES)
    if config.backbone not in names:
        config = ui.update_config(backbone=names[0])
    col_pick, col_info = st.columns([2, 3], vertical_alignment="bottom")
    with col_pick:
        backbone = st.selectbox(
            "Backbone",
            names,
            key=ui.widget_default("m_backbone", config.backbone),
            on_change=_reset_after_backbone_change,
            help="MobileNetV2 is small and fast and a good first choice on any computer.",
        )
    spec = BACKBONES[backbone]
    with col_info:
        st.markdown(f"**{spec.description}**  \n{spec.params_millions:.1f} M parameters · native input {spec.native_size} × {spec.native_size} px")

    with st.expander("Compare all backbones", icon=":material/compare:"):
        ui.backbone_comparison()

    col_w, col_s = st.columns(2)
    with col_w:
        weight_labels = {
            "imagenet": "Pretrained on ImageNet (recommended)",
            "none": "Random start (no pretraining): the whole network learns from your pictures — a baseline",
        }
        weights = st.radio(
            "Start from",
            list(weight_labels),
            format_func=weight_labels.get,
            key=ui.widget_default("m_weights", config.weights if config.weights in weight_labels else "imagenet"),
            help="Pretrained weights are what make transfer learning work with few images. A random start trains "
            "every layer from scratch instead: slower and much weaker on small sets, it shows what transfer adds.",
        )
    with col_s:
        image_size = st.number_input(
            "Image size (pixels)",
            min_value=int(getattr(spec, "min_size", 32)),
            max_value=SETTINGS["image_size"].maximum,
            step=8,
            key=ui.widget_default("m_image_size", int(config.image_size or spec.native_size)),
            help=f"Every image is resized to a square of this size. {spec.native_size} px is what {backbone} was trained on; "
            "smaller is faster, larger keeps more detail.",
        )

    with st.expander("Advanced: use your own backbone model file", icon=":material/upload_file:"):
        st.caption(
            "Upload a Keras model (`.keras` or `.h5`) to use instead of a built-in backbone. "
            "For safety, models with custom code (for example `Lambda` layers) are refused."
        )
        # Any file is accepted here and checked by us: the uploader's own type filter only shows a red
        # icon (the reason on hover) and keeps the refused file listed. A new key empties the uploader.
        uploads_seen = st.session_state.get("_m_backbone_upload_n", 0)
        upload_key = "m_backbone_upload" + (f"_{uploads_seen}" if uploads_seen else "")
        own = st.file_uploader("Your model file (.keras or .h5)", key=upload_key)
        if own is not None:
            st.session_state["_m_backbone_problem"] = problem = _use_own_backbone(own)
            st.session_state["_m_backbone_upload_n"] = st.session_state.get("_m_backbone_upload_n", 0) + 1
            if problem is None:
                ui.flash(f"Using your model {own.name} as the backbone.")
            st.rerun()
        if st.session_state.get("_m_backbone_problem"):
            st.error(st.session_state["_m_backbone_problem"], icon=":material/error:")
        if config.backbone_file:
            st.info(f"Using your own model file `{Path(config.backbone_file).name}`.")
            if st.button("Stop using my file", icon=":material/undo:", key="m_backbone_file_stop"):
                config = ui.update_config(backbone_file=None, layer=None)
                st.rerun()

    size_value = None if int(image_size) == spec.native_size and not config.backbone_file else int(image_size)
    config = ui.update_config(backbone=backbone, weights=weights, image_size=size_value, sequence_length=None)

    # --------------------------------------------------------------------------- bottleneck layer
    st.header("2 · Where to cut the network", anchor=False)
    st.caption(
        "The *bottleneck layer* is where we cut the pretrained network: its output (the image's *features*) "
        "feeds your new classifier. Later layers give more abstract features; earlier layers are more general "
        "and can help when your pictures look very different from everyday photos. ★ marks good cut points."
    )
    layers = ui.call(_layers, backbone, size_value, config.backbone_file, what="listing the layers")
    layer = config.layer
    if layers:
        default_layer = next((r["name"] for r in layers if r.get("default")), layers[-1]["name"])
        layer = config.layer if config.layer in {r["name"] for r in layers} else default_layer
        col_q, col_t = st.columns([3, 2], vertical_alignment="bottom")
        with col_q:
            search = st.text_input("Search layers", key="m_layer_search", placeholder="type part of a layer name, e.g. block_16")
        with col_t:
            only_recommended = st.toggle("Only good cut points (★)", value=True, key="m_only_recommended")
        shown = [  # deepest first: the usual cut points (and the default) are near the top
            r for r in reversed(layers)
            if (not only_recommended or r.get("recommended") or r["name"] == layer)
            and (not search or search.lower() in r["name"].lower() or search.lower() in r["type"].lower())
        ]
        table = [
            {
                "★": "★" if r.get("recommended") else "",
                "layer": r["name"] + ("  (default)" if r.get("default") else ""),
                "type": r["type"],
                "output shape": r["output_shape"],
                "parameters kept": r.get("params_up_to", r["params"]),
                "in this layer": r["params"],
                "depth": r["depth"],
            }
            for r in shown
        ]
        selected_index = next((i for i, r in enumerate(shown) if r["name"] == layer), None)
        event = st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            height=300,
            on_select="rerun",
            selection_mode="single-row",
            selection_default={"selection": {"rows": [selected_index]}} if selected_index is not None else None,
            key=f"m_layers_{backbone}_{size_value}_{only_recommended}_{search}",
            column_config={
                "★": st.column_config.TextColumn("★", width="small", help="a good cut point (end of a block)"),
                "parameters kept": st.column_config.NumberColumn(
                    "parameters kept", format="localized",
                    help="Size of the network cut at this layer: the weights of this layer and of every layer before it."),
                "in this layer": st.column_config.NumberColumn(
                    "in this layer", format="localized",
                    help="Weights of this layer alone. Good cut points (additions, pooling, activations) have none."),
            },
        )
        rows = event.selection.rows if event is not None else []
        if rows and rows[0] < len(shown):
            layer = shown[rows[0]]["name"]
        chosen = next(r for r in layers if r["name"] == layer)
        st.markdown(
            f"Cutting at **{layer}**{' (recommended default)' if layer == default_layer else ''} — "
            f"features of shape `{chosen['output_shape']}`, layer {chosen['depth']} of {len(layers)}."
        )
        config = ui.update_config(layer=None if layer == default_layer else layer)
        # What fine-tuning can unfreeze: the layers with weights up to the cut (BatchNorm not counted).
        tunable_layers = sum(1 for r in layers if r["depth"] <= chosen["depth"] and r.get("fine_tunable"))
    else:
        tunable_layers = 0


# --------------------------------------------------------------------------- mode
st.header(f"{2 if is_text else 3} · How to train", anchor=False)
mode_labels = {
    "feature-extraction": "Feature extraction — fast: keep the pretrained network frozen, train only a new classifier on top",
    "fine-tune": "Fine-tuning — slower, often more accurate: afterwards also adjust the top of the pretrained network gently",
}
mode_choices = [m for m in SETTINGS["mode"].choices if m != "fine-tune" or not is_text or tunable_layers]
if st.session_state.get("m_mode", config.mode) not in mode_choices:  # averaged word vectors: nothing to fine-tune
    st.session_state["m_mode"] = mode_choices[0]
mode = st.radio("Training mode", mode_choices, format_func=mode_labels.get, key=ui.widget_default("m_mode", config.mode))
if is_text and not tunable_layers:
    st.caption(f"{config.backbone} averages fixed word vectors: it has no layers to fine-tune.")
changes: dict = {"mode": mode}
if mode == "fine-tune":
    max_unfreeze = max(2, tunable_layers or config.fine_tune_layers)
    ui.clamp_state("m_ft_layers", 1, max_unfreeze)
    col1, col2, col3 = st.columns(3)
    with col1:
        changes["fine_tune_layers"] = st.slider(
            "Layers with weights to fine-tune",
            min_value=1,
            max_value=max_unfreeze,
            key=ui.widget_default("m_ft_layers", min(max(1, config.fine_tune_layers), max_unfreeze)),
            help=("Whole transformer blocks are unfrozen from the top of the encoder, as many as hold this many "
                  "layers with weights (at least one block); the embeddings stay frozen. More = more flexible, "
                  "but needs more texts.") if is_text else
            "Counted back from the cut: this many layers that have weights (convolutions, dense layers…) "
            "learn during fine-tuning. Layers without weights (additions, activations) are not counted, and "
            f"BatchNorm layers always stay frozen. The network cut here has {tunable_layers or 'several'} such layers. "
            "More = more flexible, but needs more pictures.",
        )
    with col2:
        lr_choices = [1e-6, 3e-6, 1e-5, 3e-5, 1e-4]
        changes["fine_tune_learning_rate"] = st.select_slider(
            "Fine-tuning learning rate",
            options=lr_choices,
            format_func=lambda v: f"{v:g}",
            key=ui.widget_default("m_ft_lr", min(lr_choices, key=lambda v: abs(v - config.fine_tune_learning_rate))),
            help="How big each adjustment is. Keep it small so the pretrained knowledge is not destroyed.",
        )
    with col3:
        changes["fine_tune_epochs"] = st.number_input(
            "Fine-tuning epochs", min_value=1, max_value=500,
            key=ui.widget_default("m_ft_epochs", max(1, config.fine_tune_epochs)),
            help=f"Passes over your {items} in the fine-tuning stage (after the first stage).",
        )
config = ui.update_config(**changes)

# --------------------------------------------------------------------------- augmentation
if not is_text:
    st.header("4 · Augmentation", anchor=False)
    st.caption(
        "Augmentation shows the model slightly changed copies of your training pictures (flipped, turned, zoomed…) "
        "so it learns what matters and not the exact pixels. Useful with few images; it is never applied when predicting."
    )
    augment = st.toggle("Augment training images", key=ui.widget_default("m_augment", config.augment))
    aug = config.augmentation
    if augment:
        col_a, col_b = st.columns([2, 3])
        with col_a:
            flip_labels = {"none": "no flips", "horizontal": "left ↔ right", "vertical": "up ↕ down", "horizontal_and_vertical": "both"}
            flip = st.selectbox("Flip", AUGMENTATION_SETTINGS["flip"].choices, format_func=flip_labels.get, key=ui.widget_default("m_aug_flip", aug.flip),
                                help="Only flip if a flipped picture still belongs to the same class (not for letters or left/right organs).")
            rotation = st.slider("Rotation (share of a full turn)", 0.0, 0.5, step=0.01, key=ui.widget_default("m_aug_rot", float(aug.rotation)),
                                 help="0.05 turns each picture randomly by up to ±18°.")
            zoom = st.slider("Zoom", 0.0, 0.5, step=0.01, key=ui.widget_default("m_aug_zoom", float(aug.zoom)), help="0.1 zooms in or out by up to 10 %.")
            translation = st.slider("Shift", 0.0, 0.5, step=0.01, key=ui.widget_default("m_aug_shift", float(aug.translation)),
                                    help="0.1 moves the picture by up to 10 % of its size.")
            contrast = st.slider("Contrast", 0.0, 0.5, step=0.01, key=ui.widget_default("m_aug_contrast", float(aug.contrast)))
            brightness = st.slider("Brightness", 0.0, 0.5, step=0.01, key=ui.widget_default("m_aug_bright", float(aug.brightness)))
            aug = Augmentation(flip=flip, rotation=rotation, zoom=zoom, translation=translation, contrast=contrast, brightness=brightness)
            feature_views = st.number_input(
                "Augmented copies to prepare per picture", min_value=0, max_value=16,
                key=ui.widget_default("m_aug_views", int(getattr(config, "feature_views", 0))),
                help="Fast path for feature extraction: this many augmented copies of each picture go through the network "
                "once and are reused every epoch. 0 = augment afresh every epoch (slower, but never the same picture twice).",
            )
        with col_b:
            st.markdown("**Preview:** one of your pictures, augmented eight ways")
            image_path = ui.first_image(dataset) if dataset is not None else None
            if image_path is None:
                st.info("Choose your images on the Data page to see a preview here.")
            else:
                seed = st.session_state.get("m_preview_seed", 0)
                previews = ui.call(_previews, image_path, aug.__dict__.copy(), seed, 160, what="making the preview")
                if previews:
                    cols = st.columns(4)
                    for i, img in enumerate(previews):
                        cols[i % 4].image(img, width="stretch")
                if st.button("Show other random versions", icon=":material/shuffle:"):
                    st.session_state["m_preview_seed"] = seed + 1
                    st.rerun()
    config = ui.update_config(augment=bool(augment), augmentation=aug,
                              **({"feature_views": int(feature_views)} if augment else {}))


# --------------------------------------------------------------------------- training controls
st.header(f"{3 if is_text else 5} · Training settings", anchor=False)
st.caption(f"Sensible defaults are already set. An *epoch* is one pass over all your training {items}.")
col1, col2, col3 = st.columns(3)
with col1:
    epochs = st.number_input("Epochs", min_value=SETTINGS["epochs"].minimum, max_value=1000, key=ui.widget_default("m_epochs", int(config.epochs)),
                             help="With early stopping on, training stops by itself once it stops improving.")
    batch_choices = [4, 8, 16, 32, 64, 128, 256]
    batch_size = st.selectbox("Batch size", batch_choices, key=ui.widget_default("m_batch", config.batch_size if config.batch_size in batch_choices else 32),
                              help=f"How many {items} are looked at together. Lower it if the computer runs out of memory.")
with col2:
    lr_choices = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
    learning_rate = st.select_slider("Learning rate", options=lr_choices, format_func=lambda v: f"{v:g}",
                                     key=ui.widget_default("m_lr", min(lr_choices, key=lambda v: abs(v - config.learning_rate))),
                                     help="How big each learning step is. 0.001 is a good start for the new classifier.")
    early_stopping = st.toggle("Stop early when it stops improving", key=ui.widget_default("m_early", bool(config.early_stopping)))
    patience = st.number_input("Patience (epochs without improvement)", min_value=1, max_value=100,
                               key=ui.widget_default("m_patience", int(config.patience)), disabled=not early_stopping)
with col3:
    balance = st.toggle("Balance classes", key=ui.widget_default("m_balance", config.class_weight == "auto"),
                        help=f"When some classes have many more {items} than others, count the rare ones more.")
    dropout = st.slider("Dropout", 0.0, 0.9, step=0.05, key=ui.widget_default("m_dropout", float(config.dropout)),
                        help="Randomly ignores some features while training so the classifier does not memorise.")

with st.expander("More settings", icon=":material/settings:"):
    col1, col2, col3 = st.columns(3)
    with col1:
        optimizer = st.selectbox("Optimizer", SETTINGS["optimizer"].choices, key=ui.widget_default("m_opt", config.optimizer),
                                 help="The method that adjusts the weights. Adam is a safe choice.")
        pooling_labels = {"avg": "average (recommended)", "max": "maximum", "flatten": "flatten (keeps position, many more weights)"}
        pooling = config.pooling if is_text else st.selectbox(  # a text encoder gives one vector per sentence itself
            "Pooling", SETTINGS["pooling"].choices, format_func=pooling_labels.get,
            key=ui.widget_default("m_pool", config.pooling),
            help="How the feature map of the cut layer becomes one feature vector per image.")
    with col2:
        label_smoothing = st.slider("Label smoothing", 0.0, 0.3, step=0.05, key=ui.widget_default("m_smooth", float(config.label_smoothing)),
                                    help="Makes the model a little less over-confident.")
        seed = st.number_input("Random seed", min_value=0, max_value=2**31 - 1, key=ui.widget_default("m_seed", int(config.seed)),
                               help="Same seed + same settings = the same run again.")
    with col3:
        mp_labels = {"auto": "automatic", "on": "on", "off": "off"}
        mixed_precision = st.selectbox("Mixed precision (GPU speed-up)", SETTINGS["mixed_precision"].choices,
                                       format_func=mp_labels.get, key=ui.widget_default("m_mp", config.mixed_precision),
                                       help=SETTINGS["mixed_precision"].help.capitalize() + ".")
        feature_cache = True if is_text else st.toggle(  # text runs always train their head on cached features
            "Cache features (much faster repeat runs)", key=ui.widget_default("m_cache", bool(config.feature_cache)),
            help="In feature extraction without augmentation, each image goes through the frozen network once and "
                 "the result is reused.")

config = ui.update_config(
    epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate), early_stopping=bool(early_stopping),
    patience=int(patience), class_weight="auto" if balance else "none", dropout=float(dropout), optimizer=optimizer,
    pooling=pooling, label_smoothing=float(label_smoothing), seed=int(seed), mixed_precision=mixed_precision,
    feature_cache=bool(feature_cache),
)

# --------------------------------------------------------------------------- summary
st.header("Summary", anchor=False)
valid = ui.call(config.validate, what="checking the settings") is not None
num_classes = len(ui.class_names(dataset)) if dataset is not None else 0
st.markdown(config.describe(num_classes=num_classes))
if valid and num_classes >= 2 and is_text:
    ui.text_summary(config, num_classes)
elif valid and num_classes >= 2:
    num_train = len(ui.samples_of(dataset, "train"))
    config_json = json.dumps(config.to_dict(), sort_keys=True)
    # Sizes first (building the model takes a moment), then the timed estimate (a few real
    # training steps), so the page never waits on the slower of the two to say anything.
    summary = ui.call(_summary, config_json, num_classes, num_train, what="estimating the model size")
    if summary:
        trainable = summary.get("trainable_params", summary.get("head_trainable_params"))
        cols = st.columns(2)
        cols[0].metric("Trainable parameters", ui.format_params(trainable),
                       help="Every layer: a random start trains the whole network." if summary.get("from_scratch")
                       else "Numbers the training changes: the new classifier on top of the cut network.")
        cols[1].metric("Frozen parameters", ui.format_params(summary.get("frozen_params")),
                       help="Numbers kept exactly as the pretrained network learned them.")
        if summary.get("fine_tune_trainable_params") is not None:
            unfrozen = int(summary.get("fine_tune_layers_unfrozen", config.fine_tune_layers))
            st.caption(
                f"While fine-tuning, {ui.format_params(summary['fine_tune_trainable_params'])} parameters are trained "
                f"({ui.fine_tune_words(unfrozen)}) and {ui.format_params(summary.get('fine_tune_frozen_params'))} "
                "stay frozen."
                + (f" The network cut here has only {unfrozen} layers with weights, so all of them are fine-tuned."
                   if unfrozen < config.fine_tune_layers else "")
            )
    timing = ui.call(_timing, config_json, num_classes, num_train, what="timing the model") if summary else None
    if timing:
        seconds = timing.get("seconds_per_epoch")
        ft_seconds = timing.get("fine_tune_seconds_per_epoch") if mode == "fine-tune" else None
        cols = st.columns(2)
        how = (f"An estimate, not a promise: a few training steps of a small batch are timed on this computer "
               f"and scaled to your {num_train:,} training pictures. Real epochs vary.")
        cols[0].metric("Estimated time per epoch", ui.format_seconds(seconds, precise=True),
                       help=("Training the whole network. " if timing.get("from_scratch")
                             else "Training the new classifier. ") + how)
        if ft_seconds is not None:
            cols[1].metric("Fine-tuning epoch (estimate)", ui.format_seconds(ft_seconds, precise=True),
                           help="Training the unfrozen top of the network with the classifier. " + how)
        first = timing.get("first_pass_seconds")
        if first and seconds is not None and first > 2 * seconds:
            st.caption(
                f"Before the first epoch, every picture goes through the network once to compute its features "
                f"(estimated {ui.format_seconds(first)}); they are saved, so later epochs and repeat runs are fast."
            )
        st.caption("All times here are estimates from a short test on this computer.")
elif dataset is None:
    st.info("Choose your images on the Data page to see how big the model is and how long an epoch takes.")

ui.next_step("train", "Next: start training", disabled=dataset is None,
             help=None if dataset is not None else "Choose your images on the Data page first.")
