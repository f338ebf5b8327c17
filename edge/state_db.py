"""The one SQLite file that keeps what must survive a restart (site.state_db): write
budgets, requests, energy totals, device serials and the MQTT outbox, each in its table.

Control never depends on a write here succeeding. A write that fails (the disk full, the
card read-only) is reported to the site's StorageHealth, once per writer, and the writer
keeps what it holds in memory and writes it when it can; Home Assistant's "Storage
problem" entity reads the same health.

One supervisor per state file: lock_site() holds a lock beside it for the process's life.

The file's schema has a version (PRAGMA user_version) and ordered migrations, applied in
one transaction when the file is opened: an upgrade keeps every row. Version 0 is the
file of edge 0.1.0, whose writers made their tables as they first opened it and kept no
version; version 1 adopts those tables as they are.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import IO

from edge.errors import ConfigError

log = logging.getLogger("edge.state_db")

# What each writer does while it cannot write; logged once when it starts failing.
WHILE_FAILING: dict[str, str] = {
    "outbox": "MQTT messages are sent only while the broker is connected, not queued",
    "energy totals": "kept in memory and written when the disk has room",
    "write budget": "counted in memory and written when the disk has room",
    "identities": "device serials used as seen, not remembered",
    "requests": "in force now, not kept over a restart",
    "trace": "the minutes and decisions of this time are not kept for `edge bundle`",
}


class StorageHealth:
    """Which writers of the state file cannot write, and why (thread-safe). Each writer
    says failed() on every failed write and wrote() on every good one; the log hears of
    a change only, so a full disk is one line, not one a tick."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}  # writer -> the latest error

    def failed(self, writer: str, exc: BaseException) -> None:
        with self._lock:
            first = writer not in self._failing
            self._failing[writer] = str(exc)
        if first:
            then = WHILE_FAILING.get(writer.split(" (")[0], "kept in memory")
            log.error("state database: %s not written: %s; %s", writer, exc, then)

    def wrote(self, writer: str) -> None:
        with self._lock:
            was = self._failing.pop(writer, None)
        if was is not None:
            log.warning("state database: %s written again", writer)

    @property
    def problem(self) -> str | None:
        """None when every writer's last write went through, else who failed and why."""
        with self._lock:
            if not self._failing:
                return None
            return "; ".join(f"{w}: {why}" for w, why in sorted(self._failing.items()))


