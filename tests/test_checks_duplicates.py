"""Near-duplicates by content: copies are grouped and told apart as leaks, conflicts and duplicates."""

import json

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from tlcore.checks.duplicates import find_near_duplicates, near_duplicate_threshold


def _photos(n=200, dim=256, classes=4, seed=0):
    """Non-negative vectors like pooled ReLU features: a class direction plus much variety."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (classes, dim))
    labels = rng.integers(0, classes, n)
    return np.maximum(centers[labels] + rng.normal(0, 1, (n, dim)), 0).astype(np.float32), labels, rng


def _copy(vector, rng, noise=0.05):
    return np.maximum(vector + rng.normal(0, noise, vector.shape), 0).astype(np.float32)


def test_copies_are_grouped_and_classified_by_split_and_label():
    x, labels, rng = _photos()
    splits = np.array(["train"] * 150 + ["val"] * 50)
    extra = [(_copy(x[160], rng), labels[160], "train"),        # a val image copied into train: leak
             (_copy(x[3], rng), (labels[3] + 1) % 4, "train"),  # same split, other label: conflict
             (_copy(x[5], rng), labels[5], "train"),            # same split, same label: duplicate
             (_copy(x[5], rng), labels[5], "train")]            # ... three copies of one image
    x = np.vstack([x] + [e[0][None] for e in extra])
    labels = np.r_[labels, [e[1] for e in extra]]
    splits = np.r_[splits, [e[2] for e in extra]]
    groups = find_near_duplicates(x, labels, splits)
    assert [(g.kind, g.indices) for g in groups] == [
        ("leak", [160, 200]), ("conflict", [3, 201]), ("duplicate", [5, 202, 203])]
    assert groups[1].mixed_labels and not groups[2].mixed_labels
    assert all(0.95 < g.similarity <= 1.0 for g in groups)
    saved = json.loads(json.dumps([g.to_dict() for g in groups]))
    assert saved[0] == {"indices": [160, 200], "similarity": groups[0].similarity, "kind": "leak",
                        "mixed_labels": False}


def _alike(spread, n=150, seed=1):
    rng = np.random.default_rng(seed)
    base = np.abs(rng.normal(0, 1, 256))
    return np.maximum(base + spread * rng.normal(0, 1, (n, 256)), 0).astype(np.float32)


def test_distinct_images_are_not_grouped_however_alike_the_dataset():
    for spread in (1.0, 0.2):  # varied photos, and images that all look alike (like X-rays)
        x = _alike(spread)
        labels, splits = np.zeros(150, int), np.array(["train"] * 150)
        assert find_near_duplicates(x, labels, splits) == []
        x[7] = x[99]  # ... but an exact copy always is one
        (group,) = find_near_duplicates(x, labels, splits)
        assert group.indices == [7, 99] and group.similarity == pytest.approx(1.0)


def test_the_threshold_adapts_to_the_data_and_can_be_set():
    assert 0.8 <= near_duplicate_threshold(_alike(1.0)) < near_duplicate_threshold(_alike(0.2)) < 1.0
    x, labels, _ = _photos()
    splits = np.array(["train"] * 200)
    # non-negative vectors all have a positive cosine: near 0, every image is someone's copy
    groups = find_near_duplicates(x, labels, splits, threshold=1e-4)
    assert sorted(i for g in groups for i in g.indices) == list(range(200))
    with pytest.raises(ValueError, match="threshold"):
        find_near_duplicates(x, labels, splits, threshold=1.5)


# ---- real photos, real MobileNetV2 ImageNet features -------------------------------------

def _variants(path, out_dir, name):
    """Copies a user might have: re-encoded, resized, cropped, recoloured."""
    image = Image.open(path).convert("RGB")
    w, h = image.size
    dx, dy = int(0.08 * w), int(0.08 * h)
    made = {"jpeg": (image, ".jpg"), "resized": (image.resize((w // 2, h // 2)), ".png"),
            "cropped": (image.crop((dx, dy, w - dx, h - dy)), ".png"),
            "recoloured": (ImageEnhance.Brightness(ImageEnhance.Color(image).enhance(1.15)).enhance(1.08), ".png")}
    paths = []
    for kind, (img, ext) in made.items():
        target = out_dir / f"{name}_{kind}{ext}"
        img.save(target, quality=60) if ext == ".jpg" else img.save(target)
        paths.append(target)
    return paths


@pytest.fixture(scope="module")
def hymenoptera_with_copies(hymenoptera_dir, real_keras_home, tmp_path_factory):
    from checks_helpers import extract_features, hymenoptera_samples
    from tlcore.data.split import Sample

    samples = hymenoptera_samples(hymenoptera_dir)
    val = [i for i, s in enumerate(samples) if s.split == "val"]
    originals = [val[i] for i in (3, 40, 80, 120)]
    out = tmp_path_factory.mktemp("copies")
    copies, origin = [], []
    for k, index in enumerate(originals):
        for path in _variants(samples[index].path, out, f"copy{k}"):
            copies.append(Sample(str(path), samples[index].label, "train"))
            origin.append(index)
    samples = samples + copies
    return extract_features(hymenoptera_dir, samples), samples, origin


@pytest.mark.real_data
@pytest.mark.slow
def test_real_copies_of_val_photos_in_train_are_leaks_and_distinct_photos_are_not_grouped(hymenoptera_with_copies):
    features, samples, origin = hymenoptera_with_copies
    labels = np.array([s.label for s in samples])
    splits = np.array([s.split for s in samples])
    groups = find_near_duplicates(features, labels, splits)
    first_copy = len(samples) - len(origin)
    for k, index in enumerate(origin):
        copy = first_copy + k
        (group,) = [g for g in groups if copy in g.indices]
        assert index in group.indices and group.kind == "leak", (samples[copy].path, group)
    # distinct photos (hymenoptera's own train images, alike as two bees can be) stay apart
    for group in groups:
        originals = [i for i in group.indices if i < first_copy and splits[i] == "train"]
        assert len(originals) <= 1, [samples[i].path for i in group.indices]
    assert len(groups) == len(set(origin))
