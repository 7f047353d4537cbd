"""The stream topology's pieces that need no cluster: the bolt's window rule against the
recomputation, the Flux YAML, the topology jar, and clean errors."""

from __future__ import annotations

import importlib.util
import io
import random
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.pilot import generate, stream

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "pilot" / "reference-data"


def _bolt():
    spec = importlib.util.spec_from_file_location("smartcar_bolt", stream.BOLT_RESOURCE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _drive_records(cars: int = 12, hours: float = 0.25) -> list[list[str]]:
    names = generate.master_car_numbers()[:cars]
    text = b"".join(generate.drive_log_chunks("20261130", names, seed=7, hours=hours)).decode()
    return [line.split(",") for line in text.splitlines() if line[:1].isdigit()]


def _run_bolt_rule(records: list[list[str]], interleave: bool, partitions: int = 3) -> dict[str, set[str]]:
    """Feed records as Storm would: each car's records on one Kafka partition (by its key), each partition
    in time order; with `interleave`, the partitions reach the bolt in a random interleaving."""
    bolt = _bolt()
    windows = bolt.Windows(30, 80.0)
    queues: dict[int, list[list[str]]] = {}
    for r in records:
        queues.setdefault(sum(r[1].encode()) % partitions, []).append(r)
    rng = random.Random(3)
    feed: list[tuple[int, list[str]]] = []
    if interleave:
        live = [p for p in queues if queues[p]]
        while live:
            p = rng.choice(live)
            feed.append((p, queues[p].pop(0)))
            if not queues[p]:
                live.remove(p)
    else:
        feed = [(sum(r[1].encode()) % partitions, r) for r in records]
    got: dict[str, set[str]] = {}
    acked = 0
    closed = []
    for i, (p, r) in enumerate(feed):
        closed += windows.add(r[1], r[0], int(r[6]), i, partition=p, now=0.0)
    closed += windows.close_idle(0.0, now=1.0)
    for day, member, tokens in closed:
        acked += len(tokens)
        if member:
            got.setdefault(day, set()).add(member)
    assert acked == len(records), "every record is acked exactly once, when its window closes"
    assert windows.pending == 0
    return got


@pytest.mark.parametrize("interleave", [False, True])
def test_bolt_windows_match_the_recomputation(interleave: bool) -> None:
    records = _drive_records()
    expected = stream.overspeeding(records)
    assert sum(len(v) for v in expected.values()) > 0, "the sample has overspeeding windows to find"
    assert _run_bolt_rule(records, interleave) == expected


def test_window_rule_on_hand_made_records() -> None:
    # Car A: 15 records at 90 in 00:00:00-00:00:29 (flagged), then 2 at 10 in the next window (not).
    recs = [["20200322" + f"0000{s:02d}", "A0001", "0", "0", "F", "N", "90", "A01"] for s in range(0, 30, 2)]
    recs += [["20200322000030", "A0001", "0", "0", "F", "N", "10", "A01"],
             ["20200322000032", "A0001", "0", "0", "F", "N", "10", "A01"]]
    # Car B averages exactly 80 (not above): never flagged.
    recs += [["20200322000000", "B0001", "0", "0", "F", "N", "70", "B01"],
             ["20200322000002", "B0001", "0", "0", "F", "N", "90", "B01"]]
    assert stream.overspeeding(recs) == {"20200322": {"A0001-20200322000000"}}
    assert _run_bolt_rule(recs, interleave=False) == {"20200322": {"A0001-20200322000000"}}


def test_a_record_of_a_window_closed_by_idleness_is_acked_alone() -> None:
    bolt = _bolt()
    w = bolt.Windows()
    assert w.add("A0001", "20200322000100", 100, "t1", now=0) == []
    assert w.close_idle(5, now=10) == [("20200322", "A0001-20200322000100", ["t1"])]
    assert w.add("A0001", "20200322000102", 100, "after", now=11) == [(None, None, ["after"])]


def test_an_earlier_time_on_a_partition_starts_a_replay() -> None:
    """A day sent again, or an earlier day after a later one: the open windows close, the replay counts."""
    bolt = _bolt()
    w = bolt.Windows()
    recs = [["20200323" + f"0000{s:02d}", "A0001", "0", "0", "F", "N", "90", "A01"] for s in range(0, 30, 2)]
    for i, r in enumerate(recs):
        w.add(r[1], r[0], int(r[6]), f"x{i}", now=0)
    # The earlier day 20200322 after 20200323: 20200323's open window closes (flagged), the replay counts.
    closed = w.add("A0001", "20200322000000", 100, "y0", now=1)
    assert closed == [("20200323", "A0001-20200323000000", [f"x{i}" for i in range(15)])]
    assert w.close_idle(5, now=10) == [("20200322", "A0001-20200322000000", ["y0"])]
    # The same day again: counted again (Redis's set takes it once).
    again = [w.add(r[1], r[0], int(r[6]), f"z{i}", now=11) for i, r in enumerate(recs)]
    assert all(c == [] for c in again[1:])
    assert w.close_idle(5, now=20) == [("20200323", "A0001-20200323000000", [f"z{i}" for i in range(15)])]


def test_a_later_window_on_a_partition_closes_its_other_cars_only() -> None:
    bolt = _bolt()
    w = bolt.Windows()
    w.add("A0001", "20200322000000", 100, "a", partition=0, now=0)
    w.add("B0001", "20200322000000", 10, "b", partition=1, now=0)
    # A record of the next window on partition 0 closes A's window, not B's (partition 1 is behind).
    assert w.add("C0001", "20200322000030", 50, "c", partition=0, now=1) == [
        ("20200322", "A0001-20200322000000", ["a"])]
    assert w.pending == 2
    # Partition 1 idle for 10 s: B's window closes (below the limit); C's partition spoke at 1 s.
    assert w.close_idle(10, now=10.5) == [(None, None, ["b"])]
    assert w.close_idle(10, now=11) == [(None, None, ["c"])]


def test_window_start_names_the_window() -> None:
    bolt = _bolt()
    assert bolt.window_of("20200322235959", 30) == ("20200322", 2879)
    assert bolt.window_start("20200322", 2879, 30) == "20200322235930"


def test_reference_driving_log_runs_through_both() -> None:
    sample = SHARED / "SmartCarDriverInfo.sample.log"
    if not sample.is_file():
        pytest.skip(f"{sample} is absent")
    recs = [line.split(",") for line in sample.read_text().splitlines() if line[:14].isdigit()]
    assert recs
    assert _run_bolt_rule(recs, interleave=True) == stream.overspeeding(recs)


def _settings() -> stream.StreamSettings:
    return stream.StreamSettings(bootstrap=["n1:9092", "n2:9092"], zookeeper=["n1", "n2", "n3"],
                                 zookeeper_port=2181, hbase_znode_parent="/hbase", redis_host="n3",
                                 redis_port=6379, redis_password="s3cret")


def test_flux_yaml_wires_kafka_to_the_bolt_to_hbase() -> None:
    topo = yaml.safe_load(stream.flux_yaml(_settings()))
    assert topo["name"] == stream.TOPOLOGY
    assert topo["config"]["hbase.conf"]["hbase.zookeeper.quorum"] == "n1,n2,n3"
    assert topo["config"]["smartcar.redis.password"] == "s3cret"
    builder = topo["components"][0]
    assert builder["constructorArgs"] == ["n1:9092,n2:9092", ["SmartCar-Topic"]]
    assert {"name": "setProp", "args": ["group.id", stream.CONSUMER_GROUP]} in builder["configMethods"]
    assert [(s["from"], s["to"], s["grouping"]["type"]) for s in topo["streams"]] == [
        ("kafka", "smartcar", "FIELDS"), ("smartcar", "hbase", "SHUFFLE")]
    bolt = topo["bolts"][0]
    assert bolt["constructorArgs"][0] == ["python3", "smartcar_bolt.py"]
    assert bolt["constructorArgs"][1] == ["rowkey", *stream.HBASE_COLUMNS]
    # The message timeout outlasts a window plus its idle close.
    assert topo["config"]["topology.message.timeout.secs"] > 30 + 10


def test_topology_jar_adds_the_resources_to_flux() -> None:
    flux = io.BytesIO()
    with zipfile.ZipFile(flux, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        z.writestr("org/apache/storm/flux/Flux.class", b"\xca\xfe")
        z.writestr("resources/old.py", b"x")
    jar = stream.topology_jar(flux.getvalue(), b"# storm.py", b"# bolt")
    with zipfile.ZipFile(io.BytesIO(jar)) as z:
        names = set(z.namelist())
        assert {"org/apache/storm/flux/Flux.class", "resources/storm.py",
                "resources/smartcar_bolt.py"} <= names
        assert "resources/old.py" not in names
        assert z.read("resources/smartcar_bolt.py") == b"# bolt"
    assert stream.topology_jar(flux.getvalue(), b"# storm.py", b"# bolt") == jar, "reproducible"


def test_payload_names_the_fetch_command_when_the_cache_lacks_it(tmp_path: Path) -> None:
    with pytest.raises(RunFailed) as err:
        stream.payload(tmp_path, "2.8.3", _settings())
    assert "storm-connectors-2.8.3-maven.tar.gz" in str(err.value)
    assert "artifacts fetch" in err.value.fix


def test_settings_name_the_missing_group(tmp_path: Path) -> None:
    from bigdata_admin import inventory

    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"n1": {"ansible_host": "10.0.0.1"}}, "children": {
        "storm_nimbus": {"hosts": {"n1": None}}, "storm_supervisor": {"hosts": {"n1": None}},
        "kafka_broker": {"hosts": {"n1": None}}, "hbase_master": {"hosts": {"n1": None}},
        "zookeeper": {"hosts": {"n1": None}}}}}))
    with pytest.raises(BadInput) as err:
        stream.settings_for(inventory.load(inv))
    assert "redis" in str(err.value)


