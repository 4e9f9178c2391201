"""A user's own backbone file: kept only when usable, refused with a reason otherwise."""

import keras
import pytest

from test_safety import code_running_model
from tlcore.errors import TLCoreError
from tlcore.user_backbone import save_user_backbone
from tlcore.workspace import Workspace


def _saved_bytes(model, tmp_path) -> bytes:
    path = tmp_path / "made.keras"
    model.save(path)
    return path.read_bytes()


def test_a_usable_model_is_kept_under_a_plain_name(tmp_path):
    ws = Workspace(tmp_path / "ws")
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs))
    path = save_user_backbone(ws, "../my net?.keras", _saved_bytes(model, tmp_path))
    assert path.is_file() and path.parent == ws.uploads_dir / "backbones" and path.name == "my_net_.keras"


def test_a_file_that_is_not_a_model_is_refused_and_not_kept(tmp_path):
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(TLCoreError, match="not a Keras model file.*Fix: upload a model file"):
        save_user_backbone(ws, "photo.jpg", b"\xff\xd8\xff\xe0 a picture")
    with pytest.raises(TLCoreError, match="not a valid .keras model file"):
        save_user_backbone(ws, "broken.keras", b"not a zip archive")
    assert not any((ws.uploads_dir / "backbones").glob("*"))


def test_a_model_that_would_run_code_is_refused_without_running_and_deleted(tmp_path):
    ws = Workspace(tmp_path / "ws")
    marker = tmp_path / "code_ran.txt"
    content = _saved_bytes(code_running_model(marker), tmp_path)
    marker.unlink(missing_ok=True)  # saving traced the layer once; only loading counts
    with pytest.raises(TLCoreError, match="Lambda"):
        save_user_backbone(ws, "innocent.keras", content)
    assert not marker.exists()
    assert not any((ws.uploads_dir / "backbones").glob("*"))
