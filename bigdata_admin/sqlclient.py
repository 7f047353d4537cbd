"""SQL over the HiveServer2 protocol: HiveServer2, the Spark Thrift Server and Impala.

`hs2_connect(host, port, auth, user, driver)` returns a DB-API connection through impyla or PyHive.
The authentication mode must match the server's `hive.server2.authentication`; when it does not, the
Thrift layer only says `TSocket read 0 bytes`. This module turns that (and a refused connection)
into `SqlConnectError`, a `RunFailed` whose message names the auth modes and the setting to change.

The auth mode of each endpoint is one inventory setting shared by the server's config and every
client: `hive_server2_auth` (HiveServer2), `spark_thrift_auth` (Spark Thrift Server) and
`impala_daemon_hs2_auth` (impalad), all in roles/bigdata_defaults/defaults/main.yml.
`endpoint(cluster, "hive"|"spark"|"impala")` reads them from an inventory.
"""

from __future__ import annotations

import contextlib
import getpass
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bigdata_admin.choices import HS2_AUTH_MODES
from bigdata_admin.errors import BadInput, RunFailed

if TYPE_CHECKING:
    from bigdata_admin.inventory import Cluster

Driver = Literal["impyla", "pyhive"]
AUTH_MODES: tuple[str, ...] = HS2_AUTH_MODES
"""Values of hive.server2.authentication this module speaks. NONE is SASL PLAIN without a password
check; NOSASL is a plain Thrift socket (no SASL handshake)."""
DRIVERS: tuple[str, ...] = ("impyla", "pyhive")

# Where the auth mode of each endpoint lives in the inventory, and which group/port serves it.
ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "hive": ("hive_server2", "hive_server2_port", "hive_server2_auth"),
    "spark": ("spark_thrift", "spark_thrift_port", "spark_thrift_auth"),
    "impala": ("impala_daemon", "impala_daemon_hs2_port", "impala_daemon_hs2_auth"),
}


class SqlConnectError(RunFailed):
    """Connecting or talking to a HiveServer2-protocol server failed."""


@dataclass(frozen=True)
class Endpoint:
    service: str
    host: str
    port: int
    auth: str
    setting: str
    """The inventory variable holding the auth mode (named in error messages)."""


def endpoint(cluster: Cluster, service: str) -> Endpoint:
    """The first host of the service's group, its port and its auth mode from the inventory."""
    if service not in ENDPOINTS:
        raise BadInput(f"unknown SQL service {service!r}", fix=f"Use one of {', '.join(ENDPOINTS)}.")
    group, port_var, auth_var = ENDPOINTS[service]
    host = cluster.first(group)
    if host is None:
        raise BadInput(f"the inventory has no host in group {group!r}, so there is no {service} SQL endpoint",
                       fix=f"Add a host under `{group}:` in the inventory, or pick another service.")
    port = int(host.var(port_var, cluster.var(port_var)))
    auth = str(host.var(auth_var, default_auth(service, cluster))).upper()
    return Endpoint(service, host.address or host.name, port, auth, auth_var)


def default_auth(service: str, cluster: Cluster | None = None) -> str:
    """The auth mode clients use for `service` ("hive", "spark", "impala") when none is given.

    One source: the inventory's setting (`hive_server2_auth`, `spark_thrift_auth`,
    `impala_daemon_hs2_auth`), else the shared defaults role's value, which the servers use too.
    """
    from bigdata_admin.inventory import role_defaults

    if service not in ENDPOINTS:
        raise BadInput(f"unknown SQL service {service!r}", fix=f"Use one of {', '.join(ENDPOINTS)}.")
    var = ENDPOINTS[service][2]
    value = cluster.var(var) if cluster is not None else None
    return str(value if value is not None else role_defaults()[var]).upper()


def _mismatch_message(host: str, port: int, auth: str, setting: str | None) -> tuple[str, str]:
    where = f"the `{setting}` setting" if setting else \
        "`hive_server2_auth` / `spark_thrift_auth` / `impala_daemon_hs2_auth` (whichever names this server)"
    message = (f"{host}:{port} closed the connection during the handshake (TSocket read 0 bytes): the "
               f"client used auth {auth}, which is probably not the server's hive.server2.authentication. "
               f"Auth modes: NONE (SASL PLAIN, any user, no password check), NOSASL (plain Thrift, no "
               f"SASL), LDAP/CUSTOM (SASL PLAIN with a password).")
    other = "NOSASL" if auth != "NOSASL" else "NONE"
    fix = (f"Make client and server agree through {where} in the inventory (then redeploy the server), "
           f"or connect with auth={other}.")
    return message, fix


