"""GPU target: fine-tuning throughput of tlcore's engine on JAX vs a plain PyTorch loop.

For each architecture (MobileNetV2, ResNet50; 224 px; mixed precision bf16) and batch size,
in the same call on the same GPU, on synthetic uint8 images held in memory:

* ours: ``KERAS_BACKEND=jax``; ``tlcore.model.build_classifier`` (uint8 in, resize and the
  backbone's preprocessing inside, frozen-BN base, pooled Dropout+Dense head) with the
  dtype policy ``tlcore.device.choose_precision_policy("auto")`` picks (``mixed_bfloat16``
  on Ampere and newer), ``tlcore.model.unfreeze_top`` over the whole base (every layer but
  BatchNormalization trainable, BN in inference mode), compiled the way ``tlcore.train`` does
  (Adam 1e-5, categorical cross-entropy, accuracy), then ``fit`` with tlcore's fine-tune
  callbacks (``ProgressEvents``, ``StopWhen``, ``BestWeights``) on a ``tlcore.data.ImageBatches``
  whose batches come from memory instead of files (one-hot labels, as tlcore.train feeds);
  also "keras bare": the same model's ``fit`` on numpy arrays with no callbacks, to show
  what tlcore's feed and callbacks cost;
* PyTorch: torchvision's model of the same architecture with the same head (Dropout 0.2 +
  Linear), BN frozen in eval mode, channels_last, bf16 autocast, cudnn.benchmark, fused Adam
  1e-5, pinned host batches copied with ``non_blocking=True``, loss and accuracy kept on the
  GPU (no per-step sync).

Each side runs in its own process (JAX and PyTorch each want the GPU's memory), warms up
(compilation, cudnn autotuning) and then times ``--repeats`` epochs of ``--steps`` steps;
images/s is the median. Without a GPU it prints "skipped: no GPU here".

Run on a GPU machine with Keras importable (tlcore needs no TensorFlow on this path)::

    python bench/gpu.py [--models MobileNetV2,ResNet50] [--batch-sizes 64] [--steps 60] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

NUM_CLASSES = 10
SIZE = 224
POOL_BATCHES = 8  # distinct synthetic batches, cycled (random data, never zeros)


def _synthetic(batch: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (POOL_BATCHES, batch, SIZE, SIZE, 3), dtype=np.uint8)
    labels = rng.integers(0, NUM_CLASSES, (POOL_BATCHES, batch))
    return images, labels


def _emit(result: dict) -> None:
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------- ours: tlcore on Keras/JAX


def keras_worker(model_name: str, batch: int, steps: int, repeats: int, diagnose: bool = False) -> None:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    import numpy as np

    from tlcore.callbacks import BestWeights, ProgressEvents, StopWhen
    from tlcore.config import TrainConfig
    from tlcore.data import ImageBatches, Sample
    from tlcore.device import choose_precision_policy, device_info
    from tlcore.model import build_classifier, count_params, unfreeze_top
    from tlcore.train.fitting import compile_model as _compile

    config = TrainConfig(backbone=model_name, weights="none", image_size=SIZE, mode="fine-tune", batch_size=batch,
                         mixed_precision="auto")
    policy = choose_precision_policy(config.mixed_precision)
    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    parts = build_classifier(config, NUM_CLASSES)
    unfreeze_top(parts.base, len(parts.base.layers))
    _compile(parts.train_model, config, config.fine_tune_learning_rate)
    trainable, frozen = count_params(parts.model)
    pool, pool_labels = _synthetic(batch)
    onehot = np.eye(NUM_CLASSES, dtype="float32")[pool_labels]

    class MemoryBatches(ImageBatches):
        """tlcore's ImageBatches (same PyDataset workers and queue), batches from memory."""

        def __init__(self, n_steps):
            samples = [Sample(f"memory-{i}", int(pool_labels.flat[i % pool_labels.size]), "train")
                       for i in range(n_steps * batch)]
            super().__init__(samples, SIZE, batch_size=batch, num_classes=NUM_CLASSES)

        def __getitem__(self, index):
            return pool[index % POOL_BATCHES], onehot[index % POOL_BATCHES]

    def callbacks(n_steps):
        return [ProgressEvents(lambda event: None, "fine-tune", 1, n_steps, batch, n_steps * batch),
                StopWhen(lambda: False), BestWeights(parts.model, "val_loss", None)]

    model = parts.train_model
    t0 = time.perf_counter()
    model.fit(MemoryBatches(3), epochs=1, verbose=0, callbacks=callbacks(3))  # compile
    compile_s = time.perf_counter() - t0
    reps = steps // POOL_BATCHES + 1
    x_bare = np.concatenate([pool.reshape(-1, SIZE, SIZE, 3)] * reps)[: steps * batch]
    y_bare = np.concatenate([onehot.reshape(-1, NUM_CLASSES)] * reps)[: steps * batch]
    fresh_step = keras.backend.backend() == "tensorflow"  # (CPU smoke test) TF's traced step takes one feed
    if fresh_step:
        model.make_train_function(force=True)
    model.fit(x_bare[: 2 * batch], y_bare[: 2 * batch], batch_size=batch, epochs=1, verbose=0, shuffle=False)

    def tlcore_epoch():
        ds = MemoryBatches(steps)
        if fresh_step:
            model.make_train_function(force=True)
        start = time.perf_counter()
        model.fit(ds, epochs=1, verbose=0, callbacks=callbacks(steps))
        return steps * batch / (time.perf_counter() - start)

    def bare_epoch():
        if fresh_step:
            model.make_train_function(force=True)
        start = time.perf_counter()
        model.fit(x_bare, y_bare, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        return steps * batch / (time.perf_counter() - start)

    sides = {"tlcore": tlcore_epoch, "bare": bare_epoch}
    if diagnose:
        # Which part of the gap between tlcore's fit and a bare fit comes from the feed and
        # which from the callbacks (a callback with on_train_batch_end that is not
        # ``async_safe`` makes Keras pull every step's logs to the host: one sync per step).
        def variant(feed, cbs):
            def epoch():
                ds = MemoryBatches(steps) if feed == "pydataset" else None
                if fresh_step:
                    model.make_train_function(force=True)
                start = time.perf_counter()
                if ds is not None:
                    model.fit(ds, epochs=1, verbose=0, callbacks=cbs())
                else:
                    model.fit(x_bare, y_bare, batch_size=batch, epochs=1, verbose=0, shuffle=False, callbacks=cbs())
                return steps * batch / (time.perf_counter() - start)
            return epoch

        def async_callbacks():
            cbs = callbacks(steps)
            for cb in cbs:
                cb.async_safe = True
            return cbs

        sides["pydataset_no_callbacks"] = variant("pydataset", lambda: [])
        sides["numpy_tlcore_callbacks"] = variant("numpy", lambda: callbacks(steps))
        sides["tlcore_async_callbacks"] = variant("pydataset", async_callbacks)
    rates = common.alternate(sides, repeats, log=lambda s: None)
    info = device_info()
    _emit({"side": "keras", "model": model_name, "batch": batch, "policy": policy, "device": info["name"],
           "backend": keras.backend.backend(), "keras": keras.__version__, "compile_s": compile_s,
           "images_per_s": common.median(rates["tlcore"]), "bare_images_per_s": common.median(rates["bare"]),
           "all_tlcore": rates["tlcore"], "all_bare": rates["bare"], "trainable_params": trainable,
           "frozen_params": frozen, "tensorflow_imported": "tensorflow" in sys.modules,
           "diagnose": {k: common.median(v) for k, v in rates.items()}})


# ---------------------------------------------------------------- baseline: plain PyTorch


def torch_worker(model_name: str, batch: int, steps: int, repeats: int, compile_model: bool = False) -> None:
    import torch
    import torch.nn.functional as F
    import torchvision

    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda")
    if model_name == "MobileNetV2":
        net = torchvision.models.mobilenet_v2(num_classes=NUM_CLASSES, dropout=0.2)
        mean, std = [0.5] * 3, [0.5] * 3  # the "tf" scaling x/127.5 - 1, as tlcore's MobileNetV2
    elif model_name == "ResNet50":
        net = torchvision.models.resnet50()
        net.fc = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(net.fc.in_features, NUM_CLASSES))
        mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    else:
        raise SystemExit(f"no torchvision twin for {model_name}")
    net = net.to(device).to(memory_format=torch.channels_last)
    net.train()
    for module in net.modules():  # BN frozen, in inference mode, like tlcore's fine-tuning
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
            for p in module.parameters():
                p.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    frozen = sum(p.numel() for p in net.parameters() if not p.requires_grad)
    optimizer = torch.optim.Adam(params, lr=1e-5, fused=True)
    step_fn = torch.compile(net) if compile_model else net
    mean_t = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255
    std_t = torch.tensor(std, device=device).view(1, 3, 1, 1) * 255

    pool, pool_labels = _synthetic(batch)
    host_x = torch.from_numpy(pool).pin_memory()  # (P, B, H, W, C) uint8: NHWC, as tlcore feeds
    host_y = torch.from_numpy(pool_labels).long().pin_memory()

    def run(n_steps):
        correct = torch.zeros((), device=device, dtype=torch.long)
        total_loss = torch.zeros((), device=device)
        for i in range(n_steps):
            x = host_x[i % POOL_BATCHES].to(device, non_blocking=True)
            y = host_y[i % POOL_BATCHES].to(device, non_blocking=True)
            x = x.permute(0, 3, 1, 2).float()  # NCHW view of NHWC memory = channels_last
            x = (x - mean_t) / std_t
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = step_fn(x)
            loss = F.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.detach()
            correct += (logits.argmax(1) == y).sum()
        torch.cuda.synchronize()
        return float(total_loss), int(correct)

    t0 = time.perf_counter()
    run(15)  # cudnn autotuning, allocator warm-up (and compilation with --torch-compile)
    compile_s = time.perf_counter() - t0

    def epoch():
        torch.cuda.synchronize()
        start = time.perf_counter()
        run(steps)
        return steps * batch / (time.perf_counter() - start)

    rates = [epoch() for _ in range(repeats)]
    _emit({"side": "torch-compile" if compile_model else "torch", "model": model_name, "batch": batch,
           "device": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "torchvision": torchvision.__version__, "compile_s": compile_s, "images_per_s": common.median(rates),
           "all": rates, "trainable_params": trainable, "frozen_params": frozen})


