"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def pilot_reference() -> Path:
    """`../shared/pilot/reference-data`: the book's real files. Skips when absent."""
    path = SHARED / "pilot" / "reference-data"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the pilot's reference files are not beside this checkout")
    return path


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The artifact cache and state directories under tmp_path (cache/, state/), and a wide terminal
    for CLI output. Returns tmp_path."""
    monkeypatch.setenv("BIGDATA_ADMIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path