def _is_handshake_eof(exc: BaseException) -> bool:
    text = str(exc)
    return "read 0 bytes" in text or "TSocket read 0" in text or "Connection reset by peer" in text


def _is_timeout(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, TimeoutError) or "timed out" in text or "timeout" in text


def _timeout_message(host: str, port: int, auth: str, setting: str | None,
                     exc: BaseException) -> tuple[str, str]:
    where = f"`{setting}`" if setting else \
        "`hive_server2_auth` / `spark_thrift_auth` / `impala_daemon_hs2_auth` (whichever names this server)"
    other = "NOSASL" if auth != "NOSASL" else "NONE"
    message = (f"{host}:{port} accepted the connection but did not answer the handshake ({exc}): the client "
               f"used auth {auth}; a server with another hive.server2.authentication waits for a handshake "
               "this client never sends")
    fix = (f"Compare {where} in the inventory with the server's hive.server2.authentication (then redeploy "
           f"the server), or connect with auth={other}; if the auth agrees, the server is overloaded.")
    return message, fix


@contextlib.contextmanager
def translate_errors(host: str, port: int, auth: str, setting: str | None = None,
                     inventory: str | None = None) -> Iterator[None]:
    """Turn transport failures inside the block into SqlConnectError with a message and a fix
    (naming `inventory`, the inventory the user passed, in the commands it suggests)."""
    from bigdata_admin.deployment import status_hint

    runs = f"Check that the server runs ({status_hint(inventory)}) and the host/port are right."
    try:
        yield
    except SqlConnectError:
        raise
    except OSError as exc:
        if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
            raise SqlConnectError(
                f"nothing accepts connections on {host}:{port} (connection refused)", fix=runs,
            ) from exc
        if _is_timeout(exc):
            raise SqlConnectError(*_timeout_message(host, port, auth, setting, exc)) from exc
        if _is_handshake_eof(exc):
            raise SqlConnectError(*_mismatch_message(host, port, auth, setting)) from exc
        raise
    except Exception as exc:
        if _is_timeout(exc):
            raise SqlConnectError(*_timeout_message(host, port, auth, setting, exc)) from exc
        if _is_handshake_eof(exc):
            raise SqlConnectError(*_mismatch_message(host, port, auth, setting)) from exc
        if "Could not connect" in str(exc) or "Connection refused" in str(exc):
            raise SqlConnectError(
                f"nothing accepts connections on {host}:{port} (connection refused)", fix=runs,
            ) from exc
        raise


def _pyhive_transport(host: str, port: int, auth: str, user: str, password: str | None,
                      timeout: float) -> Any:
    """The Thrift transport PyHive would build, but with a socket timeout."""
    from thrift.transport import TSocket, TTransport

    sock = TSocket.TSocket(host, port)
    sock.setTimeout(int(timeout * 1000))
    if auth == "NOSASL":
        return TTransport.TBufferedTransport(sock)
    import thrift_sasl
    from pyhive.hive import get_installed_sasl

    secret = password if password is not None else "x"  # NONE ignores it but SASL PLAIN needs one

    def factory() -> Any:
        return get_installed_sasl(host=host, sasl_auth="PLAIN", service=None, username=user, password=secret)

    return thrift_sasl.TSaslClientTransport(factory, "PLAIN", sock)


HANDSHAKE_TIMEOUT = 10.0
"""Seconds to connect, authenticate and open a session; queries then get `timeout`."""


def hs2_connect(host: str, port: int, auth: str = "NONE", user: str | None = None,
                driver: Driver | str = "impyla", *, password: str | None = None,
                database: str = "default", timeout: float = 60.0, setting: str | None = None,
                handshake_timeout: float = HANDSHAKE_TIMEOUT, inventory: str | None = None) -> Any:
    """Open a DB-API connection to a HiveServer2-protocol server and prove a session opens.

    auth: the server's hive.server2.authentication (NONE, NOSASL, LDAP, CUSTOM).
    driver: "impyla" (impala.dbapi) or "pyhive" (pyhive.hive).
    setting: the inventory variable holding the auth mode, named in error messages.
    inventory: the inventory the user passed, named in the commands error messages suggest.
    timeout: seconds each later call (a query) may take; handshake_timeout: seconds to connect and
    open the session (at most `timeout`).
    A mismatched auth mode (closed connection, or no answer within handshake_timeout) raises
    SqlConnectError naming the modes and the setting.
    """
    from bigdata_admin.clients import set_socket_timeout

    first = min(handshake_timeout, timeout)
    auth = (auth or "NONE").upper()
    if auth not in AUTH_MODES:
        raise BadInput(f"auth mode {auth!r} is not one of {', '.join(AUTH_MODES)}",
                       fix="Set the endpoint's auth setting (e.g. spark_thrift_auth) to NONE or NOSASL.")
    if driver not in DRIVERS:
        raise BadInput(f"SQL driver {driver!r} is not one of {', '.join(DRIVERS)}",
                       fix="Use driver='impyla' or driver='pyhive'.")
    if auth in ("LDAP", "CUSTOM") and password is None:
        raise BadInput(f"auth {auth} needs a password", fix="Pass password=... for LDAP/CUSTOM auth.")
    user = user or getpass.getuser()
    with translate_errors(host, port, auth, setting, inventory):
        if driver == "impyla":
            from impala.dbapi import connect as impyla_connect

            mechanism = {"NONE": "PLAIN", "NOSASL": "NOSASL", "LDAP": "LDAP", "CUSTOM": "PLAIN"}[auth]
            conn = impyla_connect(host=host, port=port, auth_mechanism=mechanism, user=user,
                                  password=password, database=database, timeout=first, retries=1)
            try:
                # impyla opens the session lazily: open one now so a mismatch shows up here.
                conn.cursor().close()
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.close()
                raise
            set_socket_timeout(conn, timeout)
            return conn
        from pyhive import hive

        transport = _pyhive_transport(host, port, auth, user, password, first)
        conn = hive.connect(thrift_transport=transport, username=user, database=database)
        set_socket_timeout(transport, timeout)
        return conn


