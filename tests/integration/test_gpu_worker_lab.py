"""The GPU worker role for real on the main job's lab (session fixture `main_lab`, which deploys it in
CPU mode, `gpu_worker_allow_cpu: true`): the accident-risk network trained there (by the main job's
`pilot run`, step ml; else here, action train), then real HTTP requests against the service.

The wheels come from the control host (`pip download` into the artifact cache, served by the lab's
relay): the lab hosts have no internet. Needs root and systemd-nspawn (the `lab` fixture), and PyPI
on the control host for the first run.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import inventory, paths
from bigdata_admin.pilot import generate as gen

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

ACCURACY_BAND = 0.90  # 20,000 generated rows, 50 epochs: 0.97 measured on this machine


def _http(method: str, url: str, body: Any = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), dict(e.headers)


@pytest.fixture(scope="module")
def worker(main_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from bigdata_admin.runner import run_playbook

    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    inv = Path(main_lab["inventory"])
    cluster = inventory.load(inv)
    node = cluster.first("gpu_worker")
    assert node is not None, "the main job's lab has no gpu_worker host"
    assert node.var("gpu_worker_allow_cpu", cluster.var("gpu_worker_allow_cpu", False)), "lab runs CPU mode"
    port = int(cluster.var("gpu_worker_api_port", 9001))
    address = node.var("ansible_host", node.name)
    served = {"inv": inv, "host": node.name, "base": f"http://{address}:{port}"}
    # The main job's `pilot run` trained and served the network already (step ml): test that model,
    # on the rows it was trained on, rather than train another.
    pilot = paths.state_dir() / "pilot" / f"lab-{os.environ.get('BIGDATA_MAIN_LAB_NAME', 'main')}" / "data"
    try:
        ml_done = json.loads((pilot / "run.json").read_text())["steps"]["ml"]["status"] == "done"
    except (OSError, ValueError, KeyError):
        ml_done = False
    if ml_done and main_lab["out"] != "reused":
        return {**served, "data": pilot / "CarDrivingIncidentInfo.csv"}
    data = tmp_path_factory.mktemp("gpu-worker") / "CarDrivingIncidentInfo.csv"
    data.write_bytes(b"".join(gen.incident_chunks(7, 20_000)))
    train = run_playbook(paths.playbook("services/gpu_worker"), inv, label="test-gpu-worker-train",
                         show_progress=False,
                         extravars={"bigdata_action": "train", "gpu_worker_train_file": str(data)})
    assert train.rc == 0, "\n".join(f"{f.host} | {f.task} | {f.message}" for f in train.failures)
    return {**served, "data": data}


def test_health_reports_a_trained_version(worker: dict[str, Any]) -> None:
    status, body, headers = _http("GET", worker["base"] + "/health")
    assert status == 200, body
    assert body["status"] == "ok" and body["backend"] == "jax"
    assert body["model_version"].startswith("v") and headers["x-model-version"] == body["model_version"]
    assert body["accuracy"] >= ACCURACY_BAND


def test_predictions_match_the_planted_label(worker: dict[str, Any]) -> None:
    lines = worker["data"].read_text().splitlines()[1:301]
    right = 0
    for i, line in enumerate(lines):
        values = [int(v) for v in line.split(",")]
        names = list(gen.INCIDENT_FEATURES)
        if i % 2:  # every other request with the book's parameter names
            names = [{"arrCar": "arrOthCar", "timeSlot": "time"}.get(n, n) for n in names]
        status, body, _ = _http("POST", worker["base"] + "/smartcar/predict", dict(zip(names, values[:10],
                                                                                     strict=True)))
        assert status == 200, body
        assert body["model_version"].startswith("v")
        right += body["prediction"] == values[10]
    assert right / len(lines) >= ACCURACY_BAND


def test_bad_input_is_422_naming_the_field(worker: dict[str, Any]) -> None:
    good = dict.fromkeys(gen.INCIDENT_FEATURES, 1)
    for bad, field in (({**good, "wea": 3}, "wea"), ({**good, "hum": "1"}, "hum"),
                       ({k: v for k, v in good.items() if k != "carSpd"}, "carSpd"),
                       ({**good, "speed": 1}, "speed")):
        status, body, _ = _http("POST", worker["base"] + "/smartcar/predict", bad)
        assert status == 422, body
        assert field in [d["field"] for d in body["detail"]]
        assert body["model_version"].startswith("v")


def test_openapi_docs_and_systemd(worker: dict[str, Any]) -> None:
    status, spec, _ = _http("GET", worker["base"] + "/openapi.json")
    assert status == 200 and "/smartcar/predict" in spec["paths"]
    with urllib.request.urlopen(worker["base"] + "/docs", timeout=30) as r:
        assert r.status == 200 and b"swagger" in r.read().lower()
    from bigdata_admin.health.status import collect

    report = collect(inventory.load(worker["inv"]))
    rows = [r for r in report.rows if r.group == "gpu_worker"]
    assert rows and all(r.systemd == "active" and r.port_open for r in rows), [(r.systemd, r.problem)
                                                                                 for r in rows]
