"""The classroom status page in a real headless browser (Chromium from Debian's packages): the page
loads from a file with no network, every cell has its state, a screenshot shows the broken cell red and
the healthy ones green. Skips cleanly without chromium (`apt-get install chromium`).

`test_main_lab_as_one_student_classroom` renders the status of the main job's lab (session fixture
`main_lab`, shared with tests/integration/test_main_job_lab.py) as a one-student classroom.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import classroom as cr

pytestmark = pytest.mark.integration

BROWSER_TIMEOUT_S = 60
RED, GREEN = (0xD9, 0x2D, 0x20), (0x2F, 0x9E, 0x44)  # td.down / td.healthy in classroom._CSS


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no chromium (apt-get install chromium)")


def browse(page: Path, png: Path, size: str = "1000,500") -> str:
    """Load `page` in headless Chromium once: write a screenshot to `png`, return the DOM it built."""
    proc = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-extensions", f"--window-size={size}", f"--screenshot={png}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert png.is_file() and png.stat().st_size > 1000, proc.stderr[-2000:]
    return proc.stdout


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and "cell" in (a.get("class") or "").split():
            self.cells[(a["data-student"] or "", a["data-service"] or "")] = a["data-state"] or ""


def cells_of(dom: str) -> dict[tuple[str, str], str]:
    p = _Cells()
    p.feed(dom)
    return p.cells


def pixels_of(png: Path, colour: tuple[int, int, int]) -> int:
    """How many pixels of the screenshot have `colour` (exactly); -1 without Pillow."""
    try:
        from PIL import Image
    except ImportError:
        return -1
    import numpy as np

    with Image.open(png) as img:
        rgb = np.asarray(img.convert("RGB"))  # height x width x 3
    return int((rgb == np.array(colour, dtype=rgb.dtype)).all(axis=-1).sum())


def test_grid_page_in_headless_chromium(tmp_path: Path) -> None:
    ok = {s: cr.Cell(cr.HEALTHY, "1 healthy") for s in ("zookeeper", "hdfs", "yarn", "kafka")}
    down = cr.Cell(cr.DOWN, "unit kafka.service is inactive")
    grid = cr.grid([cr.StudentStatus("alice", dict(ok)), cr.StudentStatus("bob", {**ok, "kafka": down}),
                    cr.StudentStatus("carol", {**ok, "yarn": cr.Cell(cr.NOT_DEPLOYED, "never deployed")})],
                   0.4)
    page = cr.write_html(tmp_path / "class.html", grid, refresh_s=5)
    png = tmp_path / "class.png"
    dom = browse(page, png)
    cells = cells_of(dom)
    assert len(cells) == 12
    assert cells[("bob", "kafka")] == "down"
    assert cells[("carol", "yarn")] == "not deployed"
    assert sum(v == "healthy" for v in cells.values()) == 10
    assert 'http-equiv="refresh" content="5"' in dom
    assert "10 healthy, 1 down, 1 not deployed" in dom
    red, green = pixels_of(png, RED), pixels_of(png, GREEN)
    if red >= 0:
        # One red cell, ten green ones (each cell about the same size).
        assert red > 2000, red
        assert 6 * red < green < 14 * red, (red, green)


@pytest.mark.lab
@pytest.mark.slow
def test_main_lab_as_one_student_classroom(main_lab: dict[str, Any], tmp_path: Path) -> None:
    from bigdata_admin import deployment, inventory
    from bigdata_admin.health.status import collect

    if main_lab["rc"] != 0:
        pytest.skip("the main job failed; test_main_job_lab reports why")
    d = tmp_path / "class"
    cr.adopt(d, {"main": Path(main_lab["inventory"])})
    grid = cr.status(d)
    cluster = inventory.load(main_lab["inventory"])
    report = collect(cluster)
    page = cr.write_html(tmp_path / "main.html", grid)
    dom = browse(page, tmp_path / "main.png")
    cells = cells_of(dom)
    absent = deployment.not_deployed(cluster)
    expected_roles = {r.group for r in report.rows}
    assert cells, dom[-2000:]
    for (student, service), state in cells.items():
        assert student == "main"
        if state == "not deployed":
            assert any(cr.services.BY_GROUP[g].role == service for g in absent), service
        else:
            assert any(cr.services.BY_GROUP[g].role == service for g in expected_roles), service
            assert state == ("healthy" if all(r.healthy for r in report.rows
                                                if cr.services.BY_GROUP[r.group].role == service) else "down")
    assert {"zookeeper", "hdfs", "yarn", "kafka"} <= {s for (_, s), v in cells.items() if v == "healthy"}
