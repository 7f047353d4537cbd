"""The accident-risk network (PILOT.md §5): ten features 0-2 -> class 0/1/2 (`acciPos`).

Architecture as in the book: Dense(20, relu) -> Dropout(0.25) -> Dense(10, relu) -> Dense(3, softmax),
Adam, categorical cross-entropy, batch 2000, 50 epochs, 80/20 split; inputs standardised with the
training split's mean and standard deviation (the scaler is saved with the model and applied when
serving: the book's service skips it). Backend-neutral Keras 3: set KERAS_BACKEND (jax, torch,
tensorflow) before the first import of keras.

Saved version files: `model.keras`, `scaler.json` ({"features", "mean", "std"}), `metrics.json`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import registry

NAME = "accident-risk"
FEATURES = ("wea", "temp", "hum", "arrCar", "timeSlot", "acciArea", "drvCond", "innCond", "carSpd",
            "steeAng")
LABEL = "acciPos"
BOOK_NAMES = {"arrCar": "arrOthCar", "timeSlot": "time"}
"""CSV name -> the name the book's REST service used, where they differ."""
CLASSES = 3


@dataclass(frozen=True)
class Scaler:
    """Standardisation z = (x - mean) / std per feature (std of 0 is taken as 1)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, x: npt.NDArray[np.floating[Any]]) -> Scaler:
        std = x.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        return cls(tuple(float(v) for v in x.mean(axis=0)), tuple(float(v) for v in std))

    def transform(self, x: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        return ((np.asarray(x, dtype=np.float32) - mean) / std).astype(np.float32)

    def to_json(self) -> str:
        return json.dumps({"features": list(FEATURES), "mean": self.mean, "std": self.std}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Scaler:
        data = json.loads(text)
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"scaler features {data['features']} are not {list(FEATURES)}")
        return cls(tuple(data["mean"]), tuple(data["std"]))


def load_csv(path: Path, limit: int | None = None) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """Read `CarDrivingIncidentInfo.csv` (header + rows of 11 digits 0-2).

    Returns (x of shape (n, 10), y of shape (n,)). ValueError names the file and line of a bad row.
    """
    with Path(path).open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        expected = [*FEATURES, LABEL]
        if header != expected:
            raise ValueError(f"{path}: header {header} is not {expected}")
        try:
            data = np.loadtxt(f, delimiter=",", dtype=np.int8, ndmin=2, max_rows=limit)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    if data.shape[1:] != (11,):
        raise ValueError(f"{path}: rows have {data.shape[1] if data.ndim == 2 else 0} fields, not 11")
    bad = np.argwhere((data < 0) | (data > 2))
    if bad.size:
        raise ValueError(f"{path}: line {bad[0][0] + 2}: value {data[bad[0][0], bad[0][1]]} is not 0, 1 or 2")
    return data[:, :10], data[:, 10]


def build_model(seed: int = 0) -> Any:
    """The book's network, compiled (Adam, categorical cross-entropy, accuracy)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=(len(FEATURES),)),
        keras.layers.Dense(20, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(10, activation="relu"),
        keras.layers.Dense(CLASSES, activation="softmax"),
    ], name="accident_risk")
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def split(n: int, test_share: float, seed: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Shuffled (train, test) row indices; test gets round(n * test_share) rows."""
    order = np.random.default_rng(seed).permutation(n)
    cut = n - round(n * test_share)
    return order[:cut], order[cut:]


def train(x: npt.NDArray[Any], y: npt.NDArray[Any], models_root: Path, *, epochs: int = 50,
          batch_size: int = 2000, test_share: float = 0.2, seed: int = 0) -> tuple[str, Path, dict[str, Any]]:
    """Train, evaluate on the held-out share, save as a new version.

    Returns (version, directory, metrics): accuracy and loss on the test split, per-class recall,
    confusion matrix (rows = true class), rows used, seconds, Keras backend.
    """
    import keras

    if len(x) < 10:
        raise ValueError(f"{len(x)} rows are too few to train on (need at least 10)")
    tr, te = split(len(x), test_share, seed)
    scaler = Scaler.fit(np.asarray(x[tr], dtype=np.float64))
    xtr, xte = scaler.transform(x[tr]), scaler.transform(x[te])
    ytr = keras.utils.to_categorical(y[tr], CLASSES)
    yte = keras.utils.to_categorical(y[te], CLASSES)
    model = build_model(seed)
    t0 = time.perf_counter()
    model.fit(xtr, ytr, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    seconds = time.perf_counter() - t0
    loss, accuracy = model.evaluate(xte, yte, batch_size=max(batch_size, 1), verbose=0)
    pred = predict_classes(model, xte)
    confusion = np.zeros((CLASSES, CLASSES), dtype=int)
    np.add.at(confusion, (np.asarray(y[te], dtype=int), pred), 1)
    recall = [float(confusion[c, c] / confusion[c].sum()) if confusion[c].sum() else None
              for c in range(CLASSES)]
    metrics: dict[str, Any] = {
        "accuracy": float(accuracy), "loss": float(loss), "recall": recall, "confusion": confusion.tolist(),
        "train_rows": len(tr), "test_rows": len(te), "epochs": epochs, "batch_size": batch_size,
        "train_seconds": round(seconds, 3), "backend": keras.backend.backend(),
    }

    def write(d: Path) -> dict[str, Any]:
        model.save(d / "model.keras")
        (d / "scaler.json").write_text(scaler.to_json())
        return metrics

    version, directory = registry.save(models_root, NAME, write)
    return version, directory, metrics


def predict_classes(model: Any, z: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
    """Class per row of already standardised inputs (argmax of the softmax)."""
    probs = np.asarray(model.predict_on_batch(z) if len(z) <= 4096 else model.predict(z, verbose=0))
    return probs.argmax(axis=1)


@dataclass
class Loaded:
    """A trained version ready to predict: model, scaler, version name and its metrics."""

    model: Any
    scaler: Scaler
    version: str
    metrics: dict[str, Any]

    def predict(self, x: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """Raw feature rows (n, 10) -> (classes (n,), probabilities (n, 3)). The scaler is applied here."""
        z = self.scaler.transform(np.asarray(x, dtype=np.float32).reshape(-1, len(FEATURES)))
        probs = np.asarray(self.model.predict_on_batch(z), dtype=np.float32)
        return probs.argmax(axis=1), probs


def load(version_dir: Path) -> Loaded:
    """Load one saved version directory (see the module docstring for its files)."""
    import keras

    d = Path(version_dir)
    model = keras.saving.load_model(d / "model.keras", compile=False)
    scaler = Scaler.from_json((d / "scaler.json").read_text())
    return Loaded(model, scaler, d.name, registry.read_metrics(d))


def load_latest(models_root: Path) -> Loaded:
    return load(registry.latest(models_root, NAME))
