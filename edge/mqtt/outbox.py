"""A durable outbox for telemetry and energy counters: nothing is lost while the broker is
away.

While the broker is reachable and nothing is queued, messages go straight out at QoS 1.
Otherwise they are appended to SQLite (site.state_db, table `outbox`; committed by the
sender thread, never on the control tick), and that thread delivers them in order once
the broker is back: one batch at a time, each row deleted only when the broker has
acknowledged it (PUBACK), and new messages queue behind the backlog so the order holds.
The queue survives a restart. If the state file cannot take rows (the disk full), the
outbox stops queueing and says so once (Outbox).

The queue is bounded by size (mqtt.outbox_max_mb). When it is over, the oldest half of
the telemetry samples is thinned to every other sample, oldest first. Energy counters
are never dropped: they are few (one a minute) and each is a total.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Literal

from edge.state_db import StorageHealth, open_state_db

log = logging.getLogger("edge.mqtt")

Kind = Literal["sample", "counter"]
ROW_OVERHEAD_BYTES = 64  # topic, id, kind and SQLite's own per-row cost, roughly
BATCH = 200
RETRY_S = 30.0  # while the state file cannot take rows, how often queueing is tried again


class Outbox:
    """The queue in SQLite. put() only stages a row in memory, so whoever calls it (the
    control tick) never waits for the disk; write() commits what is staged, from the
    sender thread (oldest() and close() do it first too, so the order holds).

    When a commit fails (the disk full) the staged rows are dropped and counted, the
    failure goes to `health` (logged once), and put() refuses rows for RETRY_S before it
    tries again (retry_s): the sender then sends straight out while the broker is connected."""

    def __init__(
        self,
        db_path: str = ":memory:",
        max_bytes: int = 100 * 2**20,
        health: StorageHealth | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.thinned = 0  # samples removed to stay inside max_bytes
        self.dropped = 0  # messages not queued because the state file could not take them
        self.retry_s = RETRY_S
        self.health = health if health is not None else StorageHealth()
        self._lock = threading.Lock()  # counters and staged rows; never held over I/O
        self._db_lock = threading.Lock()  # the connection
        self._staged: list[tuple[str, bytes, Kind]] = []
        self._failing = False
        self._failed_at = 0.0  # time.monotonic() of the latest failed commit
        self._db = open_state_db(
            db_path,
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " topic TEXT NOT NULL, payload BLOB NOT NULL, kind TEXT NOT NULL)",
            threads=True,
        )
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox"
        ).fetchone()
        self._rows, self._bytes = int(row[0]), int(row[1]) + ROW_OVERHEAD_BYTES * int(row[0])

    def __len__(self) -> int:
        with self._lock:
            return self._rows

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes

    @property
    def accepting(self) -> bool:
        """put() queues (False: the state file failed a moment ago; not yet retried)."""
        with self._lock:
            return not self._failing or time.monotonic() >= self._failed_at + self.retry_s

    def put(self, topic: str, payload: bytes, kind: Kind) -> bool:
        """Stage one message (memory only); False: not queued (the state file cannot take
        rows just now), dropped and counted."""
        with self._lock:
            if self._failing and time.monotonic() < self._failed_at + self.retry_s:
                self.dropped += 1
                return False
            self._staged.append((topic, payload, kind))
            self._rows += 1
            self._bytes += len(payload) + len(topic) + ROW_OVERHEAD_BYTES
        return True

    def write(self) -> None:
        """Commit what is staged (the sender thread), thinning if over max_bytes."""
        with self._db_lock:
            self._write_staged()

    def _write_staged(self) -> None:
        """(db lock held)"""
        with self._lock:
            rows, self._staged = self._staged, []
        if not rows:
            return
        try:
            self._db.executemany("INSERT INTO outbox (topic, payload, kind) VALUES (?, ?, ?)", rows)
            self._db.commit()
        except sqlite3.Error as exc:
            self._db.rollback()
            with self._lock:
                self._rows -= len(rows)
                self._bytes -= sum(len(p) + len(t) + ROW_OVERHEAD_BYTES for t, p, _k in rows)
                self.dropped += len(rows)
                self._failing, self._failed_at = True, time.monotonic()
            self.health.failed("outbox", exc)
            return
        with self._lock:
            self._failing = False
            over = self._bytes > self.max_bytes
        self.health.wrote("outbox")
        if over:
            self._thin()

    def _thin(self) -> None:
        """Drop every other sample of the oldest half of the samples (db lock held)."""
        samples = [
            r[0]
            for r in self._db.execute("SELECT id FROM outbox WHERE kind = 'sample' ORDER BY id")
        ]
        oldest = samples[: len(samples) // 2]
        drop = oldest[1::2]
        if not drop:
            log.warning(
                "MQTT outbox: %d bytes of energy counters only; kept (counters are never dropped)",
                self.size_bytes,
            )
            return
        freed = 0
        try:
            for chunk in range(0, len(drop), 500):
                ids = drop[chunk : chunk + 500]
                marks = ",".join("?" * len(ids))
                freed += self._db.execute(
                    f"SELECT COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox"
                    f" WHERE id IN ({marks})",
                    ids,
                ).fetchone()[0]
                self._db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", ids)
            self._db.commit()
        except sqlite3.Error as exc:
            self._db.rollback()
            self.health.failed("outbox", exc)
            return
        with self._lock:
            self._rows -= len(drop)
            self._bytes -= freed + ROW_OVERHEAD_BYTES * len(drop)
            self.thinned += len(drop)
        log.warning(
            "MQTT outbox over %d bytes: the oldest %d samples thinned to every other one",
            self.max_bytes,
            len(oldest),
        )

    def oldest(self, n: int = BATCH) -> list[tuple[int, str, bytes]]:
        with self._db_lock:
            self._write_staged()
            return [
                (int(i), str(t), bytes(p))
                for i, t, p in self._db.execute(
                    "SELECT id, topic, payload FROM outbox ORDER BY id LIMIT ?", (n,)
                )
            ]

    def delete(self, row_ids: list[int]) -> None:
        if not row_ids:
            return
        with self._db_lock:
            marks = ",".join("?" * len(row_ids))
            try:
                freed = self._db.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0)"
                    f" FROM outbox WHERE id IN ({marks})",
                    row_ids,
                ).fetchone()
                self._db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", row_ids)
                self._db.commit()
            except sqlite3.Error as exc:  # delivered all the same: sent again after a restart
                self._db.rollback()
                self.health.failed("outbox", exc)
                return
        with self._lock:
            self._rows -= int(freed[0])
            self._bytes -= int(freed[1]) + ROW_OVERHEAD_BYTES * int(freed[0])

    def close(self) -> None:
        with self._db_lock:
            self._write_staged()
            self._db.close()


class OutboxSender:
    """Delivers an outbox through `publish` (returns the message id) once `ready()` says
    the broker is connected and nothing of ours is in flight; `acked(mid)` is called
    from the MQTT client's PUBACK callback."""

    def __init__(
        self,
        outbox: Outbox,
        publish: Callable[[str, bytes], int],
        ready: Callable[[], bool],
    ) -> None:
        self.outbox = outbox
        self._publish = publish
        self._ready = ready
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending: dict[int, int] = {}  # message id -> outbox row (-1: sent directly)
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._acked: list[int] = []  # outbox rows acknowledged, for the thread to delete
        self.delivered = 0
        self._thread = threading.Thread(target=self._run, name="mqtt-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def send(self, topic: str, payload: bytes, kind: Kind) -> None:
        """Straight out when connected with nothing queued or in flight, else queued.
        Either way it is tracked until its PUBACK (the client resends what was in flight
        after a reconnect), so what comes later never overtakes it. No disk I/O here: the
        sender thread commits and deletes. While the outbox cannot queue (the state file
        full) a message goes straight out if the broker is connected, else it is dropped
        (counted in outbox.dropped; an energy counter is a total, the next one has it)."""
        with self._lock:
            self._acked.extend(self._take_acks())
            ready = self._ready()
            direct = ready and not self._pending and len(self.outbox) == 0
            if direct or (ready and not self.outbox.accepting):
                self._pending[self._publish(topic, payload)] = -1
                return
        self.outbox.put(topic, payload, kind)
        self._wake.set()

    def acked(self, mid: int) -> None:
        """From the MQTT client's network thread, on a PUBACK: never blocks (the client
        holds its own locks while it calls back), the sender thread does the rest."""
        self._acks.put(mid)
        self._wake.set()

    def _take_acks(self) -> list[int]:
        """Settle the PUBACKs received so far (lock held): the outbox rows they free."""
        rows: list[int] = []
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                return rows
            row = self._pending.pop(mid, None)
            if row is not None and row >= 0:
                rows.append(row)

    @property
    def busy(self) -> bool:
        """Queued or in flight: new messages must queue behind."""
        with self._lock:
            self._acked.extend(self._take_acks())
            pending = bool(self._pending)
        return pending or len(self.outbox) > 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            self.outbox.write()
            with self._lock:
                acked = self._acked + self._take_acks()
                self._acked = []
                in_flight = bool(self._pending)
            self.outbox.delete(acked)
            self.delivered += len(acked)  # from the queue; direct ones are not counted
            if in_flight or not self._ready():
                continue
            batch = self.outbox.oldest()
            if not batch:
                continue
            with self._lock:
                for row, topic, payload in batch:
                    mid = self._publish(topic, payload)
                    self._pending[mid] = row

    def flush(self, timeout_s: float) -> bool:
        """Wait (while connected) until nothing is queued or in flight; True if so."""
        deadline = time.monotonic() + timeout_s
        while self.busy and time.monotonic() < deadline and self._ready():
            self._wake.set()
            time.sleep(0.02)
        return not self.busy

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        with self._lock:
            acked = self._acked + self._take_acks()
            self._acked = []
        self.outbox.delete(acked)
