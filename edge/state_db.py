"""The one SQLite file that keeps what must survive a restart (site.state_db): write
budgets, requests, energy totals, device serials and the MQTT outbox, each in its table.

Control never depends on a write here succeeding. A write that fails (the disk full, the
card read-only) is reported to the site's StorageHealth, once per writer, and the writer
keeps what it holds in memory and writes it when it can; Home Assistant's "Storage
problem" entity reads the same health.

One supervisor per state file: lock_site() holds a lock beside it for the process's life.
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


def _expand(db_path: str) -> str:
    return db_path if db_path == ":memory:" else str(Path(db_path).expanduser())


def open_state_db(db_path: str, schema: str, threads: bool = False) -> sqlite3.Connection:
    """Open (creating folders and the table as needed) and return the connection; a path
    that cannot be opened is a config error naming site.state_db. threads: the connection
    is shared between threads (the caller locks around it).

    The file is in WAL mode with normal sync: a commit appends to the log instead of
    rewriting pages, cheap on an SD card (a power cut may lose the last commits, never
    the file), and readers never wait for a writer."""
    try:
        if db_path != ":memory:":
            Path(db_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            db_path = _expand(db_path)
        db = sqlite3.connect(db_path, check_same_thread=not threads, timeout=5.0)
        if db_path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute(schema)
        db.commit()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"site.state_db = {db_path!r}: cannot be opened: {exc}") from None
    return db


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
