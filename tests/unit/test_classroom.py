"""Classroom mode without hosts: rosters, the inventories `create` writes, bounded parallel deploys
with --resume (a fake per-student deploy), the status grid (terminal and HTML) and the CLI's exits."""

from __future__ import annotations

import json
import re
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bigdata_admin import classroom as cr
from bigdata_admin import inventory
from bigdata_admin.cli import app
from bigdata_admin.errors import BadInput

runner = CliRunner()

GOOD = """student,host,address,memory_mb,ssh_user
alice,alice-vm,10.0.0.11,8192,vagrant
bob,,10.0.0.12,8192,
carol,,,8192,student
"""


def _write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# --------------------------------------------------------------------------------------------- roster

def test_roster_rows_are_numbered_like_a_spreadsheet(tmp_path: Path) -> None:
    rows = cr.read_roster(_write(tmp_path, GOOD))
    assert [(r.row, r.student, r.host, r.addresses, r.memory_mb) for r in rows] == [
        (2, "alice", "alice-vm", ["10.0.0.11"], 8192), (3, "bob", "", ["10.0.0.12"], 8192),
        (4, "carol", "", [], 8192)]
    assert rows[0].ssh_user == "vagrant" and rows[2].ssh_user == "student"


def test_roster_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as exc:
        cr.read_roster(_write(tmp_path, "name,address\nalice,10.0.0.1\n"))
    assert "missing column(s) student, memory_mb" in exc.value.message
    assert exc.value.exit_code == 2


def test_roster_duplicates_and_bad_memory_name_every_row(tmp_path: Path) -> None:
    text = "student,memory_mb\nalice,4096\nbob,lots\nAlice,4096\n\ncarol,4096\ncarol,4096\n"
    with pytest.raises(BadInput) as exc:
        cr.read_roster(_write(tmp_path, text))
    msg = exc.value.message
    assert "3 bad row(s)" in msg
    assert "row 3 (bob): memory_mb 'lots' is not a whole number" in msg
    assert "row 4 (Alice): duplicate student (also row 2)" in msg
    assert "row 7 (carol): duplicate student (also row 6)" in msg


# --------------------------------------------------------------------------------------------- create

def test_create_writes_one_valid_inventory_per_student(tmp_path: Path) -> None:
    rows = cr.read_roster(_write(tmp_path, GOOD))
    made = cr.create(rows, tmp_path / "class", profile="slim", address_range="10.0.0.20-10.0.0.30")
    assert [m.student for m in made] == ["alice", "bob", "carol"]
    assert made[2].hosts == {"carol": "10.0.0.20"}  # from the range: rows without an address
    cluster = inventory.load(made[0].inventory)
    assert list(cluster.hosts) == ["alice-vm"]
    h = cluster.hosts["alice-vm"]
    assert h.address == "10.0.0.11" and h.memory_mb == 8192 and h.var("ansible_user") == "vagrant"
    assert cluster.name == "alice"
    groups = {g for g in cluster.groups if cluster.has(g)} - {"all"}
    assert groups == set(cr.PROFILES["slim"])
    assert cr.load(tmp_path / "class")[1].hosts == {"bob": "10.0.0.12"}
    checks = cr.check(tmp_path / "class")
    assert [c.ok for c in checks] == [True, True, True], [c.errors for c in checks]


def test_create_from_the_classroom_template_gives_each_student_three_hosts(tmp_path: Path) -> None:
    rows = cr.read_roster(_write(tmp_path, "student,memory_mb\nalice,12288\nbob,12288\n"))
    made = cr.create(rows, tmp_path / "c", template="classroom", address_range="192.168.60.0/24")
    assert made[0].hosts == {"node1": "192.168.60.1", "node2": "192.168.60.2", "node3": "192.168.60.3"}
    assert made[1].hosts["node1"] == "192.168.60.4"
    cluster = inventory.load(made[1].inventory)
    assert cluster.addresses("zookeeper") == ["192.168.60.4", "192.168.60.5", "192.168.60.6"]
    assert cluster.var("ansible_user") is None or cluster.hosts["node1"].var("ansible_user") == "vagrant"
    assert all(c.ok for c in cr.check(tmp_path / "c")), [c.errors for c in cr.check(tmp_path / "c")]


