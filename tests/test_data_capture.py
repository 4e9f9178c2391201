"""Datasets made in the browser (tlcore.data.capture), and their cached features reused when pictures are added."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import _tiny_image
from tlcore import TLCoreError
from tlcore.config import TrainConfig
from tlcore.data import load_dataset
from tlcore.data.capture import MIN_PICTURES, PREFIX, CaptureFolder, capture_folders
from tlcore.features import FeatureCache, cached_features
from tlcore.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def _frames(label: int, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + label)
    return [_tiny_image(label, rng, size=48) for _ in range(n)]


def test_a_captured_dataset_is_an_ordinary_class_folders_dataset(ws):
    folder = CaptureFolder.create(ws, "My Classes")
    assert folder.root.parent == ws.datasets_dir and folder.root.name == PREFIX + "my-classes"
    folder.add_class("red")
    assert folder.missing() and "1 more class" in folder.missing()[0]
    folder.add("red", _frames(0, MIN_PICTURES))
    png = io.BytesIO()
    Image.fromarray(_frames(1, 1, seed=99)[0]).save(png, "PNG")
    saved = folder.add("green", [*_frames(1, MIN_PICTURES - 1), png.getvalue()])  # camera frames and a file mixed
    assert len(saved) == MIN_PICTURES and all(p.suffix == ".jpg" for p in saved)
    assert folder.counts() == {"green": MIN_PICTURES, "red": MIN_PICTURES} and folder.missing() == []
    dataset = load_dataset(folder.root, workspace=ws)
    assert dataset.classes == ["green", "red"] and len(dataset.samples) == 2 * MIN_PICTURES

    folder.remove("red", saved[0].name)  # not in red: nothing happens
    folder.remove("green", saved[0].name)
    assert folder.counts()["green"] == MIN_PICTURES - 1
    assert "1 more picture of “green”" in folder.missing()[0]
    names = zipfile.ZipFile(io.BytesIO(folder.zip_bytes())).namelist()
    assert len(names) == 2 * MIN_PICTURES - 1 and all(n.startswith("my-classes/") for n in names)
    assert str(ws.root) not in "".join(names)
    assert capture_folders(ws) == [folder]
    assert CaptureFolder.open(ws, folder.root) == folder


def test_the_same_shot_twice_is_one_file_and_nothing_taken_is_lost(ws):
    folder = CaptureFolder.create(ws, "shots")
    frame = _frames(0, 1)[0]
    folder.add("a", [frame, frame])
    assert folder.counts() == {"a": 1}
    with pytest.raises(TLCoreError, match="not a picture") as err:
        folder.add("a", [_frames(0, 1, seed=5)[0], b"not an image at all"])
    assert "JPEG" in err.value.fix
    assert folder.counts() == {"a": 2}  # the good frame before the bad file was kept


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "_x", "x" * 41, "train", "VAL"])
def test_hostile_or_confusing_class_names_are_refused_with_a_fix(ws, name):
    folder = CaptureFolder.create(ws, "names")
    with pytest.raises(TLCoreError) as err:
        folder.add_class(name)
    assert err.value.fix
    assert [p.name for p in ws.datasets_dir.iterdir()] == [folder.root.name]
    assert folder.classes() == []


def test_only_this_workspaces_captured_datasets_open(ws, tmp_path):
    other = Workspace(tmp_path / "other")
    theirs = CaptureFolder.create(other, "theirs")
    with pytest.raises(TLCoreError, match="not a dataset made with the camera"):
        CaptureFolder.open(ws, theirs.root)
    with pytest.raises(TLCoreError):
        CaptureFolder.open(ws, ws.datasets_dir)
    with pytest.raises(TLCoreError):
        CaptureFolder.create(ws, "../up")


class _MeanExtractor:
    """A stand-in network: each picture's mean colour; counts the pictures it sees."""

    def __init__(self):
        self.seen = 0

    def predict_on_batch(self, x):
        self.seen += len(x)
        return np.asarray(x, "float32").mean(axis=(1, 2))


