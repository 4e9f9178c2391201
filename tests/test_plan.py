"""tlcore.plan: one sentence says what a run will do, the same on the Model and Train pages."""

from __future__ import annotations

from tlcore.config import TrainConfig
from tlcore.plan import describe
from tlcore.progress import fine_tune_words


def test_a_feature_extraction_plan_names_the_classes_backbone_cut_and_epochs():
    text = describe(TrainConfig(data_name="shapes", epochs=7, image_size=96), num_classes=3)
    assert text.startswith("Train a new classifier for 3 classes of “shapes” on top of MobileNetV2")
    assert "cut at the recommended layer" in text and "ImageNet weights" in text
    assert "96 px images" in text and "for up to 7 epochs" in text
    assert "fine-tune" not in text and text.endswith(".")


def test_a_fine_tuning_plan_says_which_layers_with_the_words_every_page_uses():
    config = TrainConfig(mode="fine-tune", fine_tune_layers=12, fine_tune_epochs=4, augment=True, layer="block_13")
    text = describe(config)
    assert "your classes" in text and "cut at block_13" in text
    assert f"then fine-tune {fine_tune_words(12)} for up to 4 epochs" in text
    assert text.endswith(", with augmentation.")


def test_a_random_start_says_there_is_no_transfer():
    text = describe(TrainConfig(weights="none"), num_classes=2)
    assert "random start" in text and "no transfer" in text and "ImageNet" not in text


def test_a_users_own_backbone_is_named_by_its_file():
    text = describe(TrainConfig(backbone_file="/somewhere/uploads/backbones/mine.keras", weights="none"))
    assert "on top of mine.keras" in text and "/somewhere" not in text
    assert "at the network's own size" in text