def test_create_takes_addresses_from_a_hosts_file(tmp_path: Path) -> None:
    hosts = _write(tmp_path, "# lab\n10.1.0.5 alice-vm alice\n10.1.0.6   bob\n", "hosts")
    rows = cr.read_roster(_write(tmp_path, "student,host,memory_mb\nalice,alice-vm,8192\nbob,,8192\n"))
    made = cr.create(rows, tmp_path / "c", profile="mini", hosts_file=hosts)
    assert [m.hosts for m in made] == [{"alice-vm": "10.1.0.5"}, {"bob": "10.1.0.6"}]


def test_bad_roster_names_the_rows_and_writes_nothing(tmp_path: Path) -> None:
    text = ("student,address,memory_mb\nalice,10.0.0.1,8192\nbob,10.0.0.1,8192\ncarol,10.0.0.3,1024\n"
            "dave,,8192\n")
    roster = _write(tmp_path, text)
    result = runner.invoke(app, ["classroom", "create", "--roster", str(roster),
                                 "--dir", str(tmp_path / "c")])
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert "row 3 (bob): address 10.0.0.1 overlaps with row 2 (alice)" in out
    assert "row 4 (carol): memory_mb 1024 is too little" in out
    assert "row 5 (dave): needs 1 address(es)" in out
    assert "Traceback" not in result.output
    assert not (tmp_path / "c").exists()


def test_create_refuses_an_existing_classroom_and_unknown_layouts(tmp_path: Path) -> None:
    roster = _write(tmp_path, "student,address,memory_mb\nalice,10.0.0.1,8192\n")
    args = ["classroom", "create", "--roster", str(roster), "--dir", str(tmp_path / "c")]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already holds a classroom" in " ".join(again.output.split())
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    both = runner.invoke(app, [*args, "--force", "--profile", "mini", "--template", "classroom"])
    assert both.exit_code == 2 and "exclude each other" in both.output
    bad_range = runner.invoke(app, ["classroom", "create", "--roster", str(_write(
        tmp_path, "student,memory_mb\nx,8192\n", "r2.csv")), "--dir", str(tmp_path / "d"),
        "--address-range", "10.0.0.9-10.0.0.1"])
    assert bad_range.exit_code == 2 and "--address-range" in bad_range.output


def test_memory_needed_follows_the_profile() -> None:
    slim = cr.host_memory_needed(cr.PROFILES["slim"], cr.PROFILE_SIZES)
    mini = cr.host_memory_needed(cr.PROFILES["mini"], cr.PROFILE_SIZES)
    assert mini < slim
    assert slim % 512 == 0 and mini >= cr.HOST_MARGIN_MB + 256 * 5


