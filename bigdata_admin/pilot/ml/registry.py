"""Models as versioned directories: `<root>/<name>/v0001/`, `v0002/`, ... (highest = latest).

Each version holds the model's own files plus `metrics.json` (the metrics and `version`, `name`,
`created`). A version is written into a hidden temporary directory and renamed into place, so a
reader never sees half a model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_VERSION = re.compile(r"^v(\d{4,})$")


class NoModel(LookupError):
    """No version of the named model exists under the root."""


def versions(root: Path, name: str) -> list[str]:
    """Version names of `name` under `root`, oldest first (e.g. ["v0001", "v0002"])."""
    d = Path(root) / name
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p.name) for p in d.iterdir() if p.is_dir() and (m := _VERSION.match(p.name))]
    return [n for _, n in sorted(found)]


def latest(root: Path, name: str) -> Path:
    """Directory of the newest version; NoModel when there is none."""
    vs = versions(root, name)
    if not vs:
        raise NoModel(f"no trained {name} model under {Path(root) / name}")
    return Path(root) / name / vs[-1]


def save(root: Path, name: str, write: Callable[[Path], dict[str, Any]]) -> tuple[str, Path]:
    """Create the next version: `write(tmpdir)` writes the model files and returns its metrics.

    Returns (version, directory). metrics.json gets the metrics plus name, version and created (UTC).
    """
    base = Path(root) / name
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=base))
    try:
        metrics = write(tmp)
        for _ in range(100):
            vs = versions(root, name)
            number = int(vs[-1][1:]) + 1 if vs else 1
            version = f"v{number:04d}"
            meta = {"name": name, "version": version,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **metrics}
            (tmp / "metrics.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
            os.chmod(tmp, 0o755)
            try:
                tmp.rename(base / version)  # fails when another writer took this number
            except OSError:
                continue
            return version, base / version
        raise RuntimeError(f"could not allocate a version under {base}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_metrics(version_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(version_dir) / "metrics.json").read_text())
    return data
