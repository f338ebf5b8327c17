"""A daily write budget per device, kept in SQLite so a restart does not reset it.

A device's writes are counted per day of the supervisor's clock, a day that never goes
backwards (see WriteBudget). Once the day's budget is spent, only essential writes (the
command that hands the device back to its own safe behaviour) go out until the next day:
the driver, not its callers, enforces this, and every driver does it through
WriteBudget.gate().
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

from edge.state_db import StorageHealth, open_state_db
from edge.state_writer import StateWriter

DAY_S = 86400.0
log = logging.getLogger("edge.budget")

# Per device: the setting that sets its budget, and what happens once it is spent.
SPENT: dict[str, tuple[str, str]] = {
    "inverter": ("inverter.daily_write_budget", "self-use until the next day"),
    "dab": ("dab.daily_write_budget", "bridge off until the next day"),
    "diverter": ("loads.diverter.daily_write_budget", "element off until the next day"),
}


class Gate(Enum):
    """What a driver may do with the write it is about to make."""

    SEND = "send"  # within the budget, or the write is the safe one
    SEND_SAFE = "send safe"  # past the budget: send the safe write instead
    SKIP = "skip"  # past the budget, and the safe write is what the device last got


class WriteBudget:
    """A device's writes per day. The count is kept in memory and handed to a writer
    thread on every write (edge/state_writer.py: no commit on the control tick); a write
    that fails (the disk full) leaves the count in memory, reported to `health`, and the
    next write or close() writes it.

    The budget's day never goes backwards: the Pi has no real-time clock, and a clock a
    day behind after a restart must not hand out a fresh budget. The highest day seen (the
    latest day in the state file) is the day counted against until the clock passes it,
    unless `synchronised()` says the clock is synchronised (NTP): then a day ahead of it
    was counted on a clock that was wrong (a bad time at boot, a step to a later year), and
    holding it would keep the budget spent until that day came; today is counted instead."""

    def __init__(
        self,
        device: str,
        per_day: int,
        db_path: str = ":memory:",
        health: StorageHealth | None = None,
        synchronised: Callable[[], bool | None] | None = None,
    ) -> None:
        self.device = device
        self._synchronised = synchronised
        self.per_day = per_day
        self.over_budget = 0  # writes refused because the day's budget was spent
        self.health = health if health is not None else StorageHealth()
        db = open_state_db(
            db_path,
            "CREATE TABLE IF NOT EXISTS write_counts ("
            " device TEXT NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL,"
            " PRIMARY KEY (device, day))",
            threads=True,
        )
        row = db.execute(
            "SELECT day, count FROM write_counts WHERE device = ? ORDER BY day DESC LIMIT 1",
            (device,),
        ).fetchone()
        # The highest day seen (days since the epoch, the supervisor's clock) and its count.
        self._day: int | None = int(row[0]) if row else None
        self._count = int(row[1]) if row else 0
        self._writer = StateWriter(db, f"write budget ({device})", self.health)
        self._behind_logged = False

    def day(self, now_s: float) -> int:
        """The day now_s counts against: its own, or the highest day seen if that is later."""
        day = int(now_s // DAY_S)
        if self._day is not None and day < self._day and self._trust_clock():
            log.warning(
                "%s: the write budget's day is %d day(s) ahead of the synchronised clock"
                " (counted on a wrong clock); counting against today, that day's count dropped",
                self.device,
                self._day - day,
            )
            self._day, self._count = day, 0
            row = (self.device, day)
            self._writer.submit(
                lambda db: db.execute("DELETE FROM write_counts WHERE device = ? AND day > ?", row)
            )
            self._write()
        if self._day is not None and day < self._day:
            if not self._behind_logged:
                self._behind_logged = True
                log.warning(
                    "%s: the clock is %d day(s) behind the write budget's day; counting"
                    " against that day until the clock passes it",
                    self.device,
                    self._day - day,
                )
            return self._day
        return day

    def _trust_clock(self) -> bool:
        return self._synchronised is not None and self._synchronised() is True

    def used(self, now_s: float) -> int:
        return self._count if self.day(now_s) == self._day else 0

    def spent(self, now_s: float) -> bool:
        return self.used(now_s) >= self.per_day

    def gate(self, now_s: float, *, safe: bool, safe_sent: bool) -> Gate:
        """May a write go out at now_s? safe: it is the write that hands the device back to
        its own safe behaviour, always allowed. safe_sent: that safe write is what the
        device last got. Past the budget every other write is refused and counted; the
        safe write goes out in its place, once, with a warning naming the setting."""
        if safe or not self.spent(now_s):
            return Gate.SEND
        self.over_budget += 1
        if self.over_budget == 1 or not safe_sent:
            setting, then = SPENT.get(self.device, (f"{self.device} write budget", "held"))
            log.warning(
                "%s: %d writes today, the daily budget (%s); %s",
                self.device,
                self.used(now_s),
                setting,
                then,
            )
        return Gate.SKIP if safe_sent else Gate.SEND_SAFE

    def take(self, now_s: float) -> None:
        """Count one write at now_s and hand the count to the writer thread at once (it
        must survive a crash); if that write fails, the next one carries the count."""
        day = self.day(now_s)
        if day != self._day:
            if self._day is not None:
                self._write()  # the day before's last count, in case its write failed
            self._day, self._count = day, 0
        self._count += 1
        self._write()

    def _write(self) -> None:
        row = (self.device, self._day, self._count)
        self._writer.submit(
            lambda db: db.execute(
                "INSERT INTO write_counts (device, day, count) VALUES (?, ?, ?)"
                " ON CONFLICT (device, day) DO UPDATE SET count = excluded.count",
                row,
            )
        )

    def flush(self) -> None:
        """Wait until the counts handed over so far are written (or have failed)."""
        self._writer.flush()

    def close(self) -> None:
        if self._day is not None and not self._writer.closed:
            self._write()  # the latest count again: a failed write is retried once more
        self._writer.close()