def test_adding_pictures_computes_only_the_new_ones(ws):
    folder = CaptureFolder.create(ws, "grow")
    folder.add("a", _frames(0, 6))
    folder.add("b", _frames(1, 6))
    first = load_dataset(folder.root, workspace=ws)
    cache = FeatureCache(ws.cache_dir, "k")
    extractor = _MeanExtractor()

    def features(dataset, split):
        samples = dataset.split(split)
        hashes = [dataset.content_hash(s.path) for s in samples]
        return cached_features(extractor, cache, samples, hashes, 32, 4), samples

    old = {s.path: f for split in ("train", "val") for f, s in zip(*features(first, split))}
    assert extractor.seen == 12 and cache.reused == 0
    folder.add("a", _frames(0, 3, seed=9))
    second = load_dataset(folder.root, workspace=ws)
    extractor.seen = 0
    done = []
    for split in ("train", "val"):
        samples = second.split(split)
        hashes = [second.content_hash(s.path) for s in samples]
        feats = cached_features(extractor, cache, samples, hashes, 32, 4, on_batch=lambda d, t: done.append((d, t)))
        for f, s in zip(feats, samples):
            if s.path in old:
                np.testing.assert_allclose(f, old[s.path], rtol=1e-6)  # the right row, in the right place
    assert extractor.seen == 3 and cache.reused == 12  # only the new pictures went through the network
    assert done and done[-1][0] == done[-1][1] and sum(t for d, t in done if d == t) == 3


@pytest.mark.slow
def test_retraining_after_adding_pictures_reuses_the_old_features(ws, random_weights):
    folder = CaptureFolder.create(ws, "classroom")
    folder.add("a", _frames(0, 10))
    folder.add("b", _frames(1, 10))
    fast = dict(weights=random_weights, image_size=48, epochs=2, batch_size=8)
    first = train_run(folder, ws, fast)
    assert first.status == "finished" and first.feature_cache_reused == 0
    folder.add("b", _frames(1, 4, seed=3))
    second = train_run(folder, ws, fast)
    assert second.status == "finished" and second.feature_cache_reused >= 20


def train_run(folder, ws, fast):
    from tlcore.train import train

    return train(TrainConfig(data=str(folder.root), **fast), workspace=ws)


def test_a_recording_is_one_subject_of_the_split_and_other_files_their_own(ws):
    from tlcore.data.capture import new_recording

    folder = CaptureFolder.create(ws, "subjects")
    for label, cls in enumerate(("a", "b")):
        for seed in range(3):  # three recordings a class, and a few single shots
            folder.add(cls, _frames(label, 6, seed=10 * seed + label), recording=new_recording())
        folder.add(cls, _frames(label, 2, seed=99 + label))
    dataset = load_dataset(folder.root, workspace=ws)  # group_by "auto", the default
    recordings = {s.path: dataset.subjects[s.path] for s in dataset.samples if "/rec-" in s.path}
    assert len(set(recordings.values())) == 6 and dataset.report.subjects.get("method") == "auto"
    by_subject = {}
    for s in dataset.samples:
        by_subject.setdefault(dataset.subjects[s.path], set()).add(s.split)
    assert all(len(splits) == 1 for subject, splits in by_subject.items() if subject.startswith("rec-"))
    assert any(splits == {"val"} for subject, splits in by_subject.items() if subject.startswith("rec-"))
    with pytest.raises(TLCoreError, match="not a recording name"):
        folder.add("a", _frames(0, 1), recording="../x")


def test_i_dont_know_compares_a_burst_with_other_recordings_not_with_itself():
    """Two bursts per class, each a few dozen near-copies of one view. Leave-one-out alone would
    call every new view of the same thing unlike them; leaving the picture's recording out
    gives a limit that new views pass and pictures of other things still fail."""
    from tlcore.trust.unknown import fit_unknown, nearest_similarity

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2, 64))

    def views(c, n, spread):
        return centres[c] + rng.normal(scale=0.4, size=64) * (spread == "burst") + rng.normal(
            scale=0.02 if spread == "burst" else 0.4, size=(n, 64))

    bursts = [views(c, 30, "burst") for c in (0, 1) for _ in range(2)]
    train, y = np.concatenate(bursts), np.repeat([0, 0, 1, 1], 30)
    recordings = list(np.repeat([0, 1, 2, 3], 30))
    new_views = np.concatenate([views(c, 20, "new") for c in (0, 1)])
    far = rng.normal(size=(40, 64))
    alone, limits_alone = fit_unknown(train, y, 2)
    _, limits = fit_unknown(train, y, 2, subjects=recordings)
    sims = nearest_similarity(new_views, alone)
    print(f"new views flagged: {np.mean(sims < limits_alone['similarity_limit']):.0%} leaving one out, "
          f"{np.mean(sims < limits['similarity_limit']):.0%} leaving the recording out")
    assert (sims < limits_alone["similarity_limit"]).mean() > 0.9  # the old limit: new views are "unknown"
    assert (sims < limits["similarity_limit"]).mean() < 0.2
    assert (nearest_similarity(far, alone) < limits["similarity_limit"]).mean() > 0.9
    assert limits["prototype_subjects"] == recordings
