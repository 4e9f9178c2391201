"""The feature-extraction fast path: bottleneck features computed once and cached on disk.

With a frozen base and no augmentation, every epoch would push the same images through the
same network. Instead each image goes through the base once; its pooled features are cached
under a key made of the data's content, the backbone, its weights, the cut layer, the image
size and the pooling, and the head trains on the cached vectors in milliseconds per epoch.
:func:`featurize` writes the same features of a whole dataset to a Parquet table.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import events as ev
from .config import TrainConfig

FEATURE_VERSION = 1  # bump when the way features are computed changes
# Where `tlcore featurize` runs: the engines, written once (the CLI's --engine choices)
ENGINES = {"local": "this machine", "spark": "a Spark cluster or local Spark (needs the [spark] extra and Java)"}


def _file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_key(config: TrainConfig, image_size: int, layer: str) -> str:
    """Identifies the feature extractor: backbone, weights, layer, size, pooling."""
    weights = config.weights or "none"
    if weights not in ("imagenet", "none"):
        weights = "file:" + _file_digest(weights)
    backbone = "file:" + _file_digest(config.backbone_file) if config.backbone_file else config.backbone
    import keras

    parts = {"v": FEATURE_VERSION, "backbone": backbone, "weights": weights, "layer": layer,
             "size": image_size, "pooling": config.pooling, "keras": keras.__version__,
             "backend": keras.backend.backend()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def samples_key(content_hashes: Sequence[str], view: int = 0, seed: int = 0) -> str:
    h = hashlib.sha256(f"view={view};seed={seed};".encode())
    for digest in content_hashes:
        h.update(digest.encode())
    return h.hexdigest()[:24]


_INDEX = ".hashes.json"  # beside each original-pictures split file: its rows' content hashes


class FeatureCache:
    """``<cache_dir>/features/<model key>/<samples key>.npy``."""

    def __init__(self, cache_dir: str | Path, key: str):
        self.dir = Path(cache_dir) / "features" / key
        self.hits = 0
        self.misses = 0
        self.reused = 0  # pictures whose features came from another split's file (see known_rows)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.npy"

    def load(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        if path.is_file():
            try:
                arr = np.load(path, allow_pickle=False)
                self.hits += 1
                return arr
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # torn or corrupt file: recompute
        self.misses += 1
        return None

    def save(self, key: str, features: np.ndarray, content_hashes: Sequence[str] | None = None) -> None:
        """Save one split's features; with ``content_hashes`` (original pictures only) each row
        can later be found by its picture's content, see :meth:`known_rows`."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{key}.tmp.npy"
        np.save(tmp, features, allow_pickle=False)
        tmp.replace(self.path(key))
        if content_hashes is not None and len(content_hashes) == len(features):
            index = self.dir / f"{key}{_INDEX}"
            tmp_index = self.dir / f".{key}.tmp.json"
            tmp_index.write_text(json.dumps(list(content_hashes)))
            tmp_index.replace(index)

    def known_rows(self, content_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached feature vectors of any of these pictures, from the splits saved before.

        Adding pictures to a dataset (or a new random split) changes every split's key; the
        pictures seen before are still found here, so only the new ones go through the network.
        """
        wanted, found = set(content_hashes), {}
        for index in sorted(self.dir.glob(f"*{_INDEX}")) if self.dir.is_dir() else []:
            if len(found) == len(wanted):
                break
            try:
                hashes = json.loads(index.read_text())
                rows = [(i, h) for i, h in enumerate(hashes) if h in wanted and h not in found]
                if not rows:
                    continue
                arr = np.load(self.path(index.name[: -len(_INDEX)]), mmap_mode="r", allow_pickle=False)
                if len(arr) != len(hashes):
                    continue
                found.update((h, np.array(arr[i], dtype="float32")) for i, h in rows)
            except (OSError, ValueError):
                continue  # a torn or foreign file: those pictures are computed again
        self.reused += len(found)
        return found


def extract(extractor, samples, image_size: int, batch_size: int, *, augmenter=None,
            on_batch: Callable[[int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None, batcher=None) -> np.ndarray:
    """Run ``extractor`` over ``samples`` in order, decoding in parallel with prefetch.

    ``batcher(samples, batch_size)`` gives the batches instead of decoding images (text runs:
    :func:`tlcore.text.batches.text_batcher`)."""
    if batcher is not None:
        batches = batcher(samples, batch_size)
    else:
        from .data import ImageBatches

        batches = ImageBatches(samples, image_size, batch_size=batch_size, shuffle=False)
    n = len(batches)
    out = []
    # Iterating a PyDataset through a Keras data adapter would be simplest, but a manual loop
    # lets us stop between batches and report progress; prefetching keeps the CPU busy.
    for i, (x, _) in enumerate(_prefetch(batches)):
        if should_stop is not None and should_stop():
            raise KeyboardInterrupt
        if augmenter is not None:
            x = augmenter(x.astype("float32"), training=True)
        # predict_on_batch runs a compiled function; eager calls made TF's CPU memory grow per batch
        out.append(np.asarray(extractor.predict_on_batch(x), dtype="float32"))
        if on_batch is not None:
            on_batch(i + 1, n)
    return np.concatenate(out, axis=0) if out else np.zeros((0,), "float32")


def _prefetch(batches, depth: int = 2):
    """Decode the next batches in background threads while the current one is computed."""
    from concurrent.futures import ThreadPoolExecutor

    n = len(batches)
    with ThreadPoolExecutor(max_workers=depth) as pool:
        pending = [pool.submit(batches.__getitem__, i) for i in range(min(depth, n))]
        for i in range(n):
            item = pending.pop(0).result()
            if i + depth < n:
                pending.append(pool.submit(batches.__getitem__, i + depth))
            yield item


def cached_features(extractor, cache: FeatureCache, samples, content_hashes: Sequence[str], image_size: int,
                    batch_size: int, *, view: int = 0, augmenter=None, seed: int = 0,
                    on_batch=None, should_stop=None, batcher=None) -> np.ndarray:
    """Features for ``samples`` (view 0 = the original images; view k>0 = k-th augmented copy).

    For the original pictures, those cached in any earlier split of this extractor are reused
    and only the others are computed; ``on_batch(done, total)`` then counts the pictures
    computed (an augmented copy counts batches of the whole split).
    """
    key = samples_key(content_hashes, view=view, seed=seed)
    feats = cache.load(key)
    if feats is not None and len(feats) == len(samples):
        return feats
    if view:  # an augmented copy depends on the seed and the whole split: computed again
        if augmenter is not None:
            import keras

            keras.utils.set_random_seed(seed * 1000 + view)
        feats = extract(extractor, samples, image_size, batch_size, augmenter=augmenter,
                        on_batch=on_batch, should_stop=should_stop, batcher=batcher)
        cache.save(key, feats)
        return feats
    known = cache.known_rows(content_hashes)
    missing = [i for i, h in enumerate(content_hashes) if h not in known]

    def images_done(done: int, total: int) -> None:  # in pictures computed, not batches
        if on_batch is not None:
            on_batch(min(done * batch_size, len(missing)), len(missing))

    new = extract(extractor, [samples[i] for i in missing], image_size, batch_size,
                  on_batch=images_done, should_stop=should_stop, batcher=batcher) if missing else None
    computed = dict(zip((content_hashes[i] for i in missing), new)) if missing else {}
    feats = np.stack([known[h] if h in known else computed[h] for h in content_hashes]).astype("float32") \
        if len(content_hashes) else np.zeros((0,), "float32")
    cache.save(key, feats, content_hashes)
    return feats


def split_features(extractor, cache: FeatureCache, samples, content_hashes: Sequence[str], image_size: int,
                   batch_size: int, *, split: str, view: int = 0, augmenter=None, seed: int = 0,
                   emit: Callable[[dict], None] | None = None, should_stop=None, batcher=None) -> np.ndarray:
    """:func:`cached_features` of one split, reporting each batch as a ``features`` batch event
    (images done of the split), the stream a training run and a data check both write."""
    label = "Computing features" + (f" (augmented view {view})" if view else "") + f" for {split}"
    total_images = len(samples)

    def on_batch(done, total):
        if emit is not None:
            # original pictures: done/total count the pictures computed (cached ones are skipped)
            images = (done, total) if not view else (min(done * batch_size, total_images), total_images)
            emit(ev.batch_event(ev.STAGE_FEATURES, done, total, split=split, view=view,
                                images_done=images[0], images_total=images[1], message=label))

    return cached_features(extractor, cache, samples, content_hashes, image_size, batch_size, view=view,
                           augmenter=augmenter, seed=seed, on_batch=on_batch, should_stop=should_stop,
                           batcher=batcher)


def featurize(config: TrainConfig, out_path: str | Path, *, workspace=None,
              on_event: Callable[[dict], None] | None = None) -> Path:
    """Write the bottleneck features of a dataset to one Parquet file (the columns of
    :data:`tlcore.feature_table.COLUMNS`) and its sidecar ``<file>.json``; ``--engine spark``
    runs the same on a cluster (:func:`tlcore.spark.featurize_spark`)."""
    from . import feature_table as table
    from .data import load_dataset
    from .model import build_classifier
    from .workspace import default_workspace

    workspace = workspace or default_workspace()
    config.validate()
    emit = on_event or (lambda event: None)
    dataset = load_dataset(config.data, val_fraction=config.val_fraction, seed=config.seed, workspace=workspace,
                           group_by=config.group_by, edits=config.edits)
    parts = build_classifier(config, len(dataset.classes))
    key = model_key(config, parts.image_size, parts.layer)
    cache = FeatureCache(workspace.cache_dir, key)
    plan = table.plan_rows(dataset)
    rows, counts = [], {}
    for split in table.SPLIT_ORDER:
        samples = dataset.split(split)
        if not samples:
            continue
        hashes = [dataset.content_hash(s.path) for s in samples]

        def on_batch(done, total, split=split):
            emit(ev.batch_event(f"features-{split}", done, total))

        # the training run's own cache key (seed included), so a later run reuses these features
        feats = cached_features(parts.extractor, cache, samples, hashes, parts.image_size, config.batch_size,
                                seed=config.seed, on_batch=on_batch)
        counts[split] = len(samples)
        rows.extend({**row, "features": vector} for row, vector in zip(
            (r for r in plan if r["split"] == split), feats))
    for row in rows:
        # Relative paths only: the table is downloadable, and an absolute path would name the
        # server's folders (and the workspace code in them).
        row.pop("abs_path")
    info = table.table_info(config, parts, dataset, feature_key=key, engine="local", counts=counts,
                            skipped=table.skipped_rows(dataset))
    return table.write_local(rows, out_path, info)


def featurize_on(engine: str, config: TrainConfig, out_path: str | Path, *, master: str | None = None,
                 partitions: int | None = None, workspace=None,
                 on_event: Callable[[dict], None] | None = None) -> Path:
    """:func:`featurize` on ``engine`` (one of :data:`ENGINES`): the same table either way."""
    from .errors import TLCoreError

    if engine not in ENGINES:
        raise TLCoreError(f"There is no featurize engine {engine!r}.", f"use one of: {', '.join(ENGINES)}.")
    if engine == "local":
        return featurize(config, out_path, workspace=workspace, on_event=on_event)
    from .spark import featurize_spark  # imports PySpark only when asked for

    return featurize_spark(config, out_path, master=master or "local[*]", partitions=partitions,
                           workspace=workspace, on_event=on_event)
