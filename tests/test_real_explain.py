"""Grad-CAM finds the evidence: with real ImageNet MobileNetV2 features, the heatmap's peak falls on
the small patch that alone decides the class, anywhere on a cluttered picture.

The pictures are made so that nothing but the patch tells the classes apart: both classes share one
clutter distribution (random shapes and colours on a random background); the patch is 48 px of black
and white, a checkerboard for "checks" and concentric rings for "rings", at a random position.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tlcore import explain_images
from tlcore.config import TrainConfig
from tlcore.train import train
from tlcore.workspace import Workspace

pytestmark = [pytest.mark.real_data, pytest.mark.slow]

SIZE, PATCH = 224, 48
CLASSES = ("checks", "rings")
CELL = 32  # MobileNetV2's output stride: one feature-map cell covers 32 x 32 px
TOLERANCE = CELL // 2  # the peak is a cell's centre: half a cell from the patch still means the patch's cell


def _clutter(rng: np.random.Generator) -> Image.Image:
    """A random background with 12-20 random shapes: the same distribution for both classes."""
    image = Image.new("RGB", (SIZE, SIZE), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(12, 21))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = (int(v) for v in rng.integers(-20, SIZE, 2))
        w, h = (int(v) for v in rng.integers(10, 80, 2))
        kind = rng.integers(0, 4)
        if kind == 0:
            draw.rectangle((x, y, x + w, y + h), fill=colour)
        elif kind == 1:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        elif kind == 2:
            draw.line((x, y, x + w, y + h * int(rng.choice([-1, 1]))), fill=colour, width=int(rng.integers(2, 8)))
        else:
            draw.polygon([(x, y), (x + w, y + int(rng.integers(0, h + 1))), (x + int(rng.integers(0, w + 1)), y + h)],
                         fill=colour)
    return image


def _patch(label: int) -> np.ndarray:
    """The class's evidence: a black-and-white 48 px checkerboard (8 px squares) or rings (4 px wide)."""
    ys, xs = np.mgrid[0:PATCH, 0:PATCH]
    if label == 0:
        bits = (ys // 8 + xs // 8) % 2
    else:
        radius = np.hypot(ys - (PATCH - 1) / 2, xs - (PATCH - 1) / 2)
        bits = (radius // 4).astype(int) % 2
    return np.repeat((bits * 255).astype(np.uint8)[..., None], 3, axis=-1)


def _picture(label: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """A cluttered picture with the class's patch at a random place; returns it and the patch's top-left (row, col)."""
    pixels = np.asarray(_clutter(rng), dtype=np.float32)
    row, col = (int(v) for v in rng.integers(0, SIZE - PATCH + 1, 2))
    pixels[row:row + PATCH, col:col + PATCH] = _patch(label)
    pixels += rng.normal(0, 6, pixels.shape)  # a little sensor noise over everything
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8), (row, col)


def _write_split(root, split: str, per_class: int, rng: np.random.Generator) -> None:
    for label, name in enumerate(CLASSES):
        folder = root / split / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(_picture(label, rng)[0]).save(folder / f"{name}_{i:03d}.png")


def test_grad_cam_peaks_on_the_patch_that_decides_the_class(tmp_path, real_keras_home):
    rng = np.random.default_rng(2024)
    data = tmp_path / "patches"
    _write_split(data, "train", 70, rng)
    _write_split(data, "val", 15, rng)
    held_out = [(label, *_picture(label, rng)) for label in (0, 1) for _ in range(20)]

    config = TrainConfig(data=str(data), backbone="MobileNetV2", weights="imagenet", epochs=40, batch_size=16,
                         learning_rate=1e-3, patience=8)
    result = train(config, tmp_path / "run", workspace=Workspace(tmp_path / "ws"))
    assert result.status == "finished"

    explanations = explain_images(result.run_dir, [image for _, image, _ in held_out])
    correct = [(e, corner) for (label, _, corner), e in zip(held_out, explanations) if e.class_index == label]
    accuracy = len(correct) / len(held_out)
    on_patch = [row - TOLERANCE <= e.peak[0] < row + PATCH + TOLERANCE
                and col - TOLERANCE <= e.peak[1] < col + PATCH + TOLERANCE for e, (row, col) in correct]
    share = float(np.mean(on_patch)) if on_patch else 0.0
    chance_patch = PATCH ** 2 / SIZE ** 2
    chance_cell = min(PATCH + 2 * TOLERANCE, SIZE) ** 2 / SIZE ** 2  # a random peak within the tolerance
    print(f"\nheld-out accuracy {accuracy:.1%} ({len(correct)}/{len(held_out)}); "
          f"Grad-CAM peak on the patch for {share:.1%} of the correct ones "
          f"(chance: {chance_patch:.1%} patch area, {chance_cell:.1%} with the {TOLERANCE} px tolerance)")
    assert accuracy >= 0.75, "the model did not learn the patches; the heatmap test would mean nothing"
    assert share >= 0.75, f"the heatmap's peak was on the patch for only {share:.1%} of the correctly classified images"
