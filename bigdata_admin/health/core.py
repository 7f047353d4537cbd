"""Small helpers shared by the core probes and smoke tests: addresses, ports, secrets, ZooKeeper's
four-letter words, HTTP JSON. Pure functions where possible so they are unit-tested."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from pathlib import Path
from typing import Any

from bigdata_admin import paths
from bigdata_admin.inventory import Cluster, Host

TIMEOUT = 3.0
"""Seconds any single probe waits on the network."""


def address(host: Host) -> str:
    return host.address or host.name


def port(cluster: Cluster, var: str, host: Host | None = None) -> int:
    value = host.var(var) if host is not None else None
    if value is None:
        value = cluster.var(var)
    return int(value)


def secrets_dir(cluster: Cluster) -> Path:
    """The control host's secrets directory of this cluster (same rule as the roles)."""
    configured = cluster.var("bigdata_secrets_dir")
    if configured and "{{" not in str(configured):
        return Path(str(configured)).expanduser()
    return paths.secrets_dir(cluster.name)


def read_secret(cluster: Cluster, name: str) -> str | None:
    """A generated secret (e.g. `redis_password`), or None when it was never generated."""
    path = secrets_dir(cluster) / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    # Ansible's password lookup may append ` salt=...` when asked to encrypt; the roles do not.
    return text.strip().split(" salt=")[0] or None


def short_error(exc: BaseException) -> str:
    """The telling line of a client library's error (e.g. psycopg's `FATAL: ...`), on one line."""
    import re

    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    fatal = next((x for x in lines if "FATAL" in x), None)
    if fatal is not None:
        return fatal[fatal.index("FATAL"):]
    return re.sub(r"^.* failed: ", "", lines[0])


def java_error(text: str, limit: int = 400) -> str:
    """The root cause of a Java error that a server relays in its answer (HiveServer2 and the Spark
    Thrift Server send the whole stack trace): frames dropped, the innermost `Class: message` of the
    last `Caused by:` (else of the first line) kept, on one line of at most `limit` characters.

    `...HiveSQLException: Error running query: ...AccessControlException Permission denied: user=x`
    -> `AccessControlException: Permission denied: user=x`.
    """
    import re

    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    messages = [ln for ln in lines if not ln.startswith("at ") and not re.match(r"^\.\.\. \d+ more", ln)]
    if not messages:
        return text.strip()[:limit]
    causes = [i for i, ln in enumerate(messages) if ln.startswith("Caused by:")]
    at = causes[-1] if causes else 0
    core = messages[at].removeprefix("Caused by:").strip()
    if core.endswith(":") and at + 1 < len(messages):  # the message went on the next line
        core = f"{core} {messages[at + 1]}"
    found = list(re.finditer(r"([A-Za-z_$][\w$]*(?:Exception|Error))\b:?\s*", core))
    if found and core[found[-1].end():].strip():
        core = f"{found[-1].group(1)}: {core[found[-1].end():].strip()}"
    return core[:limit]


def reason(exc: BaseException) -> str:
    """A short reason for people instead of a library's raw exception text.

    `<urlopen error [Errno 111] Connection refused>` -> `connection refused`; an HTTP error ->
    `HTTP 404 Not Found`; a timeout -> `no answer in time`; else the telling line (`short_error`).
    """
    import errno
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return reason(exc.reason)
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH,
                                                  errno.ECONNRESET):
        return (exc.strerror or type(exc).__name__).lower()
    if is_timeout(exc):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = short_error(exc)
    text = re.sub(r"\[Errno -?\d+\]\s*", "", text)
    refused = "refused" in text.lower() or "could not connect" in text.lower()
    return "connection refused" if refused else text


SETTINGS_TO_COMPARE: dict[str, str] = {
    "zookeeper": "zookeeper_client_port (and zookeeper_4lw_whitelist: srvr, mntr)",
    "kafka": "kafka_broker_port and the listener's security protocol (PLAINTEXT; kafka_extra_config "
             "must not change listener.security.protocol.map)",
    "redis": "redis_port and the redis password in the secrets dir (a TLS-only Redis never answers "
             "a plain client)",
    "postgresql": "metastore_db_port (something other than PostgreSQL listens there, or it waits for SSL)",
    "webhdfs": "hdfs_namenode_http_port (dfs.namenode.http-address of the NameNode)",
}
"""Client -> the inventory settings to compare with the server when it accepts and never answers."""


