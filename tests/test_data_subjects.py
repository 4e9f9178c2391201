"""Same-subject splits (tlcore/data/subjects.py and the group split of tlcore/data/split.py)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from data_helpers import _image, default_limits  # noqa: F401  (autouse fixture)
from PIL import Image

from tlcore.data import DatasetReport, find_subjects, load_dataset
from tlcore.data.subjects import NO_PATTERN
from tlcore.errors import TLCoreError

BASE = Path("/data")


def _files(names_by_class: dict[str, list[str]], split: str = "train") -> list[tuple[str, str, str]]:
    return [(split, c, str(BASE / c / n)) for c, names in names_by_class.items() for n in names]


def _subject_names(subjects: int, per_subject: int, start: int = 0, style: str = "person") -> list[str]:
    if style == "person":
        return [f"person{s}_bacteria_{s * 10 + i}.jpeg" for s in range(start, start + subjects) for i in range(per_subject)]
    return [f"IM-{s:04d}-{i + 1:04d}.jpeg" for s in range(start, start + subjects) for i in range(per_subject)]


def _subject_folder(root: Path, subjects_per_class: int = 10, per_subject: int = 3, classes=("NORMAL", "PNEUMONIA"),
                    split: str | None = None, start: int = 0) -> Path:
    """Chest-X-ray-like names: ``<class>/patient<N>_<i>.png``, subject numbers unique over classes."""
    for c, name in enumerate(classes):
        folder = root / (split or "") / name
        for s in range(subjects_per_class):
            for i in range(per_subject):
                _image(folder / f"patient{start + c * 1000 + s}_{i}.png")
    return root


def _subject_of(path: str) -> str:
    return Path(path).name.split("_")[0]


# --------------------------------------------------------------------------- auto detection
def test_auto_finds_chest_xray_like_subjects():
    files = _files({"PNEUMONIA": _subject_names(20, 3), "NORMAL": _subject_names(20, 2, 100, "IM")
                    + ["NORMAL2-IM-0535-0001.jpeg", "IM-0523-0001-0002.jpeg", "IM-0523-0001.jpeg"]})
    found = find_subjects("auto", files, BASE)
    assert found.method == "auto" and found.unmatched == 0
    of = {Path(p).name: s for p, s in found.of.items()}
    assert of["person3_bacteria_30.jpeg"] == "person3"
    assert of["IM-0115-0001.jpeg"] == "IM-0115"
    assert of["NORMAL2-IM-0535-0001.jpeg"] == "NORMAL2-IM-0535"
    assert of["IM-0523-0001-0002.jpeg"] == of["IM-0523-0001.jpeg"] == "IM-0523"  # one patient, two studies


@pytest.mark.parametrize("names", [
    [f"{i:03d}.png" for i in range(20)],  # data_helpers._classes
    [f"red_stripes_{i:02d}.png" for i in range(20)],  # conftest's tiny datasets
    [f"circle_{i:03d}.png" for i in range(20)],  # sample_data/shapes
    [f"img_{i:03d}.jpg" for i in range(20)],  # export_helpers; the rest of the name has no digit
    [f"class1_{i:02d}.png" for i in range(20)],  # one "subject" per class is a naming scheme, not subjects
    ["1092977343_cfb4e7a9.jpg", "0013035.jpg", "1030023514_aad5c608f9.jpg", "116570827_e9c126745d.jpg",
     "3030772428_8578335616.jpg", "MehdiabadiAnt2_600.jpg", "imageNotFound.gif", "ant"],  # hymenoptera
])
def test_auto_does_not_fire_on_names_without_subjects(names):
    found = find_subjects("auto", _files({"a": names, "b": names}), BASE)
    assert (found.method, found.found, found.note) == ("none", False, NO_PATTERN)


def test_auto_needs_most_names_to_match():
    names = _subject_names(5, 2) + [f"photo{'abcdefgh'[i % 8]}{'x' * (i // 8)}.png" for i in range(10)]
    assert not find_subjects("auto", _files({"a": names}), BASE).found  # 10 of 20 match
    mostly = _subject_names(9, 2) + ["odd.png", "other.png"]
    found = find_subjects("auto", _files({"a": mostly}), BASE)
    assert found.found and found.unmatched == 2
    assert found.of[str(BASE / "a" / "odd.png")] != found.of[str(BASE / "a" / "other.png")]  # their own subjects


def test_none_finds_no_subjects():
    assert not find_subjects("none", _files({"a": _subject_names(10, 3)}), BASE).found


# --------------------------------------------------------------------------- regular expressions
@pytest.mark.parametrize("pattern,expected", [
    (r"^(?P<subject>case\d+)-", "case7"),
    (r"(case\d+)-", "case7"),  # the first group
    (r"case\d+", "case7"),  # the whole match
])
def test_a_regular_expression_names_the_subject(pattern, expected):
    files = _files({"a": ["case7-1.png", "case7-2.png", "case8-1.png"]})
    found = find_subjects(pattern, files, BASE)
    assert found.method == "regex" and found.of[str(BASE / "a" / "case7-2.png")] == expected


def test_a_regex_matching_nothing_names_pattern_count_example_and_fix():
    with pytest.raises(TLCoreError) as err:
        find_subjects(r"^(case\d+)_", _files({"a": ["scan_1.png", "scan_2.png", "scan_3.png"]}), BASE)
    message = str(err.value)
    assert r"'^(case\d+)_'" in message and "3 file names" in message and "scan_1.png" in message
    assert "Fix:" in message and r"^(patient\d+)_" in message.split("Fix:")[1]


def test_an_invalid_regex_is_named_with_a_fix():
    with pytest.raises(TLCoreError) as err:
        find_subjects("(case\\d+", _files({"a": ["case1_1.png", "case1_2.png"]}), BASE)
    message = str(err.value)
    assert "'(case\\d+'" in message and "not a valid regular expression" in message and "2 file names" in message
    assert "case1_1.png" in message and "Fix:" in message


def test_unmatched_files_are_subjects_of_their_own_with_a_finding(tmp_path):
    _subject_folder(tmp_path, 6, 2, classes=("cats", "dogs"))
    _image(tmp_path / "cats" / "stray.png")
    dataset = load_dataset(tmp_path, group_by=r"^(patient\d+)_")
    assert dataset.report.subjects["method"] == "regex" and dataset.report.subjects["unmatched_images"] == 1
    assert any("1 image matches no subject pattern" in w.problem for w in dataset.report.warnings)


# --------------------------------------------------------------------------- CSV files
def _csv(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_csv_file_names_the_groups(tmp_path):
    data = _subject_folder(tmp_path / "data", 4, 2, classes=("cats", "dogs"))
    rows = ["path,group"] + [f"{p.relative_to(data).as_posix()},g{_subject_of(str(p))}"
                             for p in sorted(data.rglob("*.png")) if "patient0_" not in p.name]
    groups = _csv(tmp_path / "groups.csv", "\n".join(rows) + "\n")
    dataset = load_dataset(data, group_by=groups)
    subjects = dataset.report.subjects
    assert subjects["method"] == "csv" and subjects["file"] == groups
    assert subjects["num_subjects"] == 8 + 1  # patient0's two images are not in the file: two of their own
    assert subjects["unmatched_images"] == 2
    assert any("2 images are not in the subject file" in w.problem for w in dataset.report.warnings)
    assert subjects["split_by_subject"] and "split by subject" in dataset.report.validation


@pytest.mark.parametrize("text,words", [
    ("file,subject\ncats/patient0_0.png,a\n", ["columns", "path,group"]),
    ("path,group\ncats/nope.png,a\ncats/patient0_0.png,a\n" + "".join(f"dogs/gone{i}.png,b\n" for i in range(6)),
     ["7 files", "'cats/nope.png'", "'dogs/gone3.png'", "…", "relative to the dataset folder"]),
])
def test_a_bad_csv_file_says_what_is_wrong(tmp_path, text, words):
    data = _subject_folder(tmp_path / "data", 3, 2, classes=("cats", "dogs"))
    groups = _csv(tmp_path / "groups.csv", text)
    with pytest.raises(TLCoreError) as err:
        load_dataset(data, group_by=groups)
    message = str(err.value)
    for word in words:
        assert word in message, message
    assert "Fix:" in message and "dogs/gone4.png" not in message  # at most 5 paths listed
    assert "'groups.csv'" in message and str(tmp_path) not in message  # the file by its name, not its folder


def test_a_missing_csv_file_is_a_plain_error(tmp_path):
    data = _subject_folder(tmp_path / "data", 3, 2, classes=("cats", "dogs"))
    with pytest.raises(TLCoreError, match="cannot be read.*Fix"):
        load_dataset(data, group_by=str(tmp_path / "missing.csv"))


# --------------------------------------------------------------------------- the split
def _sides(dataset) -> dict[str, set[str]]:
    sides = defaultdict(set)
    for s in dataset.samples:
        sides[_subject_of(s.path)].add(s.split)
    return sides


def test_the_subject_split_keeps_every_subject_on_one_side_and_stays_stratified(tmp_path):
    _subject_folder(tmp_path, subjects_per_class=20, per_subject=3, classes=("a", "b", "c"))
    dataset = load_dataset(tmp_path, seed=3)
    assert dataset.report.subjects["method"] == "auto"
    assert all(len(splits) == 1 for splits in _sides(dataset).values())
    for label in range(3):
        val = int((dataset.labels("val") == label).sum())
        assert 9 <= val <= 15, val  # about 20% of 60 images, in whole subjects of 3
    assert "split by subject" in dataset.report.validation


def test_the_report_counts_subjects_a_random_split_would_straddle(tmp_path):
    _subject_folder(tmp_path, subjects_per_class=15, per_subject=4)
    grouped = load_dataset(tmp_path, seed=5)
    plain = load_dataset(tmp_path, seed=5, group_by="none")
    assert plain.report.subjects == {"group_by": "none", "method": "none",
                                     "message": "Subjects are not used: pictures are split at random."}
    train = {_subject_of(s.path) for s in plain.split("train")}
    crossing = [s for s in plain.split("val") if _subject_of(s.path) in train]
    expected = {"straddling_subjects": len({_subject_of(s.path) for s in crossing}), "val_images": len(crossing)}
    assert expected["straddling_subjects"] > 0 and any(len(v) > 1 for v in _sides(plain).values())
    subjects = grouped.report.subjects
    assert subjects["random_split"] == expected
    assert subjects["num_subjects"] == subjects["split_subjects"] == 30
    assert subjects["largest_subject"]["images"] == 4
    finding = next(w for w in grouped.report.warnings if w.problem.startswith("Kept each of 30 subjects"))
    assert f"put {expected['straddling_subjects']} of them on both sides" in finding.problem
    again = DatasetReport.from_dict(grouped.report.to_dict())
    assert again.subjects == subjects and again.to_text() == grouped.report.to_text()
    assert "Subjects: 30" in grouped.report.to_text()


def test_subjects_in_the_users_own_val_folder_are_counted(tmp_path):
    _subject_folder(tmp_path, 8, 3, split="train")
    _subject_folder(tmp_path, 2, 2, split="val")  # patient0, patient1, patient1000, patient1001: also in train
    dataset = load_dataset(tmp_path)
    assert dataset.report.subjects["folders"]["val"] == {"straddling_subjects": 4, "images": 8}
    finding = next(w for w in dataset.report.warnings if "in your val folder" in w.problem)
    assert finding.problem.startswith("4 subjects have images both in training")
    assert "keep each subject's images in one split folder" in finding.fix and "drop the val folder" in finding.fix
    assert "random_split" not in dataset.report.subjects


def test_a_class_of_one_subject_falls_back_to_a_random_split(tmp_path):
    _subject_folder(tmp_path, 10, 2, classes=("many",))
    for i in range(5):  # one subject: auto would call it a naming scheme, a regex says it is a subject
        _image(tmp_path / "one" / f"patient777_{i}.png")
    dataset = load_dataset(tmp_path, group_by=r"^(patient\d+)_")
    assert any("'one' has images of only one subject" in w.problem for w in dataset.report.warnings)
    counts = dataset.report.counts
    assert counts["val"]["one"] >= 1 and counts["train"]["one"] >= 1 and counts["val"]["many"] >= 1
    many = {k: v for k, v in _sides(dataset).items() if k != "patient777"}
    assert all(len(v) == 1 for v in many.values())


def test_the_subject_split_is_seeded(tmp_path):
    _subject_folder(tmp_path, 12, 2)
    first, again = load_dataset(tmp_path, seed=1), load_dataset(tmp_path, seed=1)
    other = load_dataset(tmp_path, seed=2)
    assert first.paths("val") == again.paths("val") and first.paths("val") != other.paths("val")


# --------------------------------------------------------------------------- the point: honest accuracy
def _subject_dataset(root: Path, subjects_per_class: int = 30, per_subject: int = 4, size: int = 32) -> Path:
    """Each subject's images are near-copies of its own random pattern; classes carry no other signal."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(("a", "b")):
        for s in range(subjects_per_class):
            pattern = rng.integers(0, 256, (size // 4, size // 4, 3)).repeat(4, 0).repeat(4, 1).astype(float)
            for i in range(per_subject):
                pixels = np.clip(pattern + rng.normal(0, 6, pattern.shape), 0, 255).astype(np.uint8)
                (root / name).mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels).save(root / name / f"patient{c * 100 + s}_{i}.png")
    return root


@pytest.mark.slow
def test_a_subject_split_shows_the_accuracy_a_random_split_inflates(tmp_path, random_weights):
    from tlcore.config import TrainConfig
    from tlcore.train import train
    from tlcore.workspace import Workspace

    data = _subject_dataset(tmp_path / "data")
    ws = Workspace(tmp_path / "ws")
    accuracy = {}
    for group_by in ("none", "auto"):
        # Flatten keeps where things are in the picture, so the head can recognise each subject's pattern.
        config = TrainConfig(data=str(data), weights=random_weights, layer="block_2_add", image_size=32, epochs=30,
                             batch_size=16, learning_rate=3e-3, pooling="flatten", group_by=group_by, class_weight="none")
        result = train(config, workspace=ws)
        assert result.status == "finished"
        accuracy[group_by] = result.evaluation["accuracy"]
    # Seen subjects are recognised; unseen ones are a coin toss.
    # (Seeds 1, 2 and 42 gave none 0.85-0.94 and auto 0.42-0.67 on 48 validation images.)
    assert accuracy["none"] >= 0.8, accuracy
    assert accuracy["auto"] <= 0.7 and accuracy["none"] - accuracy["auto"] >= 0.2, accuracy


# --------------------------------------------------------------------------- real data
@pytest.mark.real_data
def test_chest_xray_patients_are_found_and_kept_together(chest_xray_dir):
    dataset = load_dataset(chest_xray_dir)
    subjects = dataset.report.subjects
    assert subjects["method"] == "auto" and subjects["unmatched_images"] == 0
    assert 2700 <= subjects["split_subjects"] <= 3000  # patients of train/, as the file names say
    assert subjects["random_split"]["straddling_subjects"] >= 400 and subjects["random_split"]["val_images"] >= 500
    assert all(len(splits) == 1 for name, splits in _chest_sides(dataset).items())
    assert any(w.problem.startswith(f"Kept each of {subjects['split_subjects']:,} subjects")
               for w in dataset.report.warnings)


def _chest_sides(dataset) -> dict[str, set[str]]:
    found = find_subjects("auto", [(s.split, "", s.path) for s in dataset.samples], dataset.root)
    sides = defaultdict(set)
    for s in dataset.samples:
        if s.split != "test":
            sides[found.of[s.path]].add(s.split)
    return sides


@pytest.mark.real_data
def test_hymenoptera_names_have_no_subjects(hymenoptera_dir):
    subjects = load_dataset(hymenoptera_dir).report.subjects
    assert subjects == {"group_by": "auto", "method": "none", "note": NO_PATTERN,
                        "message": f"No subjects: {NO_PATTERN}, so pictures are split at random."}
