"""sqlclient.query with PyHive: statements run asynchronously and are polled, so a MapReduce INSERT
longer than the socket timeout does not fail with `read timeout` (seen against HiveServer2 4.0)."""

from __future__ import annotations

from typing import Any

import pytest
from pyhive.exc import OperationalError
from TCLIService.ttypes import TGetOperationStatusResp, TOperationState

from bigdata_admin import sqlclient


class Cursor:
    """Stands in for pyhive.hive.Cursor: records the calls, answers poll() from a script of states."""

    def __init__(self, states: list[int], error: str = "") -> None:
        self.states, self.error = states, error
        self.calls: list[tuple[str, Any]] = []
        self.description = [("id", "INT_TYPE")]

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("execute", (sql, args, kwargs)))

    def poll(self) -> TGetOperationStatusResp:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        self.calls.append(("poll", state))
        return TGetOperationStatusResp(operationState=state, errorMessage=self.error or None)

    def cancel(self) -> None:
        self.calls.append(("cancel", None))

    def fetchall(self) -> list[tuple[int]]:
        return [(1,), (2,)]

    def close(self) -> None:
        pass


Cursor.__module__ = "pyhive.hive"


class Conn:
    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

    def cursor(self) -> Cursor:
        return self.cur


S = TOperationState


def test_pyhive_statement_runs_async_and_is_polled_until_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlclient.time, "sleep", lambda s: None)
    cur = Cursor([S.PENDING_STATE, S.RUNNING_STATE, S.RUNNING_STATE, S.FINISHED_STATE])
    assert sqlclient.query(Conn(cur), "SELECT id FROM t") == [(1,), (2,)]
    assert cur.calls[0] == ("execute", ("SELECT id FROM t", (), {"async_": True}))
    assert [c for c in cur.calls if c[0] == "poll"][-1] == ("poll", S.FINISHED_STATE)
    assert len([c for c in cur.calls if c[0] == "poll"]) == 4


def test_pyhive_failed_statement_raises_the_servers_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlclient.time, "sleep", lambda s: None)
    cur = Cursor([S.RUNNING_STATE, S.ERROR_STATE], error="FAILED: Execution Error, return code 2")
    with pytest.raises(OperationalError, match="return code 2"):
        sqlclient.query(Conn(cur), "INSERT INTO t VALUES (1)")


def test_pyhive_statement_past_its_wait_is_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlclient.time, "sleep", lambda s: None)
    cur = Cursor([S.RUNNING_STATE])
    with pytest.raises(OperationalError, match="longer than 0 s"):
        sqlclient.query(Conn(cur), "INSERT INTO t VALUES (1)", wait_s=0)
    assert ("cancel", None) in cur.calls
