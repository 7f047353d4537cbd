"""Requests per second and latency (p50, p99) of the accident-risk REST API.

    python benchmarks/serve.py [--url http://HOST:9001] [--requests 2000] [--concurrency 8]

Without --url it trains a model on 20,000 generated rows (Keras 3 on JAX, CPU) and starts the API
here under uvicorn (as systemd runs it on the GPU worker). Requests are real HTTP POSTs of random
driving states to /smartcar/predict from `--concurrency` threads, each with its own keep-alive
connection. Prints the machine load (/proc/loadavg) beside the figures: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bigdata_admin.pilot import generate as gen
from bigdata_admin.pilot.localspark import free_port


def start_local(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from bigdata_admin.pilot.ml import accident

    csv = tmp / "incident.csv"
    csv.write_bytes(b"".join(gen.incident_chunks(1, 20_000)))
    x, y = accident.load_csv(csv)
    accident.train(x, y, tmp / "models", epochs=50)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bigdata_admin.pilot.ml", "serve", "--models",
                             str(tmp / "models"), "--port", str(port)],
                            env=dict(os.environ, KERAS_BACKEND="jax"),
                            stdout=subprocess.DEVNULL, stderr=(tmp / "server.log").open("wb"))
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the API did not start")


def run(base: str, requests: int, concurrency: int) -> tuple[float, list[float], int]:
    import random

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per = requests // concurrency

    def worker(seed: int) -> None:
        nonlocal errors
        rnd = random.Random(seed)
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=base, timeout=30) as c:
            for _ in range(per):
                body = {f: rnd.randint(0, 2) for f in gen.INCIDENT_FEATURES}
                t0 = time.perf_counter()
                r = c.post("/smartcar/predict", json=body)
                mine.append(time.perf_counter() - t0)
                bad += r.status_code != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    with httpx.Client(base_url=base) as c:  # warm-up
        for _ in range(20):
            c.post("/smartcar/predict", json=dict.fromkeys(gen.INCIDENT_FEATURES, 1))
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, errors


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="an API already running (e.g. the GPU worker's http://HOST:9001)")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    a = p.parse_args()
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        if a.url:
            base = a.url.rstrip("/")
        else:
            proc, base = start_local(Path(tmp))
        try:
            elapsed, lat, errors = run(base, a.requests, a.concurrency)
        except Exception:
            if proc:
                print((Path(tmp) / "server.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            if proc:
                proc.terminate()
                proc.wait(10)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"API            {base}/smartcar/predict ({'local uvicorn, JAX CPU' if proc else 'remote'})")
    print(f"requests       {len(lat)} ({a.concurrency} concurrent clients), errors {errors}")
    print(f"throughput     {len(lat) / elapsed:.0f} requests/s")
    print(f"latency        p50 {statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(f"load           {Path('/proc/loadavg').read_text().strip()} (cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
