"""What the one preprocessing costs in accuracy (issue 10): plain vs antialiased resize.

Every export format must run the app's resize, and TFLite cannot run an antialiased one,
so the app and every export resize with plain bilinear (``tlcore.images.resize_image``,
the model's own ``Resizing`` layer). This measures what that costs against Pillow's
antialiased bilinear, the filter the app used before: the same ImageNet MobileNetV2
features, the same logistic-regression heads over a range of strengths, hymenoptera
train -> val (photos of 180-500+ px, downscaled to 224 by factors up to ~2.5).

Usage: python bench/resize_cost.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HYMENOPTERA, image_files, report, require, setup_keras_home  # noqa: E402


def main() -> int:
    setup_keras_home()
    require(HYMENOPTERA, "the hymenoptera dataset")
    from PIL import Image
    from sklearn.linear_model import LogisticRegression

    from tlcore.config import TrainConfig
    from tlcore.images import ImageProblem, open_image, resize_image
    from tlcore.model import build_classifier

    extractor = build_classifier(TrainConfig(), 2).extractor
    resizes = {
        "plain bilinear (app and exports)": lambda img: resize_image(np.asarray(img), 224),
        "Pillow antialiased bilinear": lambda img: np.asarray(img.resize((224, 224), Image.Resampling.BILINEAR)),
    }
    splits = {}
    for split in ("train", "val"):
        paths, labels = [], []
        for label, name in enumerate(("ants", "bees")):
            for path in image_files(HYMENOPTERA / split / name):
                try:
                    paths.append(open_image(path))
                    labels.append(label)
                except ImageProblem:
                    continue
        splits[split] = (paths, np.array(labels))
    scores = {}
    for name, resize in resizes.items():
        feats = {s: extractor.predict(np.stack([resize(img) for img in imgs]), batch_size=32, verbose=0)
                 for s, (imgs, _) in splits.items()}
        accs = []
        for c in (0.01, 0.03, 0.1, 0.3, 1.0):
            head = LogisticRegression(C=c, max_iter=3000).fit(feats["train"], splits["train"][1])
            accs.append(float(np.mean(head.predict(feats["val"]) == splits["val"][1])))
        scores[name] = accs
        print(f"{name}: val accuracy over C 0.01..1: " + ", ".join(f"{a:.1%}" for a in accs), flush=True)
    plain, smooth = (np.mean(v) for v in scores.values())
    report("resize cost, hymenoptera val (mean over 5 heads)", f"{plain:.1%} plain vs {smooth:.1%} antialiased "
           f"({(plain - smooth) * 100:+.1f} points)", "within 1 point", abs(plain - smooth) <= 0.01)
    return 0


if __name__ == "__main__":
    sys.exit(main())
