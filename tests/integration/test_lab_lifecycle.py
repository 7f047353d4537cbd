"""A lab's whole life beside the shared one: up, up again (no change), down --keep-state and back
with the disk kept, down and nothing left behind (processes, mounts, namespaces, links, cgroups,
propagate dirs, relay, disks, inventory), then up again at once (the kernel tears namespaces down
asynchronously) and down."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import lab as labmod
from bigdata_admin.lab import model

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

NAME = "blife"


def _ssh(lb: Any, host: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lb.ssh_command(host, command), capture_output=True, text=True, timeout=60,
                          check=False)


def _leftovers(st: model.LabState, lab_dir: Path, name: str = NAME) -> list[str]:
    """Everything of the lab still on this machine, found with the system's own tools."""
    found: list[str] = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    found += [f"netns {line.split()[0]}" for line in netns.splitlines() if f"bdlab-{name}-" in line]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    names = {line.split(":")[1].strip().split("@")[0] for line in links.splitlines()}
    wanted = {st.bridge, *(h.veth for h in st.hosts.values())}
    found += [f"link {n}" for n in names & wanted]
    found += [f"mount {line.split()[1]}" for line in Path("/proc/mounts").read_text().splitlines()
              if f"/labs/{name}/" in line.split()[1]]
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    found += [f"process {line.strip()}" for line in ps.splitlines()
              if f"--machine=lab-{name}-" in line or f"--bind {st.gateway} " in line]
    for root in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"):
        found += [f"cgroup {p}" for p in Path(root).glob(f"bigdata-lab/lab-{name}-*")]
    found += [f"propagate {p}" for p in Path("/run/systemd/nspawn/propagate").glob(f"lab-{name}-*")]
    if lab_dir.exists():
        found.append(f"disk {lab_dir}")
    return found


def test_lab_life_cycle(lab: Any) -> None:
    """Runs beside the shared `lab` fixture: two labs side by side."""
    labmod.down(NAME)  # a leftover of an interrupted run
    lb = labmod.up(name=NAME, nodes=2)
    try:
        st = lb.state
        assert st.index != lab.state.index and st.bridge != lab.state.bridge
        assert sorted(lb.hosts) == ["h1", "h2"]
        assert all(a.startswith(f"10.213.{st.index}.") for a in lb.hosts.values())
        assert lb.changed

        again = labmod.up(name=NAME, nodes=2)
        assert again.changed == []

        # Fewer hosts for an existing lab is refused, naming the fix (more hosts grow it: see
        # test_scale_out_lab.py).
        from bigdata_admin.errors import BadInput

        with pytest.raises(BadInput) as exc:
            labmod.up(name=NAME, nodes=1)
        assert "never removes" in exc.value.message and "--nodes 2" in (exc.value.fix or "")
        assert labmod.get(NAME) is not None and sorted(labmod.get(NAME).hosts) == ["h1", "h2"]

        # --keep-state: hosts stop, the disks stay, and come back with what was written on them.
        assert _ssh(lb, "h1", "echo kept > ~/marker").returncode == 0
        labmod.down(NAME, keep_state=True)
        kept = labmod.get(NAME)
        assert kept is not None
        left = _leftovers(kept.state, Path(kept.key).parent)
        assert left == [f"disk {Path(kept.key).parent}"], left
        back = labmod.up(name=NAME, nodes=2)
        assert _ssh(back, "h1", "cat ~/marker").stdout == "kept\n"
        assert _ssh(back, "h2", "test -e ~/marker").returncode == 1
        # The other lab was never touched.
        assert all(h["state"] == "ssh" for h in labmod.status(lab.name)["hosts"])
    finally:
        labmod.down(NAME)
    gone = labmod.get(NAME)
    assert gone is None
    assert _leftovers(st, Path(lb.key).parent) == []
    assert not lb.inventory.exists()

    # Straight back up with the same names: the previous namespaces may still be dying.
    quick = labmod.up(name=NAME, nodes=2)
    try:
        assert _ssh(quick, "h2", "hostname").stdout == "h2\n"
    finally:
        labmod.down(NAME)
    assert _leftovers(quick.state, Path(quick.key).parent) == []
    assert all(h["state"] == "ssh" for h in labmod.status(lab.name)["hosts"])


def test_down_sweeps_a_lab_whose_state_was_lost(lab: Any) -> None:
    """If the state file is gone (deleted by hand, a crashed disk cleanup), `down` still finds the
    lab's processes, mounts, namespaces, links and cgroups by their names and removes them."""
    from bigdata_admin.lab.machines import lab_dir

    name = "bsweep"
    labmod.down(name)
    lb = labmod.up(name=name, nodes=1)
    st = lb.state
    (lab_dir(name) / "state.json").unlink()
    done = labmod.down(name)
    assert any("stopped leftover host process" in d for d in done), done
    assert any(f"removed orphan bridge {st.bridge}" in d for d in done), done
    assert any("stopped orphan relay" in d for d in done), done
    assert _leftovers(st, lab_dir(name), name) == [f"disk {lab_dir(name)}"]
    import shutil

    shutil.rmtree(lab_dir(name))
    shutil.rmtree(lb.inventory)
    assert all(h["state"] == "ssh" for h in labmod.status(lab.name)["hosts"])
