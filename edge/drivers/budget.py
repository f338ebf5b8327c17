"""A daily write budget per device, kept in SQLite so a restart does not reset it.

A device's writes are counted per day of the supervisor's clock. Once the day's budget is
spent, only essential writes (the command that hands the device back to its own safe
behaviour) go out until the next day: the driver, not its callers, enforces this.
"""

from __future__ import annotations

from edge.state_db import open_state_db

DAY_S = 86400.0


class WriteBudget:
    def __init__(self, device: str, per_day: int, db_path: str = ":memory:") -> None:
        self.device = device
        self.per_day = per_day
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
