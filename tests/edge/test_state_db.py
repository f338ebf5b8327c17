"""The one SQLite file for what survives a restart: folders made as needed, `~` expanded,
one table per user side by side, and a path that cannot be opened named as the setting."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from edge.errors import ConfigError
from edge.state_db import open_state_db

SCHEMA_A = "CREATE TABLE IF NOT EXISTS a (k TEXT PRIMARY KEY, v INTEGER)"
SCHEMA_B = "CREATE TABLE IF NOT EXISTS b (k TEXT PRIMARY KEY, v INTEGER)"


def test_the_folders_are_made_and_the_tables_share_the_file(tmp_path):
    path = tmp_path / "var" / "lib" / "edge" / "state.sqlite"
    a = open_state_db(str(path), SCHEMA_A)
    b = open_state_db(str(path), SCHEMA_B)
    a.execute("INSERT INTO a VALUES ('writes', 3)")
    a.commit()
    b.execute("INSERT INTO b VALUES ('serial', 7)")
    b.commit()
    a.close()
    b.close()
    again = open_state_db(str(path), SCHEMA_A)  # a second open keeps what is there
    assert again.execute("SELECT v FROM a").fetchall() == [(3,)]
    assert again.execute("SELECT v FROM b").fetchall() == [(7,)]
    again.close()


def test_a_home_relative_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    open_state_db("~/.local/state/edge/state.sqlite", SCHEMA_A).close()
    assert (tmp_path / ".local" / "state" / "edge" / "state.sqlite").is_file()


def test_memory_keeps_nothing_on_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = open_state_db(":memory:", SCHEMA_A)
    db.execute("INSERT INTO a VALUES ('x', 1)")
    assert db.execute("SELECT COUNT(*) FROM a").fetchone() == (1,)
    db.close()
    assert list(tmp_path.iterdir()) == []


def test_a_path_that_cannot_be_opened_names_the_setting(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    with pytest.raises(ConfigError) as err:
        open_state_db(str(folder), SCHEMA_A)  # a folder, not a file
    assert str(err.value).startswith(f"site.state_db = {str(folder)!r}: cannot be opened:")


def test_threads_lets_another_thread_use_the_connection(tmp_path):
    shared = open_state_db(str(tmp_path / "s.sqlite"), SCHEMA_A, threads=True)
    own = open_state_db(str(tmp_path / "t.sqlite"), SCHEMA_A)
    errors: list[Exception] = []

    def use(db: sqlite3.Connection) -> None:
        try:
            db.execute("SELECT COUNT(*) FROM a").fetchone()
        except sqlite3.ProgrammingError as exc:
            errors.append(exc)

    for db in (shared, own):
        t = threading.Thread(target=use, args=(db,))
        t.start()
        t.join()
    assert len(errors) == 1  # only the connection not opened for threads refused
    assert "same thread" in str(errors[0])
    shared.close()
    own.close()


def test_the_tick_never_waits_for_a_commit(tmp_path):
    """While another connection holds the state file's write lock (what a slow SD card
    looks like to SQLite), what the control tick calls returns at once: a sample sent
    with the broker away and the energy totals' save. Their writer threads commit once
    the lock is let go; before, each call waited out SQLite's busy timeout (5 s) and
    raised "database is locked"."""
    import time

    from edge.energy import EnergyTotals
    from edge.mqtt.outbox import Outbox, OutboxSender

    db = str(tmp_path / "state.sqlite")
    box = Outbox(db)
    energy = EnergyTotals(db)
    sender = OutboxSender(box, lambda _t, _p: 1, lambda: False)  # the broker away
    other = sqlite3.connect(db)
    other.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.perf_counter()
        for k in range(10):  # ten ticks
            sender.send("edge/state", f'{{"seq": {k}}}'.encode(), "sample")
            energy.kwh["pv_kwh"] = float(k)
            energy.save()
        assert time.perf_counter() - t0 < 0.5
        assert len(box) == 10
    finally:
        other.rollback()
        other.close()
    deadline = time.monotonic() + 10
    while len(box.oldest(100)) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r[2] for r in box.oldest(100)] == [f'{{"seq": {k}}}'.encode() for k in range(10)]
    sender.stop()
    box.close()
    energy.close()
    assert EnergyTotals(db).kwh["pv_kwh"] == 9.0


def test_the_budgets_and_the_requests_use_the_wal_like_the_outbox(tmp_path):
    from edge.drivers.budget import WriteBudget
    from edge.requests_store import RequestStore

    for name, store in (("budget", WriteBudget), ("requests", RequestStore)):
        path = str(tmp_path / f"{name}.sqlite")
        opened = store(path) if store is RequestStore else store("inverter", 1, path)
        opened.close()
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()
        assert mode == ("wal",), name
