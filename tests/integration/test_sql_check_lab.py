"""A `--check` run of the Impala play on the lab's hosts (its container images cannot be had here, so a
real deploy cannot run): the play evaluates on real hosts over SSH, every task is check-mode safe,
missing artifacts are reported instead of failing, and nothing is changed. (Hive deploys for real in
the main job: test_main_job_lab.py, test_hive_lab.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import paths

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]


@pytest.mark.parametrize("play", ["impala"])
def test_check_mode_run_on_lab_hosts(lab: Any, play: str) -> None:
    from bigdata_admin.runner import run_playbook

    result = run_playbook(paths.playbooks_dir() / "services" / f"{play}.yml", Path(lab.inventory),
                          extravars={"bigdata_action": "deploy"}, check=True, label=f"check-{play}",
                          show_progress=False)
    assert result.rc == 0, [f"{f.host}: {f.task}: {f.message}" for f in result.failures]
    assert result.recap, "no host took part"
    assert all(r.failed == 0 and r.unreachable == 0 for r in result.recap.values()), result.recap
