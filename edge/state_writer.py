"""A store's writes to the state file, committed on a thread of its own.

The control loop hands a write over and goes on: no commit (an SD card can take tens of
milliseconds, a full one fails) runs on the event loop. The writes of one store run in
the order handed over; each that fails (the disk full, the card read-only) is rolled back
and reported to the site's StorageHealth under the store's name, and the next good one
clears it. Writes are upserts of the latest value, so the next one carries what a failed
one lost.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from edge.state_db import StorageHealth

log = logging.getLogger("edge.state_db")

Write = Callable[[sqlite3.Connection], object]


class StateWriter:
    """db: a connection opened with threads=True; after the constructor only this
    writer's thread uses it for writes (reads before the first write are the owner's)."""

    def __init__(self, db: sqlite3.Connection, name: str, health: StorageHealth) -> None:
        self.db = db
        self.name = name
        self.health = health
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"state-{name.split(' (')[0]}")
        self.closed = False

    def submit(self, write: Write) -> None:
        """Run write(db) and commit, on the writer's thread; returns at once. After
        close() nothing is written (a store used past its close: a bug, logged)."""
        if self.closed:
            log.error("state database: %s written after it was closed: not kept", self.name)
            return
        self._pool.submit(self._run, write)

    def _run(self, write: Write) -> None:
        try:
            write(self.db)
            self.db.commit()
        except sqlite3.Error as exc:
            self.db.rollback()
            self.health.failed(self.name, exc)
        else:
            self.health.wrote(self.name)

    def flush(self) -> None:
        """Wait until every write handed over so far has run."""
        if not self.closed:
            self._pool.submit(lambda: None).result()

    def close(self) -> None:
        """Run what is handed over, end the thread, close the connection (once)."""
        if self.closed:
            return
        self.closed = True
        self._pool.shutdown(wait=True)
        self.db.close()
