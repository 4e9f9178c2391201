"""A small exported-model world for the export and predict tests: pictures, a fitted classifier, a run folder.

The classifier tells the pictures apart with clear margins, so an exported format that
disagrees with the in-memory model shows up; the run folder is written through
:class:`tlcore.runs.RunFolder`, as training writes it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from tlcore.config import TrainConfig
from tlcore.evaluate import evaluate_predictions
from tlcore.images import load_image
from tlcore.model import build_classifier
from tlcore.runs import RunFolder

SIZE = 64
CLASSES = ["circle", "café crème", "square"]  # a non-ASCII name checks labels.json round-trips
# A random-init MobileNet's features collapse to ~1e-12 at its default cut, so every image
# would get the same uniform probabilities and an agreement test could not fail. The first
# two VGG16 blocks (no BatchNorm, 4 conv layers) keep a real signal and export in seconds.
CONFIG = TrainConfig(backbone="VGG16", layer="block2_pool", weights="none", image_size=SIZE)


def make_images(folder, n: int = 6) -> list:
    """``n`` distinct PNG/JPEG pictures (shapes, colours, noise) of different sizes."""
    rng = np.random.default_rng(7)
    paths = []
    for i in range(n):
        w, h = [(90, 70), (64, 64), (120, 100), (50, 80), (200, 150), (77, 77)][i % 6]
        noise = rng.normal(0, 25, (h, w, 3))
        base = np.clip(noise + [[[(60 * i) % 256, 255 - 40 * i, (90 + 70 * i) % 256]]], 0, 255).astype(np.uint8)
        img = Image.fromarray(base)
        draw = ImageDraw.Draw(img)
        box = [w * 0.2, h * 0.2, w * (0.5 + 0.08 * i), h * 0.8]
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if i % 3 == 0 else draw.rectangle if i % 3 == 1 else draw.polygon)(
            box if i % 3 != 2 else [(w * 0.5, h * 0.1), (w * 0.9, h * 0.9), (w * 0.1, h * 0.9)], fill=colour)
        path = folder / f"img_{i}.{'jpg' if i % 2 else 'png'}"
        img.save(path, quality=92) if i % 2 else img.save(path)
        paths.append(path)
    return paths


def fitted_classifier(images):
    """A tiny classifier whose head is fitted (least squares) to tell the images apart.

    Labels cycle 0, 1, 2, so the in-memory model predicts all three classes with clear
    margins and an exported format that disagrees shows up.
    """
    parts = build_classifier(CONFIG, num_classes=len(CLASSES))
    arrays = np.stack([load_image(p, SIZE) for p in images])
    features = np.asarray(parts.extractor(arrays, training=False), dtype=np.float64)
    targets = 6.0 * (np.eye(len(CLASSES))[np.arange(len(images)) % len(CLASSES)] - 1 / len(CLASSES))
    mean = features.mean(axis=0)
    design = np.hstack([features - mean, np.ones((len(images), 1))])
    solution, *_ = np.linalg.lstsq(design, targets, rcond=None)
    kernel, bias = solution[:-1], solution[-1] - mean @ solution[:-1]
    parts.head.get_layer("predictions").set_weights([kernel.astype("float32"), bias.astype("float32")])
    return parts.model, arrays


def write_run(run_dir, model, arrays):
    """A run folder as tlcore.train writes it (model, labels, config, evaluation, data report).

    The data report's warning is the sentence older run folders hold (newer ones hold findings).
    """
    run_dir.mkdir(parents=True)
    folder = RunFolder(run_dir)
    folder.save_model(model)
    folder.write_labels(CLASSES)
    folder.write_config(CONFIG)
    probs = np.asarray(model(arrays, training=False))
    y_true = np.array([0, 1, 2, 0, 1, 1])  # one deliberate mistake: accuracy 5/6
    evaluation = evaluate_predictions(y_true, probs, CLASSES, [f"val/{i}.png" for i in range(len(y_true))])
    evaluation["split"] = "val"
    folder.write_evaluation(evaluation)
    folder.write_data_report({
        "source": "shapes.zip", "validation": "20% of each class", "classes": CLASSES,
        "counts": {"train": {"circle": 8, "café crème": 9, "square": 7}, "val": {c: 2 for c in CLASSES}},
        "skipped": [{"path": "notes.txt", "reason": "not an image"}], "duplicates": [], "leakage": [],
        "imbalance_ratio": 1.3, "warnings": ["Few images per class. Fix: add more."]})
    return evaluation
