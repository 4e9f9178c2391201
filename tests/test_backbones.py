import importlib

import numpy as np
import pytest

from tlcore.backbones import IMAGE_BACKBONES as BACKBONES, build_base, build_full_backbone, get_backbone, list_layers
from tlcore.errors import TLCoreError
from tlcore.model import preprocess_affine


def _small_size(spec):
    return max(spec.min_size, 64) if spec.min_size > 32 else 64


@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_backbone_builds_and_cuts_at_its_default_layer(name):
    spec = BACKBONES[name]
    size = 96 if spec.min_size > 64 else 64
    base = build_base(name, weights="none", image_size=size)
    out = base.output.shape
    assert len(out) == 4 and out[-1] > 0
    layers = list_layers(base if False else name, image_size=size)
    defaults = [row for row in layers if row.default]
    assert len(defaults) == 1 and defaults[0].recommended
    assert base.layers[-1].name == defaults[0].name
    # several recommended cut points, so a user has a real choice
    assert sum(row.recommended for row in layers) >= 3


@pytest.mark.parametrize("name", list(BACKBONES))
def test_preprocessing_matches_the_backbones_own_preprocess_input(name):
    spec = BACKBONES[name]
    module = importlib.import_module(f"keras.applications.{spec.module}")
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    expected = np.asarray(module.preprocess_input(x.copy()))
    kernel, bias = preprocess_affine(spec.preprocess)
    np.testing.assert_allclose(x @ kernel + bias, expected, rtol=1e-4, atol=1e-4)


def test_cut_at_named_layer_and_bad_layer_message():
    base = build_base("VGG16", weights="none", image_size=64, layer="block4_pool")
    assert base.layers[-1].name == "block4_pool"
    with pytest.raises(TLCoreError, match="tlcore layers"):
        build_base("VGG16", weights="none", image_size=64, layer="block9_pool")


def test_unknown_backbone_lists_choices():
    with pytest.raises(TLCoreError) as err:
        get_backbone("ResNet9000")
    assert "MobileNetV2" in str(err.value)


def test_vgg19_layers_mark_block5_pool():
    rows = {row.name: row for row in list_layers("VGG19", image_size=64)}
    assert rows["block5_pool"].default and rows["block5_pool"].recommended
    assert rows["block3_pool"].recommended and not rows["block3_conv1"].recommended
    assert rows["block1_conv1"].params == 3 * 3 * 3 * 64 + 64


def test_missing_imagenet_weights_offline_names_file_and_folder(monkeypatch):
    # Point any download at a closed local port: no network is ever reached.
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    from tlcore.weights import keras_models_dir

    assert not (keras_models_dir() / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5").exists()
    with pytest.raises(TLCoreError) as err:
        build_full_backbone("ResNet50", weights="imagenet", image_size=64)
    message = str(err.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(keras_models_dir()) in message


def test_missing_weights_file_is_explained(tmp_path):
    with pytest.raises(TLCoreError, match="does not exist"):
        build_full_backbone("MobileNetV2", weights=str(tmp_path / "nope.h5"), image_size=64)


@pytest.mark.real_data
def test_real_imagenet_weights_load_through_the_normal_path_at_any_size(real_keras_home):
    import keras

    native = build_full_backbone("MobileNetV2", weights="imagenet", image_size=224)
    reference = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(224, 224, 3))
    assert not np.allclose(native.get_weights()[0], reference.get_weights()[0])
    small = build_full_backbone("MobileNetV2", weights="imagenet", image_size=160)
    for a, b in zip(native.get_weights(), small.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_cut_points_report_the_parameters_the_cut_network_keeps():
    # Good cut points (block_N_add, out_relu) own no weights themselves, so their own count is 0;
    # the table must show what cutting there keeps.
    rows = list_layers("MobileNetV2", image_size=64)
    starred = [row for row in rows if row.recommended]
    assert starred and all(row.params == 0 for row in starred if row.type == "Add")
    assert all(row.params_up_to > 0 for row in starred)
    kept = [row.params_up_to for row in starred]
    assert kept == sorted(kept), "deeper cuts keep more"
    for row in starred[:3] + starred[-1:]:
        cut = build_base("MobileNetV2", weights="none", image_size=64, layer=row.name)
        assert row.params_up_to == cut.count_params(), row.name
    vgg = {row.name: row for row in list_layers("VGG16", image_size=64)}
    assert vgg["block1_pool"].params_up_to == (3 * 3 * 3 * 64 + 64) + (3 * 3 * 64 * 64 + 64)
    assert vgg["block1_conv1"].fine_tunable and not vgg["block1_pool"].fine_tunable
    bn = next(row for row in rows if row.type == "BatchNormalization")
    assert bn.params > 0 and not bn.fine_tunable, "BatchNorm stays frozen, so fine-tuning does not count it"


def test_measure_speed_gives_images_per_second_on_this_machine():
    from tlcore.speed import measure_speed

    speed = measure_speed("MobileNetV3Small", image_size=32, batch_size=2, repeats=1)
    assert speed > 0
    with pytest.raises(TLCoreError, match="at least 1"):
        measure_speed("MobileNetV3Small", image_size=32, batch_size=0)
