"""Hostile model files are refused before anything in them can run (tlcore.safety)."""

import json
import zipfile

import h5py
import keras
import numpy as np
import pytest

from tlcore.backbones import build_base, list_layers
from tlcore.errors import TLCoreError
from tlcore.safety import load_model_safely

MARKER = "tlcore_pwned_marker"


def _tiny_model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(x))


def test_a_plain_user_model_loads_and_can_be_cut(tmp_path):
    path = tmp_path / "mine.keras"
    _tiny_model().save(path)
    base = build_base(backbone_file=str(path), layer="conv")
    assert base.layers[-1].name == "conv"
    assert any(row.name == "gap" for row in list_layers(str(path)))


def test_lambda_layer_is_refused_without_running_it(tmp_path, monkeypatch):
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(TLCoreError, match="Lambda"):
        load_model_safely(path)


def test_custom_object_is_refused(tmp_path):
    path = tmp_path / "custom.keras"
    _tiny_model().save(path)
    # Rewrite the architecture so a layer claims to come from an arbitrary Python module.
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(files["config.json"])
    config["config"]["layers"][1]["module"] = "os"
    config["config"]["layers"][1]["class_name"] = "system"
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    with pytest.raises(TLCoreError, match="custom object"):
        load_model_safely(path)


def test_h5_with_unexpected_contents_and_non_models_are_refused(tmp_path):
    weights_only = tmp_path / "weights.h5"
    with h5py.File(weights_only, "w") as h5:
        h5.create_dataset("x", data=np.zeros(3))
    with pytest.raises(TLCoreError, match="no model architecture"):
        load_model_safely(weights_only)
    bad_config = tmp_path / "odd.h5"
    with h5py.File(bad_config, "w") as h5:
        h5.attrs["model_config"] = json.dumps({"class_name": "Lambda", "config": {"function": "evil"}})
    with pytest.raises(TLCoreError, match="Lambda"):
        load_model_safely(bad_config)
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    with pytest.raises(TLCoreError, match="not a valid .keras"):
        load_model_safely(text)
    fake_h5 = tmp_path / "fake.h5"
    fake_h5.write_bytes(b"\x89HDF\r\n" + b"junk" * 10)
    with pytest.raises(TLCoreError, match="not a valid HDF5"):
        load_model_safely(fake_h5)
    with pytest.raises(TLCoreError, match="not a Keras model file"):
        load_model_safely(tmp_path / "x.pkl") if (tmp_path / "x.pkl").write_text("x") else None


def code_running_model(marker):
    """A model whose Lambda layer writes ``marker`` when it runs (also used by test_pages_hostile's page test)."""
    # A Lambda layer carries marshalled Python bytecode: loading it unsafely runs this.
    touch = eval(f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]")  # noqa: S307  (the attack under test)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    x = keras.layers.Lambda(touch, name="innocent_looking")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(x))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_model_file_that_would_run_code_is_refused_without_running_it(tmp_path, suffix):
    marker = tmp_path / "code_ran.txt"
    path = tmp_path / f"backbone{suffix}"
    code_running_model(marker).save(path)
    marker.unlink()  # building the model ran the lambda once
    keras.saving.load_model(path, safe_mode=False)  # the control: this file really runs code when loaded blindly
    assert marker.exists()
    marker.unlink()
    with pytest.raises(TLCoreError, match="Lambda"):
        load_model_safely(path)
    with pytest.raises(TLCoreError, match="Lambda"):
        build_base(backbone_file=str(path))
    assert not marker.exists(), "refusing the file must not run its code"
