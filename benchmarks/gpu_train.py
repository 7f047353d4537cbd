"""GPU smoke and a training step of the accident-risk network on the GPU against the CPU.

    KERAS_BACKEND=torch python benchmarks/gpu_train.py [--batch 2000] [--steps 50] [--cpu-only]

For a machine with an NVIDIA GPU (e.g. the gpu_worker, in /opt/bigdata/smartcar/venv:
`KERAS_BACKEND=torch PYTHONPATH=/opt/bigdata/smartcar/app python -m ...`, or any venv with torch+CUDA
or jax[cuda12] and keras). Steps:

1. `nvidia-smi` (driver, GPU names); exits 1 when it is missing or fails, unless --cpu-only;
2. the backend smoke test: the GPUs the Keras backend sees, an n x n matrix multiply on the GPU
   checked against numpy, one training step;
3. seconds per training step (batch 2000 as in the book) on cpu:0 and gpu:0, and the speed-up;
   a 4096 x 4096 matrix multiply on each.

Backend-neutral: the model code is Keras 3; KERAS_BACKEND picks torch, jax or tensorflow.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=2000)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--cpu-only", action="store_true", help="no GPU expected: time the CPU only")
    a = p.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        from smartcar_ml import smoke  # on the GPU worker
    except ImportError:
        from bigdata_admin.pilot.ml import smoke
    import keras

    print(f"backend        {keras.backend.backend()} (keras {keras.__version__})")
    if not a.cpu_only:
        smi = shutil.which("nvidia-smi")
        if smi is None:
            print("error: nvidia-smi not found: no NVIDIA driver on this machine", file=sys.stderr)
            return 1
        out = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"error: nvidia-smi failed: {(out.stdout + out.stderr).strip()}", file=sys.stderr)
            return 1
        print(f"nvidia-smi     {out.stdout.strip()}")
    report, ok = smoke.run(require_gpu=not a.cpu_only)
    print(f"smoke          {json.dumps(report)}")
    if not ok:
        print("error: the smoke test failed (no GPU visible to the backend, or a wrong result)",
              file=sys.stderr)
        return 1
    devices = ["cpu:0"] + ([] if a.cpu_only else ["gpu:0"])
    step: dict[str, float] = {}
    for dev in devices:
        seconds, loss = smoke.train_step_time(dev, batch=a.batch, steps=a.steps)
        mm, mm_ok = smoke.matmul(4096, dev)
        step[dev] = seconds
        print(f"{dev:<14} train step {seconds * 1000:.2f} ms (batch {a.batch}, mean of {a.steps}, "
              f"loss {loss:.3f}); matmul 4096² {mm * 1000:.1f} ms ({'ok' if mm_ok else 'WRONG'})")
    if "gpu:0" in step:
        print(f"speed-up       train step x{step['cpu:0'] / step['gpu:0']:.1f} on the GPU")
    print(f"load           {Path('/proc/loadavg').read_text().strip()} (cores: {os.cpu_count()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
