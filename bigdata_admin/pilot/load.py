"""Load a generated (or the book's own) pilot day into the cluster.

- Status log, car master and purchases go to their HDFS directories over WebHDFS (the `hdfs`
  package). Only valid records are written (header lines skipped, malformed lines counted with their
  line numbers). A day's directory is replaced as a whole, so re-loading never duplicates.
- Driving-log lines go unchanged to the Kafka topic `SmartCar-Topic`, as fast as possible or replayed
  in simulated real time at a chosen speed-up.
- The HBase table `DriverCarInfo` (family cf1) is created pre-split when missing. Optionally the
  driving records are written straight into it (what the Storm topology does), or exported as text
  for the `SmartCar_Drive_Info` stand-in table.

Payload builders (`*_payload`) are pure and shared with the tests; the network code stays thin.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.pilot import records

T = TypeVar("T")

HDFS_ROOT = "/pilot-pjt"
STATUS_DIR = "collect/car-batch-log"
MASTER_DIR = "collect/car-master"
BUY_DIR = "collect/buy-list"
DRIVE_TEXT_DIR = "collect/car-drive-info"
KAFKA_TOPIC = "SmartCar-Topic"
HBASE_TABLE = "DriverCarInfo"
HBASE_FAMILY = "cf1"
HBASE_REGIONS = 4
CHUNK_BYTES = 4 << 20


@dataclass
class LoadStep:
    name: str
    target: str
    report: records.ParseReport
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Payloads (pure)

def _chunked(lines: Iterator[str], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    buf: list[str] = []
    n = 0
    for line in lines:
        buf.append(line)
        n += len(line)
        if n >= size:
            yield "".join(buf).encode("utf-8")
            buf, n = [], 0
    if buf:
        yield "".join(buf).encode("utf-8")


def status_payload(path: Path, report: records.ParseReport) -> Iterator[bytes]:
    """The valid status records of a log, newline-terminated, in chunks of a few MB."""
    return _chunked(line + "\n" for line, _ in records.read_log(path, "status", report))


def drive_text_payload(path: Path, report: records.ParseReport) -> Iterator[bytes]:
    """Driving records as rows of the text `SmartCar_Drive_Info` (row key first)."""
    return _chunked(records.drive_info_text_line(f) for _, f in records.read_log(path, "drive", report))


def delimited_payload(path: Path, kind: str, report: records.ParseReport) -> Iterator[bytes]:
    """The valid rows of the car master ("master", `|`) or the purchases ("buy", `,`)."""
    if kind == "master":
        rows = records.read_master(path, report)
        sep = "|"
    else:
        rows = records.read_buy_list(path, report)
        sep = ","
    return _chunked(sep.join(r) + "\n" for r in rows)


def drive_text_name(day: str) -> str:
    """File of a day's driving records in the (unpartitioned) text SmartCar_Drive_Info directory."""
    return f"SmartCarDriveInfo_{day}.txt"


def hbase_split_keys(regions: int = HBASE_REGIONS) -> list[str]:
    """Split points for `DriverCarInfo`.

    The book pre-splits with HexStringSplit (00000000..ffffffff), but its row keys start with a
    decimal digit (a reversed timestamp), so half of those regions never get a row. Evenly spaced
    decimal prefixes spread the keys over all regions.
    """
    if regions < 2:
        return []
    keys = []
    for i in range(1, regions):
        value = i * 10 ** 4 // regions  # 4-digit prefix: 2500, 5000, 7500 for 4 regions
        keys.append(f"{value:04d}".rstrip("0") or "0")
    return keys


def retry(action: Callable[[], T], what: str, attempts: int = 3, delay: float = 2.0,
          inventory: str | None = None) -> T:
    """Run `action`, retrying transient failures with a growing pause. `inventory`: the one the user
    passed, named in the fix."""
    from bigdata_admin.deployment import status_hint

    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except (BadInput, KeyboardInterrupt):
            raise
        except Exception as exc:
            last = exc
            if attempt < attempts:
                time.sleep(delay * attempt)
    raise RunFailed(f"{what} failed after {attempts} attempts: {last}",
                    fix=f"Check that the service runs ({status_hint(inventory)}) and retry.") from last


# --------------------------------------------------------------------------------------------------
# HDFS

