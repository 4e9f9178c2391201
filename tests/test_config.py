import json

import pytest

from tlcore.config import Augmentation, TrainConfig, load_config, save_config
from tlcore.errors import TLCoreError


def test_defaults_are_valid_and_round_trip(tmp_path):
    config = TrainConfig(data="x.zip").validate()
    save_config(config, tmp_path / "config.json")
    again = load_config(tmp_path / "config.json")
    assert again == config
    assert isinstance(again.augmentation, Augmentation)


@pytest.mark.parametrize("field,value,word", [
    ("mode", "transfer", "feature-extraction"),
    ("optimizer", "adagrad", "adam"),
    ("epochs", 0, "at least 1"),
    ("batch_size", -4, "at least 1"),
    ("learning_rate", 0, "positive"),
    ("dropout", 1.5, "from 0"),
    ("image_size", 8, "between 32 and 1024"),
    ("pooling", "median", "avg"),
    ("feature_views", 99, "0 to 32"),
])
def test_bad_setting_names_setting_and_allowed_values(field, value, word):
    with pytest.raises(TLCoreError) as err:
        TrainConfig(**{field: value}).validate()
    assert field in str(err.value) and word in str(err.value)


def test_unknown_setting_in_file_is_named(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"data": "d", "epochz": 3}))
    with pytest.raises(TLCoreError, match="epochz"):
        load_config(path)


def test_broken_config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(TLCoreError, match="not valid JSON"):
        load_config(path)
    with pytest.raises(TLCoreError, match="does not exist"):
        load_config(tmp_path / "missing.json")