# ---------------------------------------------------------------- orchestration


def gpu_present() -> bool:
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
            return out.returncode == 0 and "GPU" in out.stdout
        except (OSError, subprocess.SubprocessError):
            return False
    return False


def _run_worker(args: list[str], env: dict) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    results = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not results:
        print(f"  worker {' '.join(args)} failed (exit {proc.returncode}):\n" + proc.stderr[-4000:], flush=True)
        return None
    return results[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--models", default="MobileNetV2,ResNet50")
    parser.add_argument("--batch-sizes", default="64")
    parser.add_argument("--steps", type=int, default=None, help="steps per timed epoch (default 60; quick 30)")
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs per side (default 5; quick 3)")
    parser.add_argument("--torch-compile", action="store_true", help="also time torch.compile (information only)")
    parser.add_argument("--diagnose", action="store_true",
                        help="also time tlcore's feed and callbacks separately, and callbacks marked async_safe")
    parser.add_argument("--worker", choices=["keras", "torch", "torch-compile"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    steps = args.steps or (30 if args.quick else 60)
    repeats = args.repeats or (3 if args.quick else 5)

    if args.worker == "keras":
        keras_worker(args.model, args.batch, steps, repeats, diagnose=args.diagnose)
        return 0
    if args.worker in ("torch", "torch-compile"):
        torch_worker(args.model, args.batch, steps, repeats, compile_model=args.worker == "torch-compile")
        return 0

    if not gpu_present():
        common.report("gpu_finetune_throughput", "skipped: no GPU here", ">= 0.9x PyTorch", None)
        return 0
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(common.REPO), env.get("PYTHONPATH", "")) if p)
    print(f"gpu: {steps} steps x {repeats} timed epochs per side, {NUM_CLASSES} classes, {SIZE} px", flush=True)
    status = 0
    for model_name in args.models.split(","):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            common_args = ["--model", model_name, "--batch", str(batch), "--steps", str(steps),
                           "--repeats", str(repeats)]
            ours = _run_worker(["--worker", "keras", *common_args] + (["--diagnose"] if args.diagnose else []), env)
            torch_r = _run_worker(["--worker", "torch", *common_args], env)
            compiled = _run_worker(["--worker", "torch-compile", *common_args], env) if args.torch_compile else None
            for r in (ours, torch_r, compiled):
                if r:
                    print("  " + json.dumps(r), flush=True)
            name = f"gpu_finetune_{model_name}_bs{batch}"
            if not ours or not torch_r:
                common.report(name, "failed (see above)", ">= 0.9x PyTorch", False)
                status = 1
                continue
            ratio = ours["images_per_s"] / torch_r["images_per_s"]
            common.note(f"{model_name} bs {batch}: keras bare fit {ours['bare_images_per_s']:.0f} images/s "
                        f"({ours['bare_images_per_s'] / torch_r['images_per_s']:.2f}x PyTorch); "
                        f"policy {ours['policy']}; TensorFlow imported: {ours['tensorflow_imported']}"
                        + (f"; torch.compile {compiled['images_per_s']:.0f} images/s" if compiled else "")
                        + (f"; variants (images/s): {json.dumps({k: round(v) for k, v in ours['diagnose'].items()})}"
                           if args.diagnose else ""))
            common.report(name, f"{ratio:.2f}x PyTorch ({ours['images_per_s']:.0f} vs "
                          f"{torch_r['images_per_s']:.0f} images/s, {ours['device']})", ">= 0.9x PyTorch",
                          ratio >= 0.9, ours=ours, torch=torch_r)
    return status


if __name__ == "__main__":
    sys.exit(main())
