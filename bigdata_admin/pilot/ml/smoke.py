"""Accelerator smoke test for the Keras backend in use: devices, a matrix multiply, one training step.

`python -m smartcar_ml smoke [--require-gpu]` prints one JSON object:
{"backend", "devices", "gpu": bool, "matmul_s", "matmul_ok", "train_step_s", "loss"} and exits 1 when
`--require-gpu` is given and the backend sees no GPU (or a step fails).
"""

from __future__ import annotations

import time
from typing import Any


def gpu_devices() -> list[str]:
    """Names of the GPUs the current Keras backend can use (empty on CPU)."""
    import keras

    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform in ("gpu", "cuda", "rocm")]
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    return []


def matmul(n: int = 2048, device: str | None = None) -> tuple[float, bool]:
    """Time an n x n float32 matrix multiply (second run, after warm-up); check it against numpy."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    with keras.device(device or ("gpu:0" if gpu_devices() else "cpu:0")):
        ta, tb = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)
        keras.ops.convert_to_numpy(keras.ops.matmul(ta, tb))
        t0 = time.perf_counter()
        c = keras.ops.convert_to_numpy(keras.ops.matmul(ta, tb))
        seconds = time.perf_counter() - t0
    ok = bool(np.allclose(c[:8, :8], a[:8] @ b[:, :8], rtol=1e-2, atol=1e-1))
    return seconds, ok


def train_step_time(device: str, batch: int = 2000, steps: int = 20) -> tuple[float, float]:
    """Mean seconds per training step of the accident-risk network on `device`; and the last loss."""
    import keras
    import numpy as np

    from .accident import CLASSES, FEATURES, build_model

    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (batch, len(FEATURES))).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, CLASSES, batch), CLASSES)
    with keras.device(device):
        model = build_model()
        loss = model.train_on_batch(x, y)  # compiles
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = model.train_on_batch(x, y)
        seconds = (time.perf_counter() - t0) / steps
    first = loss[0] if isinstance(loss, (list, tuple)) else loss
    return seconds, float(first)


def run(require_gpu: bool = False) -> tuple[dict[str, Any], bool]:
    import keras

    gpus = gpu_devices()
    device = "gpu:0" if gpus else "cpu:0"
    matmul_s, matmul_ok = matmul(1024, device)
    step_s, loss = train_step_time(device, steps=3)
    report = {"backend": keras.backend.backend(), "devices": gpus or ["cpu"], "gpu": bool(gpus),
              "device": device, "matmul_s": round(matmul_s, 6), "matmul_ok": matmul_ok,
              "train_step_s": round(step_s, 6), "loss": loss}
    ok = matmul_ok and loss == loss and (bool(gpus) or not require_gpu)
    return report, ok
