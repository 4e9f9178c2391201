"""Targets 1 and 2: tlcore's feature-extraction run vs the tutorial loop, and the warm-cache rerun.

Both sides train a frozen MobileNetV2 (the same ImageNet weights, 160 px) with the same head
(GlobalAveragePooling + Dropout 0.2 + Dense softmax, Adam 1e-3) for 10 epochs on hymenoptera
(../shared/datasets/hymenoptera, train/ and val/), in this process, alternating:

* tutorial: the keras-io / TensorFlow tutorial way: ``keras.utils.image_dataset_from_directory``
  (+ ``prefetch``), the frozen base called with ``training=False`` inside the model, and
  ``model.fit`` on the images every epoch;
* ours: ``tlcore.train.train(TrainConfig(data=..., image_size=160, epochs=10,
  early_stopping=False))`` in a fresh workspace (so its feature cache starts empty);
* floor: one plain ``model.predict`` over the same images through the tutorial's input
  pipeline (decode + resize + one forward pass, model already built), the least any run must do;
* rerun: a second ``train`` with another head setting (learning rate 5e-4, dropout 0.3,
  15 epochs) in the same workspace, i.e. on the cached features.

Both sides load the 224-px ImageNet weights and copy them into a 160-px model (Keras keeps
one weight file per input size and this machine is offline; the weights do not depend on
the input size).

Usage: python bench/feature_extraction.py [--quick] [--repeats N] [--epochs N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

IMAGE_SIZE = 160
BATCH = 32


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round of each side (default: 2)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds of each side (alternated)")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 2)

    common.setup_keras_home()
    data, skipped = common.hymenoptera_view()

    import keras
    import numpy as np

    from tlcore.config import TrainConfig
    from tlcore.train import train
    from tlcore.workspace import Workspace

    AUTOTUNE = -1  # tf.data.AUTOTUNE; the tutorial's prefetch(buffer_size=AUTOTUNE)
    n_images = len(common.image_files(data))
    print(f"feature extraction: hymenoptera, {n_images} images ({', '.join(skipped)} skipped on both sides), "
          f"{IMAGE_SIZE} px, {args.epochs} epochs, {repeats} round(s); {common.machine()}", flush=True)

    def mobilenet_160():
        native = keras.applications.MobileNetV2(input_shape=(224, 224, 3), include_top=False, weights="imagenet")
        base = keras.applications.MobileNetV2(input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), include_top=False,
                                              weights=None)
        base.set_weights(native.get_weights())
        return base

    def tutorial_model():
        base = mobilenet_160()
        base.trainable = False
        inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1)(inputs)  # = mobilenet_v2.preprocess_input
        x = base(x, training=False)
        x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dropout(0.2)(x)
        outputs = keras.layers.Dense(2, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    def image_ds(split, shuffle):
        return keras.utils.image_dataset_from_directory(
            data / split, shuffle=shuffle, seed=42, batch_size=BATCH, image_size=(IMAGE_SIZE, IMAGE_SIZE),
            verbose=False).prefetch(AUTOTUNE)

    accuracies = {"tutorial": [], "ours": []}
    cpu = {"tutorial": [], "ours": [], "floor": []}
    rerun_seconds = []
    first_seconds = []

    def tutorial() -> float:
        keras.utils.set_random_seed(42)
        seconds, cpu_s, history = common.cpu_timed(lambda: tutorial_model().fit(
            image_ds("train", True), validation_data=image_ds("val", False), epochs=args.epochs, verbose=0))
        cpu["tutorial"].append(cpu_s)
        accuracies["tutorial"].append(history.history["val_accuracy"][-1])
        return seconds

    def ours() -> float:
        workspace = Workspace(common.temp_dir("bench-ws-"))
        config = TrainConfig(data=str(data), image_size=IMAGE_SIZE, epochs=args.epochs, early_stopping=False,
                             batch_size=BATCH, learning_rate=1e-3, dropout=0.2, optimizer="adam")
        seconds, cpu_s, result = common.cpu_timed(train, config, workspace=workspace)
        cpu["ours"].append(cpu_s)
        accuracies["ours"].append(result.evaluation["accuracy"])
        first_seconds.append(seconds)
        # Target 2: another head setting on the warm feature cache.
        again = TrainConfig(data=str(data), image_size=IMAGE_SIZE, epochs=15, early_stopping=False,
                            batch_size=BATCH, learning_rate=5e-4, dropout=0.3, optimizer="adam")
        rerun, result2 = common.timed(train, again, workspace=workspace)
        if result2.feature_cache_misses:
            common.note(f"rerun missed the feature cache {result2.feature_cache_misses} time(s)")
        rerun_seconds.append(rerun)
        return seconds

    floor_model = tutorial_model()
    floor_model.predict(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3), "float32"), verbose=0)  # build predict_function

    def floor() -> float:
        def one_pass():
            for split in ("train", "val"):
                floor_model.predict(image_ds(split, False), verbose=0)
        seconds, cpu_s, _ = common.cpu_timed(one_pass)
        cpu["floor"].append(cpu_s)
        return seconds

    # Untimed warm-up of TensorFlow's own start-up (thread pools, kernels) so neither side pays it.
    floor()
    cpu["floor"].clear()
    times = common.alternate({"tutorial": tutorial, "ours": ours, "floor": floor}, repeats)

    tut, our, flo = (common.median(times[k]) for k in ("tutorial", "ours", "floor"))
    acc_t, acc_o = common.median(accuracies["tutorial"]), common.median(accuracies["ours"])
    rerun = common.median(rerun_seconds)
    common.note(f"medians: tutorial {tut:.1f} s, ours {our:.1f} s, one forward pass {flo:.1f} s, "
                f"rerun on cached features {rerun:.2f} s")
    c_tut, c_our, c_flo = (common.median(cpu[k]) for k in ("tutorial", "ours", "floor"))
    common.note(f"CPU-time cross-check: ours/tutorial {c_our / c_tut:.3f}, ours/forward pass {c_our / c_flo:.2f} "
                f"(CPU s: tutorial {c_tut:.0f}, ours {c_our:.0f}, forward pass {c_flo:.0f})")
    ratio = our / tut
    same_acc = abs(acc_o - acc_t) <= 0.02
    common.report("feature_extraction_vs_tutorial", f"{ratio:.3f}x wall time ({our:.1f} s vs {tut:.1f} s; "
                  f"val acc {acc_o:.1%} vs {acc_t:.1%})", "<= 0.2x at val acc within 2 points",
                  ratio <= 0.2 and same_acc, ours_s=our, tutorial_s=tut, ours_acc=acc_o, tutorial_acc=acc_t)
    common.report("feature_extraction_vs_forward_pass", f"{our / flo:.2f}x ({our:.1f} s vs {flo:.1f} s)",
                  "<= 1.3x", our / flo <= 1.3, ours_s=our, floor_s=flo)
    pct = 100 * rerun / common.median(first_seconds)
    common.report("second_run_on_cached_features", f"{pct:.1f}% of the first run ({rerun:.2f} s)", "< 5%",
                  pct < 5, rerun_s=rerun)
    return 0


if __name__ == "__main__":
    sys.exit(main())
