"""Which device training runs on, and whether mixed precision pays off there."""

from __future__ import annotations

import functools
import os
import platform


@functools.lru_cache(maxsize=1)
def device_info() -> dict:
    """``{"backend", "kind": "GPU"|"CPU", "name", "mixed_precision": policy or None}``."""
    import keras

    backend = keras.backend.backend()
    name, kind, capability = None, "CPU", None
    try:
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            if gpus:
                kind, name = "GPU", getattr(gpus[0], "device_kind", "GPU")
                cc = getattr(gpus[0], "compute_capability", None)
                capability = float(cc) if cc else None
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                kind, name = "GPU", details.get("device_name", "GPU")
                cc = details.get("compute_capability")
                capability = float(f"{cc[0]}.{cc[1]}") if cc else None
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                kind, name = "GPU", torch.cuda.get_device_name(0)
                major, minor = torch.cuda.get_device_capability(0)
                capability = float(f"{major}.{minor}")
    except Exception:  # a broken driver must not stop the app: fall back to the CPU
        kind, name = "CPU", None
    if kind == "CPU":
        name = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    policy = None
    if kind == "GPU":
        # bfloat16 needs no loss scaling and is fast from Ampere (8.0) on; older GPUs use float16.
        policy = "mixed_bfloat16" if (capability or 0) >= 8.0 else "mixed_float16"
    return {"backend": backend, "kind": kind, "name": name, "mixed_precision": policy}


def describe_device() -> str:
    info = device_info()
    text = f"{info['kind']}: {info['name']}"
    return text + (f" (mixed precision {info['mixed_precision']})" if info["mixed_precision"] else "")


def choose_precision_policy(setting: str) -> str:
    """The Keras dtype policy for a ``mixed_precision`` setting of "auto", "on" or "off"."""
    info = device_info()
    if setting == "off":
        return "float32"
    if setting == "on":
        return info["mixed_precision"] or "mixed_bfloat16"
    return info["mixed_precision"] or "float32"
