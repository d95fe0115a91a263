"""What a run records about where it ran: the accelerator and the versions that decide
whether it repeats, and the precision layers are built in."""

from __future__ import annotations

import contextlib
import os
import platform

import keras
import numpy as np


def accelerators() -> list[str]:
    """Model names of the GPUs Keras runs on, one per device; empty on a CPU."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [
            device.device_kind for device in jax.devices() if device.platform != "cpu"
        ]
    if backend == "tensorflow":
        import tensorflow as tf

        return [
            tf.config.experimental.get_device_details(gpu).get("device_name", "GPU")
            for gpu in tf.config.list_physical_devices("GPU")
        ]
    return []


def describe_device() -> str:
    """The accelerator Keras trains on, in words (or the CPU)."""
    if found := accelerators():
        return f"GPU: {found[0]} x{len(found)}"
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def versions() -> dict[str, str]:
    """Versions that decide whether a run repeats."""
    found = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "numpy": np.__version__,
    }
    if keras.backend.backend() == "jax":
        import jax

        found["jax"] = jax.__version__
    else:
        import tensorflow as tf

        found["tensorflow"] = tf.__version__
    return found


@contextlib.contextmanager
def dtype_policy(name: str | None):
    """Build layers under a mixed-precision policy, then restore the global one."""
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(name or "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
