"""The data check on real photos and X-rays, with real ImageNet features (real_data).

Planted problems in hymenoptera (labels flipped at random with a fixed seed, copies of
validation photos saved into train) must be found; on chest_xray the test NORMAL X-rays, which
were collected differently, must be flagged as unlike training while a control is not.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcore.checks import check_dataset
from tlcore.config import TrainConfig
from tlcore.workspace import Workspace

pytestmark = [pytest.mark.real_data, pytest.mark.slow]

FLIP_SHARE = 0.05
FLIP_SEED = 20261201  # today's date: picked before looking at any result, never tuned


def _plant_copies(root: Path) -> dict[str, str]:
    """Re-encoded, resized, cropped and recoloured copies of four val photos, saved into train."""
    originals = sorted((root / "val" / "bees").glob("*.jpg"))[:2] + sorted((root / "val" / "ants").glob("*.jpg"))[:2]
    planted = {}
    for i, (src, how) in enumerate(zip(originals, ("jpeg", "resize", "crop", "recolour"))):
        image = Image.open(src).convert("RGB")
        w, h = image.size
        if how == "resize":
            image = image.resize((w // 2, h // 2))
        elif how == "crop":
            image = image.crop((int(0.08 * w), int(0.08 * h), int(0.92 * w), int(0.92 * h)))
        elif how == "recolour":
            image = Image.fromarray(np.clip(np.asarray(image, dtype=float) * [1.08, 1.0, 0.92] + 6, 0, 255).astype("uint8"))
        target = root / "train" / src.parent.name / f"copy_{i}_{how}.jpg"
        image.save(target, quality=60 if how == "jpeg" else 90)
        planted[target.relative_to(root).as_posix()] = src.relative_to(root).as_posix()
    return planted


def _flip_labels(root: Path) -> list[str]:
    """Move FLIP_SHARE of the training photos, chosen with FLIP_SEED, to the other class's folder."""
    rng = np.random.default_rng(FLIP_SEED)
    files = sorted(p for p in (root / "train").glob("*/*") if p.is_file() and not p.name.startswith("copy_"))
    chosen = rng.choice(len(files), size=round(FLIP_SHARE * len(files)), replace=False)
    flipped = []
    for i in sorted(chosen):
        src = files[i]
        other = "bees" if src.parent.name == "ants" else "ants"
        target = root / "train" / other / f"flipped_{src.name}"
        shutil.move(src, target)
        flipped.append(target.relative_to(root).as_posix())
    return flipped


def test_hymenoptera_planted_flips_copies_and_the_placeholder_are_found(hymenoptera_dir, real_keras_home, tmp_path):
    root = tmp_path / "hymenoptera"
    shutil.copytree(hymenoptera_dir, root)
    planted = _plant_copies(root)
    flipped = _flip_labels(root)
    ws = Workspace(tmp_path / "ws")
    result = check_dataset(TrainConfig(data=str(root)), workspace=ws, curve=False, embedding=False).to_dict()

    k = 2 * len(flipped)
    top = [s["path"] for s in result["labels"]["suspects"][:k]]
    found = len(set(top) & set(flipped)) / len(flipped)
    print(f"label errors: {len(flipped)} flipped, {found:.0%} found in the top {k} suspects; "
          f"chance would be {k / result['num_images']:.0%}")
    assert found >= 0.6, (found, top, flipped)

    leaks = [g for g in result["near_duplicates"] if g["kind"] == "leak"]
    for copy, original in planted.items():
        assert any({copy, original} <= {m["path"] for m in g["members"]} for g in leaks), (copy, leaks)
    grouped = {m["path"] for g in result["near_duplicates"] for m in g["members"]}
    distinct = sorted(p.relative_to(root).as_posix() for p in (root / "train" / "bees").glob("*.jpg")
                      if not p.name.startswith(("copy_", "flipped_")))
    assert len(set(distinct) & grouped) <= 2, set(distinct) & grouped  # distinct photos of a class stay apart

    outliers = [o["path"] for o in result["outliers"]["items"][:5]]
    assert "train/ants/imageNotFound.gif" in outliers, outliers


def test_chest_xray_test_normal_looks_different_and_subjects_are_found(chest_xray_dir, real_keras_home, tmp_path):
    ws = Workspace(tmp_path / "ws")
    config = TrainConfig(data=str(chest_xray_dir))
    start = time.perf_counter()
    result = check_dataset(config, workspace=ws, curve=False, embedding=False).to_dict()
    cold = time.perf_counter() - start
    start = time.perf_counter()
    again = check_dataset(config, workspace=ws, curve=False, embedding=False).to_dict()
    warm = time.perf_counter() - start
    print(f"chest_xray check: {cold:.0f} s without cached features, {warm:.0f} s with them (bench/check_speed.py "
          "measures the whole check)")
    assert again["features_cached"]

    rows = {(r["class_name"], r["split"]): r for r in result["shift"]}
    normal = rows[("NORMAL", "test")]
    print({key: (round(r["auc"], 3), round(r["control_auc"], 3)) for key, r in rows.items()})
    assert normal["flagged"] and normal["auc"] >= 0.8 and normal["low"] > normal["control_high"]
    assert normal["control_auc"] < 0.65
    assert "NORMAL" in normal["message"] and "test" in normal["message"]
    assert any(f["problem"] == normal["message"].rstrip(".") for f in result["findings"])

    subjects = result["subjects"]
    assert subjects["num_subjects"] > 2000
    assert subjects["random_split"]["straddling_subjects"] > 100