def test_check_cli_summarises_every_student(tmp_path: Path) -> None:
    rows = cr.read_roster(_write(tmp_path, GOOD))
    cr.create(rows, tmp_path / "c", profile="mini", address_range="10.0.0.20-10.0.0.30")
    hosts = tmp_path / "c" / "students" / "bob" / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("zookeeper:", "zookeper:"))
    result = runner.invoke(app, ["classroom", "check", "--dir", str(tmp_path / "c"), "--json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [(s["student"], s["ok"]) for s in data["students"]] == [("alice", True), ("bob", False),
                                                                    ("carol", True)]
    assert any("zookeper" in e for e in data["students"][1]["errors"])
    human = runner.invoke(app, ["classroom", "check", "--dir", str(tmp_path / "c")])
    assert human.exit_code == 2 and "2 of 3 inventories valid" in human.output


# --------------------------------------------------------------------------------------------- deploy

def _classroom(tmp_path: Path, n: int = 4) -> Path:
    lines = "".join(f"s{i},10.0.0.{10 + i},8192\n" for i in range(1, n + 1))
    cr.create(cr.read_roster(_write(tmp_path, "student,address,memory_mb\n" + lines)), tmp_path / "c",
              profile="mini")
    return tmp_path / "c"


def test_deploy_is_bounded_collects_failures_and_resumes_only_those(tmp_path: Path) -> None:
    d = _classroom(tmp_path)
    running, peak, lock = [0], [0], threading.Lock()
    fail_once = {"s2", "s4"}
    calls: list[str] = []

    def fake(s: cr.StudentInventory, directory: Path, args: list[str]) -> cr.DeployResult:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            calls.append(s.student)
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        rc = 1 if s.student in fail_once else 0
        return cr.DeployResult(s.student, rc, 0.05, directory / "logs" / "x.log", "ok" if rc == 0 else "boom")

    results = cr.deploy(d, parallel=2, runner=fake)
    assert peak[0] == 2
    assert sorted(r.student for r in results if not r.ok) == ["s2", "s4"]
    assert cr.failed_students(d) == ["s2", "s4"]
    state = json.loads((d / cr.STATE_FILE).read_text())
    assert state["students"]["s2"]["summary"] == "boom"
    fail_once.clear()
    calls.clear()
    again = cr.deploy(d, parallel=3, resume=True, runner=fake)
    assert sorted(calls) == ["s2", "s4"] and all(r.ok for r in again)
    assert cr.failed_students(d) == []
    assert cr.deploy(d, resume=True, runner=fake) == []
    with pytest.raises(BadInput):
        cr.deploy(d, parallel=0, runner=fake)
    with pytest.raises(BadInput) as exc:
        cr.deploy(d, students=["nobody"], runner=fake)
    assert "no student nobody" in exc.value.message


def test_deploy_summary_names_the_failed_task() -> None:
    out = json.dumps({"rc": 1, "failures": [{"host": "h1", "task": "hdfs : format", "message": "no space"}]})
    assert cr._summary_of("progress...\n" + out, 1) == "h1: hdfs : format: no space"
    assert cr._summary_of(json.dumps({"rc": 2, "missing": ["a.tgz"]}), 2) == "artifacts missing: a.tgz"
    assert cr._summary_of("{}", 0) == "ok"


def test_deploy_cli_without_classroom_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["classroom", "deploy", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "is not a classroom" in " ".join(result.output.split())


# --------------------------------------------------------------------------------------------- status

class _Row:
    def __init__(self, host: str, group: str, healthy: bool, problem: str = "") -> None:
        self.host, self.group, self.healthy, self.problem = host, group, healthy, problem


class _Report:
    def __init__(self, rows: list[_Row], not_deployed: dict[str, list[str]] | None = None) -> None:
        self.rows, self.not_deployed = rows, not_deployed or {}


def test_cells_roll_hosts_up_to_services(tmp_path: Path) -> None:
    d = _classroom(tmp_path, 1)
    cluster = inventory.load(cr.load(d)[0].inventory)
    report = _Report([_Row("s1", "zookeeper", True), _Row("s1", "hdfs_namenode", True),
                      _Row("s1", "hdfs_datanode", False, "port 9866 closed"),
                      _Row("s1", "yarn_resourcemanager", True), _Row("s1", "yarn_nodemanager", True)],
                     {"missing artifacts": ["kafka_controller", "kafka_broker"]})
    cells = cr.cells_from_report(report, cluster, True)
    assert list(cells) == ["zookeeper", "hdfs", "yarn", "kafka"]
    assert cells["zookeeper"].state == cr.HEALTHY
    assert cells["hdfs"].state == cr.DOWN and "hdfs_datanode on s1: port 9866 closed" in cells["hdfs"].detail
    assert cells["kafka"].state == cr.NOT_DEPLOYED and cells["kafka"].detail == "missing artifacts"
    never = cr.cells_from_report(None, cluster, False)
    assert {c.state for c in never.values()} == {cr.NOT_DEPLOYED}


def _grid() -> cr.ClassroomStatus:
    ok = {"zookeeper": cr.Cell(cr.HEALTHY), "hdfs": cr.Cell(cr.HEALTHY), "kafka": cr.Cell(cr.HEALTHY)}
    return cr.grid([
        cr.StudentStatus("alice", dict(ok)),
        cr.StudentStatus("bob", {**ok, "kafka": cr.Cell(cr.DOWN, "unit kafka.service is inactive")}),
        cr.StudentStatus("<carol>", {k: cr.Cell(cr.NOT_DEPLOYED, "no deploy recorded") for k in ok}),
    ], 1.5)


def test_terminal_grid_marks_the_broken_cell() -> None:
    console = Console(record=True, width=120, color_system="standard", force_terminal=True)
    console.print(cr.render_rich(_grid()))
    ansi = console.export_text(styles=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", ansi)
    assert "5 healthy, 1 down, 3 not deployed" in text
    assert "bob kafka: unit kafka.service is inactive" in text
    assert "<carol>" in text
    # The broken cell is white on red; healthy cells are green.
    assert re.search(r"\x1b\[[0-9;]*41m *✖ down", ansi), ansi
    assert re.search(r"\x1b\[[0-9;]*32m *● healthy", ansi), ansi
    assert text.count("● healthy") == 5 and text.count("✖ down") == 1


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str | None]] = []
        self.meta: list[dict[str, str | None]] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "td" and "cell" in (a.get("class") or ""):
            self.cells.append(a)
        if tag == "meta":
            self.meta.append(a)
        if tag in ("script", "link", "img", "iframe") or a.get("src") or a.get("href"):
            self.external.append(tag)


def test_html_page_is_self_contained_with_one_cell_per_student_and_service() -> None:
    page = cr.render_html(_grid(), refresh_s=10)
    p = _Cells()
    p.feed(page)
    assert p.external == []
    assert "http://" not in page and "https://" not in page
    assert len(p.cells) == 9
    states = {(c["data-student"], c["data-service"]): c["data-state"] for c in p.cells}
    assert states[("bob", "kafka")] == "down"
    assert states[("alice", "hdfs")] == "healthy"
    assert states[("<carol>", "zookeeper")] == "not deployed"
    assert "&lt;carol&gt;" in page
    assert {"http-equiv": "refresh", "content": "10"} in p.meta
    assert "td.down{background:#d92d20" in page
    assert 'http-equiv="refresh"' not in cr.render_html(_grid())


def test_status_cli_json_and_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _classroom(tmp_path, 2)
    monkeypatch.setattr(cr, "status", lambda directory, students=(): _grid())
    page = tmp_path / "out" / "grid.html"
    result = runner.invoke(app, ["classroom", "status", "--dir", str(d), "--json", "--html", str(page)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["counts"] == {"healthy": 5, "down": 1, "not deployed": 3}
    assert data["students"][1]["services"]["kafka"]["state"] == "down"
    assert page.is_file() and 'data-state="down"' in page.read_text()
    human = runner.invoke(app, ["classroom", "status", "--dir", str(d)])
    assert human.exit_code == 1 and "1 down" in human.output


def test_status_of_never_deployed_students_probes_nothing(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    d = _classroom(tmp_path, 2)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    def no_probe(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("probed a student that was never deployed")

    st = cr.status(d, collect=no_probe)
    assert [s.student for s in st.students] == ["s1", "s2"]
    assert st.counts()[cr.NOT_DEPLOYED] == 8 and not st.healthy


# --------------------------------------------------------------------------------- reset, destroy, lab

def test_reset_and_destroy_need_confirmation(tmp_path: Path) -> None:
    d = _classroom(tmp_path, 1)
    reset = runner.invoke(app, ["classroom", "reset", "s1", "--dir", str(d)])
    assert reset.exit_code == 2 and "--yes" in reset.output
    destroy = runner.invoke(app, ["classroom", "destroy", "--dir", str(d)])
    assert destroy.exit_code == 2 and "--yes-stop-every-student-cluster" in destroy.output
    unknown = runner.invoke(app, ["classroom", "reset", "zed", "--dir", str(d), "--yes"])
    assert unknown.exit_code == 2 and "no student zed" in unknown.output


def test_lab_budget_is_checked_before_any_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    need = cr.lab_student_need_mb("mini")
    assert cr.check_lab_budget(2, "mini", 2 * need + 2048) == 2 * need
    with pytest.raises(BadInput) as exc:
        cr.check_lab_budget(5, "mini", 3 * need + 1024)
    assert f"5 student lab(s) need {5 * need} MiB" in exc.value.message
    assert "--students 3 or fewer" in (exc.value.fix or "")

    from bigdata_admin import lab

    monkeypatch.setattr(cr, "available_memory_mb", lambda: need)
    monkeypatch.setattr(lab, "get", lambda name: None)
    monkeypatch.setattr(lab, "up", lambda **_k: pytest.fail("a lab was started over budget"))
    result = runner.invoke(app, ["lab", "up", "--students", "4", "--name", "classx"])
    assert result.exit_code == 2, result.output
    assert "4 student lab(s) need" in " ".join(result.output.split())


def test_lab_roster_feeds_create(tmp_path: Path) -> None:
    roster = cr.write_lab_roster(tmp_path / "r.csv", [("student1", "class-s1", "10.213.7.11")], 4096)
    rows = cr.read_roster(roster)
    assert rows[0].lab == "class-s1" and rows[0].host == "h1" and rows[0].addresses == ["10.213.7.11"]


def test_status_watch_rewrites_the_page_with_a_meta_refresh(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.commands import classroom as cmd

    d = _classroom(tmp_path, 1)
    probes = [0]

    def fake_status(directory: Path, students: Any = ()) -> cr.ClassroomStatus:
        probes[0] += 1
        return _grid()

    def sleep(_s: float) -> None:
        if probes[0] >= 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cr, "status", fake_status)
    monkeypatch.setattr(cmd.time, "sleep", sleep)
    page = tmp_path / "grid.html"
    result = runner.invoke(app, ["classroom", "status", "--dir", str(d), "--watch", "3", "--html", str(page)])
    assert result.exit_code == 1, result.output
    assert probes[0] == 2
    assert '<meta http-equiv="refresh" content="3">' in page.read_text()


def test_artifacts_are_fetched_once_for_all_students(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from bigdata_admin import artifacts

    d = _classroom(tmp_path, 3)
    cache: set[str] = set()
    kafka = SimpleNamespace(filename="kafka-4.1.1-maven.tar.gz", component="kafka")
    fetches: list[str] = []

    def plan(cluster: Any, tags: Any, skip: Any) -> Any:
        return SimpleNamespace(missing=[] if kafka.filename in cache else [kafka],
                               fetch_command=f"bigdata-admin artifacts fetch -i {cluster.source} kafka")

    def fetch(cluster: Any, components: Any, reporter: Any = None) -> list[Any]:
        fetches.append(cluster.name)
        cache.add(kafka.filename)
        return [SimpleNamespace(artifact=kafka, ok=True, action="fetched", message="")]

    monkeypatch.setattr(artifacts, "deploy_artifacts", plan)
    monkeypatch.setattr(artifacts, "fetch", fetch)
    missing, commands = cr.missing_artifacts(d)
    assert missing == [kafka.filename] and len(commands) == 3
    assert cr.fetch_missing(d) == ([kafka.filename], [])
    assert fetches == ["s1"]
    assert cr.missing_artifacts(d) == ([], [])


def test_wipe_retries_a_service_that_is_still_starting(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    d = _classroom(tmp_path, 1)
    cluster = inventory.load(cr.load(d)[0].inventory)
    monkeypatch.setattr("bigdata_admin.deployment.not_deployed", lambda c: {})
    tries = {"kafka": 0}

    def kafka(c: Any) -> str:
        tries["kafka"] += 1
        if tries["kafka"] < 3:
            raise TimeoutError("Unable to bootstrap")
        return "no topic SmartCar-Topic"

    def never(c: Any) -> str:
        raise ConnectionRefusedError("refused")

    steps = [("hdfs", ("hdfs_namenode",), lambda c: "removed /pilot-pjt"),
             ("kafka", ("kafka_broker",), kafka), ("hive", ("hive_server2",), never),
             ("yarn", ("yarn_resourcemanager",), never)]
    lines = cr.wipe_pilot_data(cluster, wait_s=0.5, interval_s=0.1, steps=steps)
    # hive is not in the mini profile: skipped; yarn never answers: failed after the retries.
    assert lines[:2] == ["hdfs: removed /pilot-pjt", "kafka: no topic SmartCar-Topic"]
    assert tries["kafka"] == 3
    assert len(lines) == 3 and lines[2].startswith("yarn: failed: ConnectionRefusedError")


def test_lab_down_students_takes_down_only_that_classrooms_labs_and_its_roster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin import lab

    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))
    roster = cr.write_lab_roster(tmp_path / "state" / "lab" / "classrooms" / "class-roster.csv",
                                 [("student1", "class-s1", "10.213.7.11")], 4096)
    names = ["class-s10", "class-s2", "class-s1", "classic-s1", "class-sx", "other", "class"]
    monkeypatch.setattr(lab, "list_labs", lambda: [{"name": n} for n in names])
    monkeypatch.setattr(lab, "get", lambda name: None)
    downed: list[str] = []

    def down(name: str, keep_state: bool = False) -> list[str]:
        downed.append(name)
        names.remove(name)
        return [name]

    monkeypatch.setattr(lab, "down", down)
    result = runner.invoke(app, ["lab", "down", "--students", "--name", "class", "--json"])
    assert result.exit_code == 0, result.output
    assert downed == ["class-s1", "class-s2", "class-s10"]
    assert json.loads(result.output) | {"seconds": 0} == {
        "name": "class", "labs": downed, "roster_removed": True, "seconds": 0}
    assert not roster.exists()
    again = runner.invoke(app, ["lab", "down", "--students", "--name", "class"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert names == ["classic-s1", "class-sx", "other", "class"]


@pytest.mark.parametrize("profile", sorted(cr.PROFILES))
def test_lab_roster_memory_is_enough_for_its_profile_over_the_labs_sizes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str) -> None:
    # A practice lab's group_vars carry the lab's own sizes (a 1536 MiB NodeManager for Spark); the
    # student's inventory takes the profile's over them, so `create` checks memory against those.
    import yaml

    from bigdata_admin.lab import labinventory

    def lab_dir(name: str) -> Path:
        d = tmp_path / "labs" / f"lab-{name}"
        (d / "group_vars").mkdir(parents=True, exist_ok=True)
        (d / "hosts.yml").write_text(yaml.safe_dump(
            {"all": {"vars": {"ansible_user": "deploy"}, "hosts": {"h1": {"ansible_host": "10.213.7.11"}}}}))
        (d / "group_vars" / "all.yml").write_text(yaml.safe_dump(dict(labinventory.LAB_SIZES)))
        return d

    monkeypatch.setattr(labinventory, "inventory_dir", lab_dir)
    nm = "yarn_nodemanager_memory_mb"
    assert labinventory.LAB_SIZES[nm] > cr.PROFILE_SIZES[nm]
    need = cr.lab_student_need_mb(profile)
    roster = cr.write_lab_roster(tmp_path / "r.csv", [("student1", "class-s1", "10.213.7.11")], need)
    made = cr.create(cr.read_roster(roster), tmp_path / "class", profile=profile)
    cluster = inventory.load(made[0].inventory)
    assert made[0].memory_mb == need
    assert str(cluster.var("yarn_nodemanager_memory_mb")) == "512"
    short = cr.write_lab_roster(tmp_path / "short.csv", [("student1", "class-s1", "10.213.7.11")], need - 512)
    with pytest.raises(BadInput) as exc:
        cr.plan(cr.read_roster(short), cr.layout_for(profile, None))
    assert f"memory_mb {need - 512} is too little: profile:{profile} needs {need} MiB" in exc.value.message


def test_profile_services_are_the_grid_columns_in_stack_order() -> None:
    assert cr.profile_services("slim") == ["zookeeper", "hdfs", "yarn", "hive", "postgresql", "kafka"]
    assert cr.profile_services("mini") == ["zookeeper", "hdfs", "yarn", "kafka"]


def test_reset_drops_only_the_pilots_hive_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin import sqlclient

    tables = ["smartcar_master", "Managed_SmartCar_status_info", "smartcar_drive_info_2", "students",
              "my_smartcar_copy", "managed_other"]
    ran: list[str] = []
    closed: list[bool] = []

    class Conn:
        def close(self) -> None:
            closed.append(True)

    def query(conn: Any, sql: str, *a: Any, **k: Any) -> list[tuple[Any, ...]]:
        ran.append(sql)
        return [(t,) for t in tables] if sql == "SHOW TABLES" else []

    monkeypatch.setattr(sqlclient, "connect_to", lambda cluster, service, **k: Conn())
    monkeypatch.setattr(sqlclient, "query", query)
    assert cr.WIPE_STEPS[1][:2] == ("hive", ("hive_server2",))
    line = cr.WIPE_STEPS[1][2](object())
    assert line == ("dropped 3 table(s): smartcar_master, Managed_SmartCar_status_info, "
                    "smartcar_drive_info_2")
    assert ran == ["SHOW TABLES", "DROP TABLE IF EXISTS `smartcar_master`",
                   "DROP TABLE IF EXISTS `Managed_SmartCar_status_info`",
                   "DROP TABLE IF EXISTS `smartcar_drive_info_2`"]
    assert closed == [True]
    tables[:] = ["students"]
    ran.clear()
    assert cr.WIPE_STEPS[1][2](object()) == "dropped 0 table(s)" and ran == ["SHOW TABLES"]


def test_failure_of_names_the_first_failed_task_not_the_closing_brace() -> None:
    run = {"rc": 1, "ok": False, "failures": [
        {"host": "h1", "play": "Hive", "task": "Enable and start the daemon: hive-metastore",
         "message": "'hive_units' is undefined"},
        {"host": "h1", "play": "Hive", "task": "x", "message": "y"}]}
    out = json.dumps(run, indent=2) + "\nsome stderr line\n"
    assert cr.failure_of(out) == ("Hive / Enable and start the daemon: hive-metastore on h1: "
                                  "'hive_units' is undefined (+1 more)")
    assert cr.failure_of("error: no inventory\nfix: pass -i\n") == "fix: pass -i"
    assert cr.failure_of(json.dumps({"rc": 2, "failures": []}) + "\nboom\n") == "boom"
    assert cr.failure_of("") == ""
