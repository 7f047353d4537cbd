"""The accident-risk REST API for real: a uvicorn server started by the test (a subprocess, as
systemd runs it), real HTTP requests (httpx) with good and bad input, a model trained on generated data.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("keras")
httpx = pytest.importorskip("httpx")

from bigdata_admin.pilot import generate as gen  # noqa: E402
from bigdata_admin.pilot.localspark import free_port  # noqa: E402

pytestmark = [pytest.mark.integration]

BOOK_EXAMPLE = {"wea": 2, "temp": 0, "hum": 1, "arrOthCar": 2, "time": 0, "acciArea": 1, "drvCond": 1,
                "innCond": 2, "carSpd": 2, "steeAng": 0}  # the book's URL example; planted label 2


def _start(models: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, KERAS_BACKEND="jax")
    proc = subprocess.Popen([sys.executable, "-m", "bigdata_admin.pilot.ml", "serve", "--models", str(models),
                             "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise AssertionError(f"server exited: {err}")
        try:
            httpx.get(base + "/health", timeout=2)
        except httpx.TransportError:
            time.sleep(0.3)
        else:
            return proc, base
    proc.terminate()
    raise AssertionError("server did not answer within 90 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from bigdata_admin.pilot.ml import accident

    tmp = tmp_path_factory.mktemp("serve")
    csv = tmp / "CarDrivingIncidentInfo.csv"
    csv.write_bytes(b"".join(gen.incident_chunks(5, 20_000)))
    x, y = accident.load_csv(csv)
    accident.train(x, y, tmp / "models", epochs=50)
    return tmp / "models"


@pytest.fixture(scope="module")
def server(models: Path) -> Iterator[str]:
    proc, base = _start(models)
    try:
        yield base
    finally:
        _stop(proc)


def test_health_and_version(server: str) -> None:
    r = httpx.get(server + "/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["model_version"] == "v0001" and body["backend"] == "jax"
    assert r.headers["x-model-version"] == "v0001"


def test_book_and_csv_names_give_the_same_answer(server: str) -> None:
    book = httpx.post(server + "/smartcar/predict", json=BOOK_EXAMPLE)
    csv_names = {{"arrOthCar": "arrCar", "time": "timeSlot"}.get(k, k): v for k, v in BOOK_EXAMPLE.items()}
    csv = httpx.post(server + "/smartcar/predict", json=csv_names)
    assert book.status_code == csv.status_code == 200, book.text
    assert book.json() == csv.json()
    assert book.json()["model_version"] == "v0001" and book.json()["success"] is True
    assert book.json()["prediction"] in (0, 1, 2) and len(book.json()["probabilities"]) == 3


def test_predictions_follow_the_planted_rule(server: str) -> None:
    lines = b"".join(gen.incident_chunks(77, 200)).decode().splitlines()[1:]
    right = 0
    with httpx.Client(base_url=server) as client:
        for line in lines:
            v = [int(c) for c in line.split(",")]
            r = client.post("/smartcar/predict", json=dict(zip(gen.INCIDENT_FEATURES, v[:10], strict=True)))
            right += r.json()["prediction"] == v[10]
    assert right / len(lines) >= 0.90


@pytest.mark.parametrize(("change", "field"), [
    ({"wea": 3}, "wea"), ({"hum": "1"}, "hum"), ({"carSpd": None}, "carSpd"), ({"speed": 1}, "speed"),
    ({"steeAng": 1.5}, "steeAng"),
])
def test_bad_input_is_422_naming_the_field(server: str, change: dict[str, object], field: str) -> None:
    body = {**dict.fromkeys(gen.INCIDENT_FEATURES, 1), **change}
    r = httpx.post(server + "/smartcar/predict", json=body)
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json()["detail"]]
    assert r.json()["model_version"] == "v0001" and r.headers["x-model-version"] == "v0001"


def test_missing_field_and_non_json(server: str) -> None:
    body = dict.fromkeys(gen.INCIDENT_FEATURES, 1)
    del body["innCond"]
    r = httpx.post(server + "/smartcar/predict", json=body)
    assert r.status_code == 422 and [d["field"] for d in r.json()["detail"]] == ["innCond"]
    r = httpx.post(server + "/smartcar/predict", content=b"wea=1", headers={"content-type": "text/plain"})
    assert r.status_code == 422


def test_openapi_and_docs(server: str) -> None:
    spec = httpx.get(server + "/openapi.json").json()
    assert "/smartcar/predict" in spec["paths"] and "/health" in spec["paths"]
    assert "swagger" in httpx.get(server + "/docs").text.lower()


def test_no_model_yet_is_503_then_reload(tmp_path: Path, models: Path) -> None:
    import shutil

    proc, base = _start(tmp_path / "empty")
    try:
        r = httpx.get(base + "/health")
        assert r.status_code == 503 and r.json()["model_version"] is None
        p = httpx.post(base + "/smartcar/predict", json=dict.fromkeys(gen.INCIDENT_FEATURES, 0))
        assert p.status_code == 503
        shutil.copytree(models, tmp_path / "empty", dirs_exist_ok=True)
        assert httpx.post(base + "/reload", timeout=120).json()["model_version"] == "v0001"
        assert httpx.get(base + "/health").status_code == 200
    finally:
        _stop(proc)