def is_timeout(exc: BaseException) -> bool:
    """True for any client library's "no answer in time" error (socket, Thrift, kafka, kazoo, libpq)."""
    if isinstance(exc, TimeoutError):
        return True
    name = type(exc).__name__.lower()
    text = str(exc).lower()
    return ("timeout" in name or "timed out" in text or "timeout expired" in text
            or "nobrokersavailable" in name)


def no_answer(client: str, where: str, seconds: float, exc: BaseException) -> str:
    """The message for a server at `where` that accepted the connection and did not answer."""
    return (f"{where} accepted the connection but did not answer within {seconds:g} s "
            f"({type(exc).__name__}); compare {SETTINGS_TO_COMPARE[client]} with the server")


def says_no_answer(detail: str) -> bool:
    """True for a detail written by `reason` for a timeout or by `no_answer`."""
    text = detail.lower()
    return "no answer in time" in text or "did not answer within" in text


def kafka_timeouts(client_class: Any, handshake_s: float = TIMEOUT) -> dict[str, int]:
    """Keyword arguments giving a kafka-python client a short bootstrap (connect + version probe)
    timeout: `bootstrap_timeout_ms` in kafka-python 3, `api_version_auto_timeout_ms` before."""
    config = getattr(client_class, "DEFAULT_CONFIG", {})
    ms = int(handshake_s * 1000)
    for key in ("bootstrap_timeout_ms", "api_version_auto_timeout_ms"):
        if key in config:
            return {key: ms}
    return {}


def redis_no_retry() -> dict[str, Any]:
    """Keyword arguments making redis-py give up after one timeout (its default retries 3 times with
    backoff: a silent server held `status` for 38 s)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {"retry": Retry(NoBackoff(), 0), "retry_on_timeout": False}


def port_open(host: str, port_: int, timeout: float = TIMEOUT) -> bool:
    try:
        with socket.create_connection((host, port_), timeout=timeout):
            return True
    except OSError:
        return False


def four_letter_word(host: str, port_: int, word: str, timeout: float = TIMEOUT) -> str:
    """Send a ZooKeeper four-letter word and return the whole answer. Raises OSError."""
    with socket.create_connection((host, port_), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(word.encode("ascii"))
        chunks: list[bytes] = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode("utf-8", errors="replace")


def parse_srvr(text: str) -> dict[str, str]:
    """`srvr`/`stat` answer -> {"Zookeeper version": ..., "Mode": "leader", "Zxid": ..., ...}.

    A member outside a quorum answers "This ZooKeeper instance is not currently serving requests":
    that gives {"not_serving": "true"}.
    """
    if "not currently serving requests" in text:
        return {"not_serving": "true"}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key and not key.startswith(" ") and not key.startswith("\t"):
            out[key.strip()] = value.strip()
    return out


def parse_mntr(text: str) -> dict[str, str]:
    """`mntr` answer (tab-separated `zk_key<TAB>value` lines) -> dict."""
    if "not currently serving requests" in text:
        return {"not_serving": "true"}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            out[key.strip()] = value.strip()
    return out


def quorum_size(members: int) -> int:
    """Members a ZooKeeper ensemble (or a KRaft quorum) needs up: a strict majority."""
    return members // 2 + 1


def http_json(url: str, timeout: float = TIMEOUT) -> Any:
    """GET a URL and decode its JSON body. Raises OSError/ValueError on failure."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def storm_ui_url(cluster: Cluster) -> str | None:
    ui = cluster.first("storm_ui")
    if ui is None:
        return None
    return f"http://{address(ui)}:{port(cluster, 'storm_ui_port', ui)}"


def kafka_bootstrap(cluster: Cluster) -> list[str]:
    return [f"{address(h)}:{port(cluster, 'kafka_broker_port', h)}" for h in cluster.hosts_in("kafka_broker")]
