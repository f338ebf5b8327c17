"""A daily write budget per device, kept in SQLite so a restart does not reset it.

A device's writes are counted per day of the supervisor's clock. Once the day's budget is
spent, only essential writes (the command that hands the device back to its own safe
behaviour) go out until the next day: the driver, not its callers, enforces this, and
every driver does it through WriteBudget.gate().
"""

from __future__ import annotations

import logging
from enum import Enum

from edge.state_db import open_state_db

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
    def __init__(self, device: str, per_day: int, db_path: str = ":memory:") -> None:
        self.device = device
        self.per_day = per_day
        self.over_budget = 0  # writes refused because the day's budget was spent
        self._db = open_state_db(
            db_path,
            "CREATE TABLE IF NOT EXISTS write_counts ("
            " device TEXT NOT NULL, day INTEGER NOT NULL, count INTEGER NOT NULL,"
            " PRIMARY KEY (device, day))",
        )

    def used(self, now_s: float) -> int:
        row = self._db.execute(
            "SELECT count FROM write_counts WHERE device = ? AND day = ?",
            (self.device, int(now_s // DAY_S)),
        ).fetchone()
        return int(row[0]) if row else 0

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
        """Count one write at now_s (committed at once: it must survive a crash)."""
        self._db.execute(
            "INSERT INTO write_counts (device, day, count) VALUES (?, ?, 1)"
            " ON CONFLICT (device, day) DO UPDATE SET count = count + 1",
            (self.device, int(now_s // DAY_S)),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
