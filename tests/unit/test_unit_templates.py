"""No deploy may leave a unit crash-looping: every restarting systemd unit the roles write gives up
after a few failed starts (issue 16, item 1)."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(REPO.glob("roles/*/templates/*.service.j2"))
# The shared JVM unit (bigdata_defaults/jvm-daemon.service.j2) serves HDFS, YARN and Kafka.
ELSEWHERE: set[str] = set()


def _sections(path: Path) -> configparser.ConfigParser:
    text = "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith(("{%", "{#", "#")))
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


@pytest.mark.parametrize("template", [
    pytest.param(t, id=f"{t.parts[-3]}/{t.name}",
                 marks=[pytest.mark.xfail(reason="role rewritten elsewhere", strict=False)]
                 if t.parts[-3] in ELSEWHERE else [])
    for t in TEMPLATES])
def test_restarting_units_stop_after_a_few_failed_starts(template: Path) -> None:
    units = _sections(template)
    if units.get("Service", "Restart", fallback="no") == "no":
        pytest.skip("the unit does not restart itself")
    burst = units.getint("Unit", "StartLimitBurst", fallback=0)
    interval = units.getint("Unit", "StartLimitIntervalSec", fallback=0)
    restart_sec = units.getint("Service", "RestartSec", fallback=0)
    assert 0 < burst <= 10, "StartLimitBurst in [Unit] bounds the restarts"
    # The window must be longer than burst restarts take, or the limit never triggers.
    assert interval > burst * restart_sec, (interval, burst, restart_sec)


def test_the_templates_are_found() -> None:
    assert len(TEMPLATES) >= 6
