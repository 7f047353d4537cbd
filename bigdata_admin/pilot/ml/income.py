"""Income regression (PILOT.md §5): income from car capacity, ordinary least squares (scikit-learn).

The book fits R's `lm(income ~ car_capacity)`; the generated data plants
income = capacity x (1.1, 1.2 or 1.3) (+ 100-1000 for one row in five), so the slope lands near 1.2
plus the mean bonus over the mean capacity, and R² well above 0.8. Saved version files:
`model.json` ({"feature", "coef", "intercept"}) and `metrics.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import registry

NAME = "income-regression"
CAPACITY_COLUMNS = ("capacity", "car_capacity")


def load_income(path: Path) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Read `CarMaster2Income.txt` (or the book's `_Test` file): `|`-separated, one header line.

    Columns are found by name (`capacity` or `car_capacity`, and `income`; a `table.` prefix as Hive
    writes it is ignored). Returns (capacity (n,), income (n,)); ValueError names the file and line.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValueError(f"{path}: empty file")
    header = [h.rsplit(".", 1)[-1].strip() for h in lines[0].split("|")]
    cap_col = next((header.index(c) for c in CAPACITY_COLUMNS if c in header), None)
    if cap_col is None or "income" not in header:
        raise ValueError(f"{path}: header {header} has no capacity/car_capacity and income columns")
    inc_col = header.index("income")
    caps, incomes = [], []
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("|")
        try:
            caps.append(float(fields[cap_col]))
            incomes.append(float(fields[inc_col]))
        except (ValueError, IndexError):
            raise ValueError(f"{path}: line {no}: capacity or income is not a number: {line!r}") from None
    if len(caps) < 3:
        raise ValueError(f"{path}: {len(caps)} rows are too few for a regression (need at least 3)")
    return np.asarray(caps), np.asarray(incomes)


def fit(capacity: npt.NDArray[Any], income: npt.NDArray[Any], models_root: Path, *, test_share: float = 0.3,
        seed: int = 0) -> tuple[str, Path, dict[str, Any]]:
    """Fit on a random 70 % and score on the rest; save as a new version.

    Returns (version, directory, metrics): coef (income per cc), intercept, r2 and rmse on the test
    split, r2_train, rows.
    """
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mean_squared_error, r2_score

    order = np.random.default_rng(seed).permutation(len(capacity))
    cut = len(order) - max(1, round(len(order) * test_share))
    tr, te = order[:cut], order[cut:]
    model = LinearRegression().fit(capacity[tr].reshape(-1, 1), income[tr])
    pred = model.predict(capacity[te].reshape(-1, 1))
    metrics: dict[str, Any] = {
        "coef": float(model.coef_[0]), "intercept": float(model.intercept_),
        "r2": float(r2_score(income[te], pred)),
        "rmse": float(np.sqrt(mean_squared_error(income[te], pred))),
        "r2_train": float(model.score(capacity[tr].reshape(-1, 1), income[tr])),
        "train_rows": len(tr), "test_rows": len(te),
    }

    def write(d: Path) -> dict[str, Any]:
        (d / "model.json").write_text(json.dumps({"feature": "capacity", "coef": metrics["coef"],
                                                  "intercept": metrics["intercept"]}, indent=2) + "\n")
        return metrics

    version, directory = registry.save(models_root, NAME, write)
    return version, directory, metrics


def predict(version_dir: Path, capacity: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Income for each capacity (cc) with a saved version."""
    m = json.loads((Path(version_dir) / "model.json").read_text())
    return np.asarray(capacity, dtype=np.float64) * m["coef"] + m["intercept"]
