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


# --------------------------------------------------------------------------- settings as data
def test_every_setting_carries_its_facts_once():
    from dataclasses import fields

    from tlcore.config import AUGMENTATION_SETTINGS, MODES, OPTIMIZERS, POOLINGS, SETTINGS

    assert set(SETTINGS) == {f.name for f in fields(TrainConfig)} - {"augmentation"}
    assert set(AUGMENTATION_SETTINGS) == {f.name for f in fields(Augmentation)}
    for setting in [*SETTINGS.values(), *AUGMENTATION_SETTINGS.values()]:
        assert setting.help, setting.name
        assert setting.kind in ("str", "int", "float", "bool", "list"), setting.name
        assert setting.accepts(setting.default), f"the default of {setting.name} is not allowed"
    assert SETTINGS["epochs"].default == TrainConfig().epochs == 20
    assert (SETTINGS["mode"].choices, SETTINGS["optimizer"].choices, SETTINGS["pooling"].choices) == \
        (MODES, OPTIMIZERS, POOLINGS)
    assert SETTINGS["class_weight"].choices == ("auto", "none")
    assert (SETTINGS["dropout"].minimum, SETTINGS["dropout"].maximum) == (0, 0.95)


@pytest.mark.parametrize("field,value,allowed", [
    ("mode", "transfer", "use 'feature-extraction' or 'fine-tune'."),
    ("class_weight", "balanced", "use 'auto' or 'none'."),
    ("mixed_precision", "maybe", "use 'auto', 'on' or 'off'."),
    ("fine_tune_epochs", -1, "use a whole number of at least 0."),
    ("fine_tune_learning_rate", 10, "use a positive number such as 1e-3."),
    ("label_smoothing", 0.6, "use a number from 0 to 0.5."),
    ("val_fraction", 0.95, "use a number from 0 to 0.9."),
    ("fine_tune_views", 33, "use a whole number from 0 to 32."),
    ("fine_tune_layers", -1, "use a whole number of at least 0."),
    ("epochs", 2.5, "use a whole number of at least 1."),
])
def test_validate_says_what_the_setting_allows(field, value, allowed):
    with pytest.raises(TLCoreError) as err:
        TrainConfig(**{field: value}).validate()
    assert str(err.value) == f"Setting '{field}' is {value!r}, which is not allowed. Fix: {allowed}"


def test_range_ends_are_allowed_unless_the_range_is_open():
    TrainConfig(dropout=0.95, val_fraction=0.0, image_size=32, feature_views=32, learning_rate=9.99).validate()
    TrainConfig(image_size=1024, epochs=1, fine_tune_epochs=0).validate()
    with pytest.raises(TLCoreError, match="learning_rate"):
        TrainConfig(learning_rate=0).validate()
    with pytest.raises(TLCoreError, match="image_size"):
        TrainConfig(image_size=1025).validate()


def test_a_config_describes_its_run_in_one_sentence():
    from tlcore.plan import describe

    config = TrainConfig(data="x.zip", data_name="shapes", epochs=7)
    text = config.describe(num_classes=3)
    assert text == describe(config, num_classes=3)
    assert "3 classes" in text and "shapes" in text and "7 epochs" in text