def connect_to(cluster: Cluster, service: str, driver: Driver | str = "impyla", user: str | None = None,
               timeout: float = 60.0) -> Any:
    """hs2_connect() to a service of an inventory ("hive", "spark" or "impala")."""
    ep = endpoint(cluster, service)
    return hs2_connect(ep.host, ep.port, ep.auth, user, driver, timeout=timeout, setting=ep.setting,
                       inventory=str(cluster.source))


ROW_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "VALUES", "FROM",
                            "TABLE", "SET"})
"""First keywords of statements that return rows. Others (DDL, INSERT) are not fetched: the Spark
Thrift Server describes them with a `Result` column but fetching it fails in PyHive."""


def returns_rows(sql: str) -> bool:
    text = sql.lstrip()
    while text.startswith(("--", "(")):
        text = text.split("\n", 1)[1].lstrip() if text.startswith("--") else text[1:].lstrip()
    words = text.split(None, 1)
    return bool(words) and words[0].upper() in ROW_STATEMENTS


QUERY_WAIT_S = 1800.0
"""Seconds a statement may run (a Hive INSERT is a MapReduce job: minutes on a loaded cluster)."""


def _pyhive_execute(cur: Any, sql: str, params: Sequence[Any] | None, wait_s: float) -> None:
    """Run `sql` asynchronously with PyHive and poll until it ends (at most `wait_s` seconds).

    PyHive's default is a synchronous ExecuteStatement that holds one Thrift call open for the whole
    statement, so any statement longer than the socket timeout fails with `read timeout`. Raises
    pyhive.exc.OperationalError when the statement fails or runs too long (it is then cancelled).
    """
    from pyhive.exc import OperationalError
    from TCLIService.ttypes import TOperationState

    running = (TOperationState.INITIALIZED_STATE, TOperationState.PENDING_STATE,
               TOperationState.RUNNING_STATE)
    if params is None:
        cur.execute(sql, async_=True)
    else:
        cur.execute(sql, params, async_=True)
    deadline = time.monotonic() + wait_s
    delay = 0.2
    while True:
        status = cur.poll()
        if status.operationState not in running:
            break
        if time.monotonic() > deadline:
            with contextlib.suppress(Exception):
                cur.cancel()
            raise OperationalError(f"the statement ran longer than {int(wait_s)} s and was cancelled")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    if status.operationState != TOperationState.FINISHED_STATE:
        state = TOperationState._VALUES_TO_NAMES.get(status.operationState, status.operationState)
        raise OperationalError(status.errorMessage or f"the statement ended in state {state}")


def query(conn: Any, sql: str, params: Sequence[Any] | None = None,
          fetch: bool | None = None, wait_s: float = QUERY_WAIT_S) -> list[tuple[Any, ...]]:
    """Run one statement; return its rows (empty for statements that return none).

    fetch: force fetching (True) or not (False); by default decided by the first keyword.
    wait_s: seconds the statement may run (PyHive: polled, see _pyhive_execute; impyla polls itself).
    """
    cur = conn.cursor()
    try:
        if type(cur).__module__.startswith("pyhive."):
            _pyhive_execute(cur, sql, params, wait_s)
        elif params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
        if fetch is False or (fetch is None and not returns_rows(sql)) or cur.description is None:
            return []
        return [tuple(row) for row in cur.fetchall()]
    finally:
        with contextlib.suppress(Exception):
            cur.close()