def test_watcher_rates_and_new_members(monkeypatch: pytest.MonkeyPatch) -> None:
    """`pilot watch`'s arithmetic: records/s from two samples of the offsets, new members once."""
    lags = iter([{"end": 1000, "committed": 400, "lag": 600}, {"end": 3000, "committed": 2400, "lag": 600}])
    members = iter([{b"A0001-20200322000000"}, {b"A0001-20200322000000", b"B0001-20200322000030"}])
    clock = iter([100.0, 102.0])

    class FakeRedis:
        def smembers(self, _day: str) -> set[bytes]:
            return next(members)

    monkeypatch.setattr(stream, "consumer_lag", lambda _b, _t: next(lags))
    monkeypatch.setattr(stream, "redis_client", lambda _c: FakeRedis())
    monkeypatch.setattr(stream.time, "time", lambda: next(clock))
    monkeypatch.setattr("bigdata_admin.pilot.endpoints.kafka_bootstrap", lambda _c: ["n1:9092"])
    w = stream.Watcher(object(), "20200322")  # type: ignore[arg-type]
    first = w.sample()
    assert first["in_per_s"] is None and first["new"] == ["A0001-20200322000000"]
    second = w.sample()
    assert (second["in_per_s"], second["out_per_s"], second["lag"]) == (1000.0, 1000.0, 600)
    assert second["new"] == ["B0001-20200322000030"] and second["overspeeding"] == 2
    assert (first["new_count"], second["new_count"]) == (1, 1)
    assert w.render() is not None


def test_waiting_for_the_day_looks_again_after_a_retriable_kafka_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A coordinator that moves while the stream runs (NotCoordinatorError, seen on a busy lab) is looked
    at again; a non-retriable error stops the wait."""
    from kafka.errors import NotCoordinatorError, UnsupportedVersionError

    answers: list[Any] = [NotCoordinatorError("moved"), {"end": 10, "committed": 10, "lag": 0}]

    def lag(_b: Any, _t: Any) -> dict[str, int]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    monkeypatch.setattr(stream, "consumer_lag", lag)
    monkeypatch.setattr(stream, "day_row_count", lambda _c, _d: 10)
    monkeypatch.setattr(stream.time, "sleep", lambda _s: None)
    monkeypatch.setattr("bigdata_admin.pilot.endpoints.kafka_bootstrap", lambda _c: ["n1:9092"])
    assert stream.wait_for_day(object(), "20200322", 10, timeout=60) == 10  # type: ignore[arg-type]
    assert answers == []
    answers[:] = [UnsupportedVersionError("no")]
    with pytest.raises(UnsupportedVersionError):
        stream.wait_for_day(object(), "20200322", 10, timeout=60)  # type: ignore[arg-type]
