"""Target 3: a tlcore fine-tuning epoch vs a bare ``model.fit`` of the same Keras model on arrays.

On hymenoptera (../shared/datasets/hymenoptera, 224 px, MobileNetV2 with ImageNet weights,
the top 30 layers unfrozen, batch 32), alternating in one process:

* ours, streaming: ``tlcore.train.train(TrainConfig(mode="fine-tune", epochs=1,
  fine_tune_epochs=K, feature_cache=False))``; the fine-tuning epochs' own ``seconds`` (from
  its epoch events: training plus validation, images decoded from the files every epoch by
  ``ImageBatches``) are the measurement: this is the data pipeline's cost;
* bare: the very Keras model that run fine-tuned (caught with an extra callback), compiled as
  tlcore left it, ``fit`` for K epochs on the same images decoded beforehand into uint8 arrays
  (``validation_data`` arrays too), no callbacks but a timer;
* ours, default: the same settings with the feature cache on (what users get): the frozen
  bottom's activations are computed once and only the top trains. Measured as the whole
  fine-tuning stage (computing the cached activations included) against K bare epochs.

The first epoch of each fit is dropped on both sides (graph tracing, and the feed warming
up). Rounds alternate ours, bare, bare, ours, ...; reports the median epoch time ratio
ours / bare.

Usage: python bench/fine_tune.py [--quick] [--repeats N] [--epochs K]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SIZE = 224
BATCH = 32


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 2 epochs per side (default 2 of 3)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (alternated)")
    parser.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs per fit (first is dropped)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 2)
    epochs = max(2, args.epochs or (2 if args.quick else 3))

    common.setup_keras_home()
    data, skipped = common.hymenoptera_view()
    import keras
    import numpy as np

    from tlcore.config import TrainConfig
    from tlcore.data import decode_all, load_dataset
    from tlcore.train import train
    from tlcore.workspace import Workspace

    workspace = Workspace(common.temp_dir("bench-ws-"))
    dataset = load_dataset(str(data), workspace=workspace)
    train_s, val_s = dataset.split("train"), dataset.split("val")
    n_classes = len(dataset.classes)
    x_train, x_val = decode_all(train_s, SIZE), decode_all(val_s, SIZE)
    y_train = np.eye(n_classes, dtype="float32")[[s.label for s in train_s]]
    y_val = np.eye(n_classes, dtype="float32")[[s.label for s in val_s]]
    print(f"fine-tune: hymenoptera {len(train_s)} train + {len(val_s)} val images, {SIZE} px, MobileNetV2 top 30 "
          f"layers, batch {BATCH}, {epochs} epochs per fit (first dropped), {repeats} round(s); {common.machine()}",
          flush=True)

    class Catch(keras.callbacks.Callback):
        """Keeps the model tlcore fits last (the fine-tuning one)."""

        model_seen = None

        def on_train_begin(self, logs=None):
            Catch.model_seen = self.model

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    ours_epochs: list[float] = []
    bare_epochs: list[float] = []

    fast_stage: list[float] = []

    def run(cache: bool) -> list[tuple[float, dict]]:
        events = []
        config = TrainConfig(data=str(data), mode="fine-tune", epochs=1, fine_tune_epochs=epochs, batch_size=BATCH,
                             early_stopping=False, image_size=SIZE, feature_cache=cache)
        train(config, workspace=Workspace(common.temp_dir("bench-ws-")) if cache else workspace, dataset=dataset,
              on_event=lambda e: events.append((time.perf_counter(), e)), callbacks=[] if cache else [Catch()])
        return events

    def ours() -> float:
        events = run(cache=False)
        seconds = [e["seconds"] for _, e in events if e.get("type") == "epoch" and e.get("stage") == "fine-tune"]
        ours_epochs.extend(seconds[1:])
        return common.median(seconds[1:])

    def ours_fast() -> float:
        # a fresh workspace each time: the cached activations are computed inside the measurement
        events = run(cache=True)
        start = next(t for t, e in events if e.get("type") == "stage" and e.get("stage") == "fine-tune")
        end = next(t for t, e in events if e.get("type") == "stage" and e.get("stage") == "evaluate")
        fast_stage.append(end - start)
        return end - start

    def bare() -> float:
        model = Catch.model_seen
        if keras.backend.backend() == "tensorflow":
            # TF traced the step for tlcore's generator feed; a fresh function takes arrays.
            model.make_train_function(force=True)
        timer = EpochTimer()
        model.fit(x_train, y_train, batch_size=BATCH, epochs=epochs, validation_data=(x_val, y_val), verbose=0,
                  callbacks=[timer])
        bare_epochs.extend(timer.seconds[1:])
        return common.median(timer.seconds[1:])

    # ours goes first: the bare side fits the model the latest tlcore run built.
    times = common.alternate({"ours": ours, "bare": bare, "ours_fast": ours_fast}, repeats)
    our, ref = common.median(ours_epochs), common.median(bare_epochs)
    common.note(f"epoch seconds, ours: {', '.join(f'{s:.1f}' for s in ours_epochs)}; "
                f"bare: {', '.join(f'{s:.1f}' for s in bare_epochs)}")
    ratio = our / ref
    common.report("fine_tune_epoch_vs_bare_fit", f"{ratio:.2f}x ({our:.1f} s vs {ref:.1f} s per epoch)",
                  "<= 1.15x", ratio <= 1.15, ours_s=our, bare_s=ref, rounds=times)
    fast = common.median(fast_stage) / (ref * epochs)
    common.report("fine_tune_default_stage_vs_bare_fit",
                  f"{fast:.2f}x ({common.median(fast_stage):.1f} s for {epochs} epochs incl. caching vs {ref * epochs:.1f} s)",
                  "<= 1.15x", fast <= 1.15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
