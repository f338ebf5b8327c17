"""The user's requests (emergency stop, mode, force charge, boost, switches) kept in SQLite
(site.state_db), so an emergency stop still holds after a restart and a timed request
keeps what is left of its time. One row, rewritten on every accepted command by a writer
thread (edge/state_writer.py: no commit on the control loop; a failed write is reported
to the site's StorageHealth as "requests", the request holds in memory).

Expiries are clock seconds (edge/clock.py), which run on the monotonic clock while the
supervisor runs but start from the wall clock at each start; a restart on a wall clock a
day behind must not turn a 1 h force charge into 25 h. So the row also holds the wall
time and the clock reading when it was saved, and a store given the clock (`edge run`)
carries each expiry across a restart as what was left at the save minus the wall time
since. The safe reading where that cannot be measured: a timed request ends (its expiry
becomes "long ago") when the wall clock reads earlier than the save (it stepped back),
when the wall clock is not synchronised yet (a Pi boots on a saved time: the downtime
is unknown), or when the row has no save time (an older version wrote it). A request
without an expiry (the emergency stop, the switches, a mode without `for_s`) is kept.
A forward step can only end a request sooner, never extend it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, fields, replace
from typing import Any, TypeGuard

from edge.clock import WallClock
from edge.core.model import Requests
from edge.state_db import StorageHealth, open_state_db
from edge.state_writer import StateWriter

log = logging.getLogger("edge")

EXPIRIES = tuple(f.name for f in fields(Requests) if f.name.endswith("_until_s"))
SAVED_WALL = "saved_wall_s"  # seconds since the epoch at the save
SAVED_CLOCK = "saved_clock_s"  # the clock's reading at the save


class RequestStore:
    """clock: the supervisor's clock; without one (tests, a store inside one run) the
    expiries are kept as the clock seconds they are."""

    def __init__(
        self,
        db_path: str = ":memory:",
        clock: WallClock | None = None,
        health: StorageHealth | None = None,
    ) -> None:
        self.clock = clock
        db = open_state_db(
            db_path,
            "CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " doc TEXT NOT NULL)",
            threads=True,
        )
        self._writer = StateWriter(
            db, "requests", health if health is not None else StorageHealth()
        )

    @property
    def health(self) -> StorageHealth:
        return self._writer.health

    @health.setter
    def health(self, health: StorageHealth) -> None:
        self._writer.health = health

    def load(self) -> Requests:
        self._writer.flush()  # what this store has handed over is read back
        row = self._writer.db.execute("SELECT doc FROM requests WHERE id = 1").fetchone()
        if row is None:
            return Requests()
        try:
            doc = json.loads(row[0])
        except json.JSONDecodeError as exc:
            log.warning("stored requests unreadable (%s): starting with none", exc)
            return Requests()
        req = _requests(doc)
        return req if self.clock is None else self._carried(req, doc, self.clock)

    def save(self, req: Requests) -> None:
        """Hand the requests to the writer thread, with the clocks as they read now."""
        doc: dict[str, Any] = asdict(req)
        if self.clock is not None:
            doc[SAVED_WALL], doc[SAVED_CLOCK] = self.clock.wall_s(), self.clock.now_s()
        text = json.dumps(doc)
        self._writer.submit(
            lambda db: db.execute(
                "INSERT INTO requests (id, doc) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (text,),
            )
        )

    def flush(self) -> None:
        """Wait until the saves handed over so far are written (or have failed)."""
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    @staticmethod
    def _carried(req: Requests, doc: dict[str, Any], clock: WallClock) -> Requests:
        """req's expiries moved onto this run's clock; the timed ones ended where the time
        since the save cannot be measured (the module's docstring)."""
        timed = [k for k in EXPIRIES if math.isfinite(getattr(req, k))]
        if not timed:
            return req
        now_s, wall_s = clock.now_s(), clock.wall_s()
        saved = _saved_times(doc)
        why = None
        if saved is None:
            why = "they were stored without the time of the save"
        elif wall_s < saved[0]:
            why = f"the wall clock reads {saved[0] - wall_s:.0f} s earlier than at their save"
        elif clock.synchronised() is False:
            why = "the wall clock is not synchronised: the time since their save is unknown"
        if why is not None or saved is None:
            log.warning("stored timed requests %s ended: %s", ", ".join(timed), why)
            ended: dict[str, Any] = {k: float("-inf") for k in timed}
            return replace(req, **ended)
        # What was left at the save, less the wall time since, from now on this clock.
        saved_wall_s, saved_clock_s = saved
        since_s = wall_s - saved_wall_s
        moved: dict[str, Any] = {
            k: getattr(req, k) - saved_clock_s - since_s + now_s for k in timed
        }
        return replace(req, **moved)


def _saved_times(doc: dict[str, Any]) -> tuple[float, float] | None:
    """The row's (wall seconds, clock seconds) at the save; None if it has none."""
    wall_s, clock_s = doc.get(SAVED_WALL), doc.get(SAVED_CLOCK)
    if _seconds(wall_s) and _seconds(clock_s):
        return float(wall_s), float(clock_s)
    return None


def _seconds(v: object) -> TypeGuard[float]:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _requests(doc: dict[str, Any]) -> Requests:
    known = {f.name for f in fields(Requests)}
    kept = {k: v for k, v in doc.items() if k in known}
    try:
        return Requests(**kept)
    except (TypeError, ValueError):
        pass
    # One bad field (e.g. a mode this version does not know) costs only that field:
    # an emergency stop stored beside it still holds.
    good = {}
    for key, value in kept.items():
        try:
            Requests(**{key: value})
        except (TypeError, ValueError) as exc:
            log.warning("stored request %s = %r dropped: %s", key, value, exc)
        else:
            good[key] = value
    return Requests(**good)
