"""Real MobileNetV2 ImageNet features of hymenoptera for the data-check tests (real_data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("ants", "bees")


def hymenoptera_samples(root: Path) -> list:
    """Every image of hymenoptera's train/ and val/ folders, as ``Sample``s in a fixed order."""
    from tlcore.data.split import Sample

    return [Sample(str(path), label, split)
            for split in ("train", "val") for label, name in enumerate(CLASSES)
            for path in sorted((Path(root) / split / name).iterdir())]


def extract_features(root: Path, samples: list) -> np.ndarray:
    """Bottleneck features of ``samples`` with the default backbone and its ImageNet weights."""
    import tlcore
    import tlcore.features

    parts = tlcore.build_classifier(tlcore.TrainConfig(data=str(root)), len(CLASSES))
    return tlcore.features.extract(parts.extractor, samples, parts.image_size, 32)
