"""The accident-risk model as a REST API (FastAPI, run by uvicorn).

    POST /smartcar/predict   {"wea": 0, "temp": 1, ..., "steeAng": 0}  ->  {"prediction": 2, ...}
    GET  /health             200 {"status": "ok", "model_version": ...}; 503 while no model is trained
    GET  /docs, /openapi.json

Each feature is an integer 0-2, under its CSV name or the book's (`arrOthCar` for `arrCar`, `time`
for `timeSlot`). Strings, out-of-range values, missing or unknown fields are answered with 422 and a
`detail` naming the field. The training scaler is applied before the network (the book's service
skipped it). Every answer carries the model version (`model_version` and header `X-Model-Version`).
"""

# No `from __future__ import annotations` here: FastAPI reads the route annotations at run time.
import os
import threading
from pathlib import Path
from typing import Annotated, Any

from . import accident, registry

DEFAULT_PORT = 9001


def _request_model() -> Any:
    from pydantic import AliasChoices, ConfigDict, Field

    Feature = Annotated[int, Field(ge=0, le=2, strict=True)]
    fields: dict[str, Any] = {}
    for name in accident.FEATURES:
        book = accident.BOOK_NAMES.get(name)
        alias = AliasChoices(name, book) if book else None
        desc = f"0, 1 or 2 (CSV column `{name}`" + (f"; the book's name: `{book}`)" if book else ")")
        fields[name] = (Feature, Field(validation_alias=alias, description=desc))
    from pydantic import create_model

    return create_model("DrivingState", __config__=ConfigDict(extra="forbid", populate_by_name=True),
                        **fields)


class ModelHolder:
    """The loaded version (or why none is loaded); reload() picks up the newest version."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.loaded: accident.Loaded | None = None
        self.error: str | None = None
        self.lock = threading.Lock()

    def reload(self) -> None:
        with self.lock:
            try:
                self.loaded = accident.load_latest(self.root)
                self.error = None
            except registry.NoModel as exc:
                self.loaded, self.error = None, str(exc)

    @property
    def version(self) -> str | None:
        return self.loaded.version if self.loaded else None


def create_app(models_root: Path) -> Any:
    """The FastAPI application serving the newest accident-risk version under `models_root`."""
    import keras
    import numpy as np
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    holder = ModelHolder(models_root)
    holder.reload()
    State = _request_model()
    app = FastAPI(title="Smart-car accident risk", version="1",
                  description="The pilot's accident-risk network (PILOT.md §5): ten driving-state features "
                  "0-2 -> risk class 0 (low), 1 (medium), 2 (high).")
    app.state.models = holder

    def answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
        v = holder.version
        return JSONResponse({**body, "model_version": v}, status_code=status,
                            headers={"X-Model-Version": v or "none"})

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "body") or "body", "message": e["msg"],
                   "type": e["type"]} for e in exc.errors()]
        return answer({"success": False, "detail": errors}, 422)

    @app.get("/health", response_model=None, summary="Liveness and the loaded model version")
    def health() -> JSONResponse:
        if holder.loaded is None:
            return answer({"status": "no model", "detail": holder.error,
                           "backend": keras.backend.backend()}, 503)
        m = holder.loaded.metrics
        return answer({"status": "ok", "backend": keras.backend.backend(), "accuracy": m.get("accuracy"),
                       "trained": m.get("created")})

    @app.post("/smartcar/predict", response_model=None, summary="Risk class for one driving state")
    def predict(state: State) -> JSONResponse:  # type: ignore[valid-type]
        loaded = holder.loaded
        if loaded is None:
            return answer({"success": False, "detail": holder.error}, 503)
        values = state.model_dump()  # type: ignore[attr-defined]
        x = np.asarray([[values[f] for f in accident.FEATURES]], dtype=np.float32)
        with holder.lock:  # one prediction at a time: Keras builds its predict function lazily
            classes, probs = loaded.predict(x)
        return answer({"success": True, "prediction": int(classes[0]),
                       "probabilities": [round(float(p), 6) for p in probs[0]]})

    @app.post("/reload", response_model=None, summary="Load the newest trained version")
    def reload() -> JSONResponse:
        holder.reload()
        return answer({"success": holder.loaded is not None, "detail": holder.error})

    return app


def run(models_root: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
        log_level: str = "info") -> None:
    """Serve in the foreground (uvicorn, one process) until SIGTERM/SIGINT."""
    import uvicorn

    uvicorn.run(create_app(models_root), host=host, port=port, log_level=log_level, access_log=False)


def models_root_from_env() -> Path:
    return Path(os.environ.get("SMARTCAR_MODELS", "models"))
