"""`python -m smartcar_ml train|serve|smoke` (on the GPU worker), also `python -m bigdata_admin.pilot.ml`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="smartcar_ml", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the accident-risk network on a CarDrivingIncidentInfo.csv")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--models", type=Path, required=True, help="models root (versions under accident-risk/)")
    t.add_argument("--epochs", type=int, default=50)
    t.add_argument("--batch-size", type=int, default=2000)
    t.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("serve", help="serve the newest version over HTTP (uvicorn)")
    s.add_argument("--models", type=Path, required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=9001)
    k = sub.add_parser("smoke", help="devices, a matrix multiply and one training step; JSON on stdout")
    k.add_argument("--require-gpu", action="store_true")
    a = p.parse_args(argv)
    if a.cmd == "train":
        from . import accident

        try:
            x, y = accident.load_csv(a.data)
            version, directory, metrics = accident.train(x, y, a.models, epochs=a.epochs,
                                                         batch_size=a.batch_size, seed=a.seed)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps({"version": version, "directory": str(directory), **metrics}))
        return 0
    if a.cmd == "serve":
        from . import serve

        serve.run(a.models, a.host, a.port)
        return 0
    from . import smoke

    report, ok = smoke.run(require_gpu=a.require_gpu)
    print(json.dumps(report))
    if not ok:
        print("error: " + ("no GPU visible to the " + report["backend"] + " backend" if not report["gpu"]
                           else "the smoke test failed"), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