class LocalFsClient:
    """The three WebHDFS client calls `hdfs_put` uses, on this machine's file system, for a pilot
    root given as a `file:` URI (`file:/tmp/pjt` or `file:///tmp/pjt`): no NameNode needed."""

    @staticmethod
    def local_path(uri: str) -> Path:
        if not uri.startswith("file:"):
            raise BadInput(f"{uri} is not a file: URI", fix="Pass e.g. --pilot-root file:/tmp/pjt.")
        return Path("/" + uri[len("file:"):].lstrip("/"))

    def delete(self, path: str, recursive: bool = False) -> None:
        target = self.local_path(path)
        if target.is_dir() and recursive:
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()

    def makedirs(self, path: str) -> None:
        self.local_path(path).mkdir(parents=True, exist_ok=True)

    def write(self, path: str, data: Iterable[bytes], overwrite: bool = False) -> None:
        target = self.local_path(path)
        if target.exists() and not overwrite:
            raise BadInput(f"{target} exists", fix="Remove it or load again (a load replaces the day).")
        with target.open("wb") as out:
            for chunk in data:
                out.write(chunk)


def is_local_root(pilot_root: str) -> bool:
    """Whether the pilot root is on this machine's file system (a `file:` URI)."""
    return pilot_root.startswith("file:")


def hdfs_put(client: Any, hdfs_dir: str, file_name: str, payload: Callable[[], Iterator[bytes]],
             replace_dir: bool, inventory: str | None = None) -> None:
    """Write one file under hdfs_dir; replace_dir removes the directory first (a whole day)."""
    def attempt() -> None:
        if replace_dir:
            client.delete(hdfs_dir, recursive=True)
        client.makedirs(hdfs_dir)
        client.write(f"{hdfs_dir}/{file_name}", data=payload(), overwrite=True)

    retry(attempt, f"writing {hdfs_dir}/{file_name} to HDFS", inventory=inventory)


def load_hdfs(client: Any, day: str, *, status: Path | None, master: Path | None, buy: Path | None,
              drive_text: Path | None = None, root: str = HDFS_ROOT,
              progress: Callable[[LoadStep], None] | None = None,
              inventory: str | None = None) -> list[LoadStep]:
    steps: list[LoadStep] = []
    jobs: list[tuple[str, Path, str, str, bool, Callable[[Path, records.ParseReport], Iterator[bytes]]]] = []
    if status:
        jobs.append(("status", status, f"{root}/{STATUS_DIR}/wrk_date={day}", f"SmartCarStatusInfo_{day}.txt",
                     True, status_payload))
    if master:
        jobs.append(("master", master, f"{root}/{MASTER_DIR}", "CarMaster.txt", False,
                     lambda p, r: delimited_payload(p, "master", r)))
    if buy:
        jobs.append(("buy", buy, f"{root}/{BUY_DIR}", f"CarItemBuyList_{day[:6]}.txt", False,
                     lambda p, r: delimited_payload(p, "buy", r)))
    if drive_text:
        # SmartCar_Drive_Info is not partitioned: one file per day directly in its directory.
        jobs.append(("drive-text", drive_text, f"{root}/{DRIVE_TEXT_DIR}", drive_text_name(day), False,
                     drive_text_payload))
    for name, path, target, file_name, replace, build in jobs:
        if not path.is_file():
            raise BadInput(f"{path} does not exist",
                           fix="Run `bigdata-admin pilot generate` first or pass --data.")
        t0 = time.perf_counter()
        holder: dict[str, records.ParseReport] = {}

        def payload(path: Path = path, build: Any = build,
                    holder: dict[str, Any] = holder) -> Iterator[bytes]:
            holder["report"] = records.ParseReport(str(path))  # a retry starts counting afresh
            out: Iterator[bytes] = build(path, holder["report"])
            return out

        hdfs_put(client, target, file_name, payload, replace, inventory)
        step = LoadStep(name, f"{target}/{file_name}", holder["report"], round(time.perf_counter() - t0, 2))
        steps.append(step)
        if progress:
            progress(step)
    return steps


# --------------------------------------------------------------------------------------------------
# Kafka

def replay_delays(times: list[str], speedup: float) -> list[float]:
    """Seconds to wait before each record so that a log replays at `speedup` x real time."""
    from datetime import datetime

    if not times:
        return []
    base = datetime.strptime(times[0], "%Y%m%d%H%M%S")
    return [max(0.0, (datetime.strptime(t, "%Y%m%d%H%M%S") - base).total_seconds() / speedup) for t in times]


