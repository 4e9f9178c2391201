"""Target 4: decode throughput: tlcore's loader vs ``keras.utils.image_dataset_from_directory``.

All hymenoptera photos (train/ and val/, ../shared/datasets/hymenoptera) are decoded and
resized to 224 x 224, alternating in one process:

* ours, streaming: ``tlcore.data.ImageBatches`` (what training reads), every batch in order;
* ours, all at once: ``tlcore.data.decode_all`` (what small passes use);
* keras: ``image_dataset_from_directory(..., image_size=(224, 224))`` with ``prefetch``, as the
  tutorials build it, iterated to the end and turned into numpy.

Both sides read exactly the same files (see ``common.hymenoptera_view``). One untimed pass
first fills the page cache, so no side pays for the disk. Reports images/s (median).

Usage: python bench/decode.py [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SIZE = 224
BATCH = 32


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds (default 4)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 4)

    common.setup_keras_home()
    data, skipped = common.hymenoptera_view()
    import keras

    from tlcore.data import ImageBatches, Sample, decode_all

    files = common.image_files(data)
    samples = [Sample(str(p), 0, "train") for p in files]
    n = len(files)
    print(f"decode: {n} hymenoptera photos to {SIZE} px, {repeats} rounds; {common.machine()}", flush=True)

    cpu = {"ImageBatches": [], "decode_all": [], "keras": []}

    def ours_stream() -> float:
        batches = ImageBatches(samples, SIZE, batch_size=BATCH)
        seconds, cpu_s, _ = common.cpu_timed(lambda: [batches[i] for i in range(len(batches))])
        cpu["ImageBatches"].append(cpu_s)
        return n / seconds

    def ours_all() -> float:
        seconds, cpu_s, _ = common.cpu_timed(decode_all, samples, SIZE)
        cpu["decode_all"].append(cpu_s)
        return n / seconds

    def keras_loader() -> float:
        def run():
            count = 0
            for split in ("train", "val"):
                ds = keras.utils.image_dataset_from_directory(
                    data / split, image_size=(SIZE, SIZE), batch_size=BATCH, shuffle=False, verbose=False)
                for x, _ in ds.prefetch(-1):  # -1 = tf.data.AUTOTUNE
                    count += len(x.numpy())
            return count

        seconds, cpu_s, count = common.cpu_timed(run)
        assert count == n, f"keras read {count} images, expected {n}"
        cpu["keras"].append(cpu_s)
        return n / seconds

    ours_all(), keras_loader()  # untimed: page cache, TensorFlow start-up
    for values in cpu.values():
        values.clear()
    rates = common.alternate({"ImageBatches": ours_stream, "decode_all": ours_all, "keras": keras_loader},
                             repeats, log=lambda s: print(s + " images/s", flush=True))
    stream, whole, ref = (common.median(rates[k]) for k in ("ImageBatches", "decode_all", "keras"))
    common.note("images per CPU-second (cross-check, insensitive to other jobs): " + ", ".join(
        f"{k} {n / common.median(v):.0f}" for k, v in cpu.items()))
    common.report("decode_imagebatches_vs_keras", f"{stream / ref:.2f}x ({stream:.0f} vs {ref:.0f} images/s)",
                  ">= 1.0x (no slower)", stream >= ref, ours=stream, keras=ref)
    common.report("decode_decode_all_vs_keras", f"{whole / ref:.2f}x ({whole:.0f} vs {ref:.0f} images/s)",
                  ">= 1.0x (no slower)", whole >= ref, ours=whole, keras=ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