# MIGRATIONS[i] takes a file from version i to version i + 1. Append only: a release's
# file must always reach the newest schema through the same steps.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the tables of 0.1.0 (made on first use by each writer; kept as they were).
    (
        "CREATE TABLE IF NOT EXISTS write_counts ( device TEXT NOT NULL, day INTEGER NOT NULL,"
        " count INTEGER NOT NULL, PRIMARY KEY (device, day))",
        "CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " doc TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS energy_totals (name TEXT PRIMARY KEY, kwh REAL)",
        "CREATE TABLE IF NOT EXISTS identities (device TEXT PRIMARY KEY, serial TEXT)",
        "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " topic TEXT NOT NULL, payload BLOB NOT NULL, kind TEXT NOT NULL)",
    ),
    # 2: a per-minute trace of the site (edge/trace_log.py) and the decision changes, for
    #    `edge bundle` and for replaying a day through the simulated house.
    (
        "CREATE TABLE trace (wall_s REAL NOT NULL, t_s REAL NOT NULL, grid_w REAL,"
        " pv_w REAL, load_w REAL, battery_w REAL, soc_pct REAL, heater_w REAL,"
        " heat_pump_w REAL, reason TEXT NOT NULL)",
        "CREATE INDEX trace_wall ON trace (wall_s)",
        "CREATE TABLE decisions (wall_s REAL NOT NULL, t_s REAL NOT NULL, reason TEXT NOT NULL)",
        "CREATE INDEX decisions_wall ON decisions (wall_s)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, db_path: str) -> int:
    """Bring the file to SCHEMA_VERSION; returns the version it had. A file from a newer
    edge is refused (a ConfigError naming both versions): this one cannot know what its
    tables mean. One transaction, taken before the version is read again, so two
    processes opening an old file migrate it once."""
    if schema_version(db) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    db.commit()
    db.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(db)
        if found > SCHEMA_VERSION:
            raise ConfigError(
                f"site.state_db = {db_path!r}: schema version {found} is from a newer edge"
                f" (this one knows up to {SCHEMA_VERSION}); install that version again, or"
                " move the file away to start afresh"
            )
        for version in range(found, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.rollback()
        raise
    db.commit()
    if found < SCHEMA_VERSION and db_path != ":memory:":
        log.info("state database %s: schema %d -> %d", db_path, found, SCHEMA_VERSION)
    return found


def _expand(db_path: str) -> str:
    return db_path if db_path == ":memory:" else str(Path(db_path).expanduser())


def open_state_db(db_path: str, schema: str, threads: bool = False) -> sqlite3.Connection:
    """Open (creating folders and the table as needed) and return the connection; a path
    that cannot be opened is a config error naming site.state_db. threads: the connection
    is shared between threads (the caller locks around it).

    The file is in WAL mode with normal sync: a commit appends to the log instead of
    rewriting pages, cheap on an SD card (a power cut may lose the last commits, never
    the file), and readers never wait for a writer.

    A full disk never stops a start: a migration that needs room waits for a start with
    room (the stores run on the tables the file has), and a store whose table cannot be
    made is kept in memory for this run (logged, naming the file)."""
    try:
        if db_path != ":memory:":
            Path(db_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            db_path = _expand(db_path)
        db = sqlite3.connect(db_path, check_same_thread=not threads, timeout=5.0)
        if db_path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        unmigrated = False
        try:
            migrate(db, db_path)
        except sqlite3.OperationalError as exc:
            if not _full(exc):
                raise
            unmigrated = True
            log.error(
                "state database %s: no room to migrate it to schema %d (%s); running on its"
                " tables as they are, migrated at a start with room",
                db_path,
                SCHEMA_VERSION,
                exc,
            )
        try:
            db.execute(schema)
            db.commit()
        except sqlite3.OperationalError as exc:
            if not (_full(exc) or (unmigrated and "no such table" in str(exc))):
                raise
            db.rollback()
            db.close()
            log.error(
                "state database %s: %s; what `%s` keeps is held in memory for this run",
                db_path,
                exc,
                _clip_sql(schema),
            )
            db = sqlite3.connect(":memory:", check_same_thread=not threads)
            migrate(db, ":memory:")
            db.execute(schema)
            db.commit()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"site.state_db = {db_path!r}: cannot be opened: {exc}") from None
    return db


def _full(exc: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk (or the file's page cap) has no room."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)


def _clip_sql(sql: str, max_chars: int = 60) -> str:
    return sql if len(sql) <= max_chars else sql[: max_chars - 3] + "..."


def lock_site(db_path: str) -> IO[str] | None:
    """Hold `<state_db>.lock` (flock) for as long as the returned file stays open (the
    process's life; the kernel lets go if it dies), with our PID written in it. A second
    supervisor on the same state file would share the MQTT client id, the outbox and the
    RS485 lines: it gets a config error naming the first. None for ":memory:"."""
    if db_path == ":memory:":
        return None
    path = Path(_expand(db_path) + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        held = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the process's life)
    except OSError as exc:
        raise ConfigError(f"site.state_db = {db_path!r}: cannot lock {path}: {exc}") from None
    try:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        held.seek(0)
        pid = held.read().strip()[:20] or "unknown"
        held.close()
        raise ConfigError(
            f"site.state_db = {db_path!r}: in use by another edge supervisor (pid {pid},"
            f" lock {path}); stop it first"
        ) from None
    held.seek(0)
    held.truncate()
    held.write(f"{os.getpid()}\n")
    held.flush()
    return held
