"""Write the small "shapes" sample dataset used by the demo, the docs and the tests.

    .venv/bin/python sample_data/generate.py [--seed 0] [--train 60] [--val 20] [--size 96]

Lays the images out as a user's upload would be: ``shapes/train/<class>/*.png`` and
``shapes/val/<class>/*.png`` for the classes circle, square and triangle. Fill colour,
background, size, position and rotation are random and independent of the class, so a
model has to learn the shape, not a colour. The same seed always writes the same files.
Needs only numpy and Pillow.
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "square", "triangle")
SUPERSAMPLE = 4  # draw large, then shrink: smooth (anti-aliased) edges


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=3)


def _far_colour(rng: np.random.Generator, other: np.ndarray) -> tuple[int, ...]:
    """A random colour clearly different from ``other`` (so the shape stays visible)."""
    while True:
        colour = _colour(rng)
        if np.abs(colour - other).sum() > 180:
            return tuple(int(c) for c in colour)


def _background(rng: np.random.Generator, size: int) -> tuple[Image.Image, np.ndarray]:
    """A linear gradient between two random colours at a random angle."""
    start, end = _colour(rng).astype(float), _colour(rng).astype(float)
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    t = np.clip((xs * math.cos(angle) + ys * math.sin(angle)) + 0.5, 0, 1)[..., None]
    pixels = start * (1 - t) + end * t
    return Image.fromarray(pixels.astype(np.uint8), "RGB"), (start + end) / 2


def _polygon(shape: str, cx: float, cy: float, radius: float, rotation: float) -> list[tuple[float, float]]:
    corners = {"square": 4, "triangle": 3}[shape]
    # Scale so squares and triangles cover about the area of a circle of this radius;
    # size then says nothing about the class.
    scale = {"square": math.sqrt(math.pi / 2), "triangle": math.sqrt(4 * math.pi / (3 * math.sqrt(3)))}[shape]
    return [
        (cx + radius * scale * math.cos(rotation + 2 * math.pi * k / corners),
         cy + radius * scale * math.sin(rotation + 2 * math.pi * k / corners))
        for k in range(corners)
    ]


def draw_shape(shape: str, rng: np.random.Generator, size: int = 96) -> Image.Image:
    """One image of ``shape`` ("circle", "square" or "triangle")."""
    background, mean_bg = _background(rng, size)
    big = size * SUPERSAMPLE
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    radius = rng.uniform(0.16, 0.32) * big
    margin = radius * 1.1
    cx, cy = rng.uniform(margin, big - margin, size=2)
    fill = _far_colour(rng, mean_bg) + (255,)
    if shape == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=fill)
    else:
        draw.polygon(_polygon(shape, cx, cy, radius, rng.uniform(0, 2 * math.pi)), fill=fill)
    # A couple of thin lines in random colours: clutter the model must learn to ignore.
    for _ in range(rng.integers(0, 3)):
        x0, y0, x1, y1 = rng.uniform(0, big, size=4)
        draw.line([x0, y0, x1, y1], fill=tuple(int(c) for c in _colour(rng)) + (255,), width=SUPERSAMPLE)
    layer = layer.resize((size, size), Image.Resampling.BOX)
    image = Image.alpha_composite(background.convert("RGBA"), layer).convert("RGB")
    # Mild sensor-like noise, coarse-grained (2x2) so the PNGs stay small.
    noise = rng.normal(0, 3, size=(size // 2, size // 2, 1)).repeat(2, 0).repeat(2, 1)
    pixels = np.clip(np.asarray(image, dtype=float) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def generate(out_dir: Path, seed: int = 0, train: int = 60, val: int = 20, size: int = 96) -> None:
    """Write ``out_dir/{train,val}/<class>/<class>_NNN.png``, replacing any previous copy."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("val", val)):
        for shape in CLASSES:
            folder = out_dir / split / shape
            folder.mkdir(parents=True)
            for i in range(count):
                draw_shape(shape, rng, size).save(folder / f"{shape}_{i:03d}.png", optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "shapes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=60, help="training images per class")
    parser.add_argument("--val", type=int, default=20, help="validation images per class")
    parser.add_argument("--size", type=int, default=96, help="width and height in pixels")
    args = parser.parse_args()
    generate(args.out, seed=args.seed, train=args.train, val=args.val, size=args.size)
    print(f"Wrote {len(CLASSES) * (args.train + args.val)} images to {args.out}")


if __name__ == "__main__":
    main()
