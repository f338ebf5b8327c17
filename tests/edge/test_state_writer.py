"""The write budget's and the requests' commits run on their writer threads, never on the
thread that counts the write or saves the request (the control loop's), in the order
handed over; a store used after its close says so and writes nothing."""

from __future__ import annotations

import sqlite3
import threading

from edge.core.model import Requests
from edge.drivers.budget import WriteBudget
from edge.requests_store import RequestStore
from edge.state_db import StorageHealth
from edge.state_writer import StateWriter


def _commits_on(db: sqlite3.Connection) -> list[str]:
    """The name of the thread of every statement the connection runs from now on."""
    threads: list[str] = []
    db.set_trace_callback(lambda _sql: threads.append(threading.current_thread().name))
    return threads


def test_budget_and_request_writes_run_off_the_calling_thread(tmp_path):
    db = str(tmp_path / "state.sqlite")
    budget = WriteBudget("inverter", 100, db)
    store = RequestStore(db)
    on_budget = _commits_on(budget._writer.db)
    on_store = _commits_on(store._writer.db)
    for k in range(5):
        budget.take(43200.0 + k)
        store.save(Requests(force_charge_w=100.0 * k, force_charge_until_s=1e9))
    budget.flush()
    store.flush()
    here = threading.current_thread().name
    assert on_budget and on_store
    assert here not in on_budget and here not in on_store
    assert budget.used(43210.0) == 5
    budget.close()
    store.close()
    assert WriteBudget("inverter", 100, db).used(43210.0) == 5
    assert RequestStore(db).load().force_charge_w == 400.0  # the last save won


def test_a_write_after_close_is_refused_and_said(tmp_path, caplog):
    db = sqlite3.connect(str(tmp_path / "s.sqlite"), check_same_thread=False)
    db.execute("CREATE TABLE t (x INTEGER)")
    writer = StateWriter(db, "requests", StorageHealth())
    writer.submit(lambda d: d.execute("INSERT INTO t VALUES (1)"))
    writer.close()
    writer.close()  # twice is once
    with caplog.at_level("ERROR", logger="edge.state_db"):
        writer.submit(lambda d: d.execute("INSERT INTO t VALUES (2)"))
    assert "requests written after it was closed" in caplog.text
    with sqlite3.connect(str(tmp_path / "s.sqlite")) as raw:
        assert raw.execute("SELECT x FROM t").fetchall() == [(1,)]