def load_kafka(bootstrap: list[str], path: Path, *, topic: str = KAFKA_TOPIC, speedup: float | None = None,
               rate: float | None = None, progress: Callable[[int], None] | None = None,
               progress_every: int = 100_000) -> LoadStep:
    """Send every valid driving-log line (text unchanged, keyed by car number) to Kafka.

    Pacing: `speedup` replays the log's own times that many times faster; `rate` sends that many
    records per second (the book's simulator: 1,000); neither sends as fast as possible.
    `progress(sent)` is called every `progress_every` records and at the end.
    Raises RunFailed when Kafka cannot be reached."""
    from datetime import datetime

    from kafka import KafkaProducer

    report = records.ParseReport(str(path))
    t0 = time.perf_counter()
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=256 * 1024,
                                 retries=5, client_id="bigdata-admin-pilot")
    except Exception as exc:
        raise RunFailed(f"cannot reach Kafka at {', '.join(bootstrap)}: {exc}",
                        fix="Check the kafka_broker hosts and kafka_broker_port in the inventory.") from exc
    sent = 0
    first_time: datetime | None = None
    try:
        for line, fields in records.read_log(path, "drive", report):
            due = None
            if speedup:
                t = datetime.strptime(fields[0], "%Y%m%d%H%M%S")
                first_time = first_time or t
                due = (t - first_time).total_seconds() / speedup
            elif rate:
                due = sent / rate
            if due is not None:
                wait = due - (time.perf_counter() - t0)
                if wait > 0.005:  # ahead of schedule: hand over what is batched, then wait
                    producer.flush()
                    time.sleep(wait)
            producer.send(topic, value=line.encode("utf-8"), key=fields[1].encode())
            sent += 1
            if progress and sent % progress_every == 0:
                progress(sent)
        producer.flush()
        if progress:
            progress(sent)
    finally:
        producer.close()
    return LoadStep("kafka", f"{topic} @ {','.join(bootstrap)}", report, round(time.perf_counter() - t0, 2),
                    {"sent": sent})


# --------------------------------------------------------------------------------------------------
# HBase

def hbase_create_command(regions: int = HBASE_REGIONS) -> str:
    """The HBase shell statement creating the pre-split table."""
    splits = ", ".join(f"'{k}'" for k in hbase_split_keys(regions))
    return f"create '{HBASE_TABLE}', '{HBASE_FAMILY}', SPLITS => [{splits}]"


def ensure_hbase_table(connection: Any, create_presplit: Callable[[str], None] | None,
                       regions: int = HBASE_REGIONS) -> str:
    """Create `DriverCarInfo` when missing. Returns "exists", "created pre-split" or "created"."""
    tables = {t.decode() if isinstance(t, bytes) else str(t) for t in connection.tables()}
    if HBASE_TABLE in tables:
        return "exists"
    if create_presplit is not None:
        create_presplit(hbase_create_command(regions))
        return "created pre-split"
    # The Thrift1 API cannot pre-split: one region, which HBase splits as it grows.
    connection.create_table(HBASE_TABLE, {HBASE_FAMILY: {"max_versions": 1}})
    return "created"


def load_hbase(connection: Any, path: Path, batch_size: int = 5000,
               progress: Callable[[int], None] | None = None, inventory: str | None = None) -> LoadStep:
    """Write the driving records into DriverCarInfo as the Storm topology does (row key, cf1:*)."""
    report = records.ParseReport(str(path))
    t0 = time.perf_counter()
    table = connection.table(HBASE_TABLE)
    written = 0
    for chunk in records.batched((f for _, f in records.read_log(path, "drive", report)), batch_size):
        def send(chunk: list[list[str]] = chunk) -> None:
            with table.batch() as b:
                for fields in chunk:
                    key, data = records.hbase_row(fields)
                    b.put(key, data)

        retry(send, "writing a batch to HBase", inventory=inventory)
        written += len(chunk)
        if progress:
            progress(written)
    return LoadStep("hbase", HBASE_TABLE, report, round(time.perf_counter() - t0, 2), {"written": written})


def ansible_hbase_shell(inventory: Path, host: str, hbase_bin: str) -> Callable[[str], None]:
    """A callable running one HBase shell statement on `host` through Ansible (as user hbase)."""
    import shlex
    import subprocess
    import sys

    ansible = str(Path(sys.executable).with_name("ansible"))

    def run(statement: str) -> None:
        shell = f"echo {shlex.quote(statement)} | {shlex.quote(hbase_bin)} shell -n"
        proc = subprocess.run([ansible, host, "-i", str(inventory), "-b", "--become-user", "hbase",
                               "-m", "ansible.builtin.shell", "-a", shell],
                              capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            raise RunFailed(f"the HBase shell on {host} failed: {(proc.stdout + proc.stderr)[-800:]}",
                            fix=f"Check that HBase runs and that {hbase_bin} exists on {host}.")

    return run


def cluster_hbase_shell(cluster: Any) -> Callable[[str], None] | None:
    """`ansible_hbase_shell` on the inventory's first HMaster, through the role's admin command (the
    release's bin/hbase when there is one, else `java -cp` over the Maven bundle, which has no bin/);
    None without an hbase_master host."""
    master = cluster.first("hbase_master")
    if master is None:
        return None
    cli_dir = cluster.var("hbase_cli_dir", "/usr/local/bin")
    hbase_bin = str(cluster.var("pilot_hbase_bin", f"{cli_dir}/hbase"))
    return ansible_hbase_shell(Path(cluster.source), master.name, hbase_bin)
