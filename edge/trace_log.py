"""The site's recent past in the state database: a row a minute with the mean powers of
that minute and the decision at its end (table `trace`), and a row for each decision
that began (table `decisions`). `edge bundle` packs the last hours of both; the simulated
house replays a trace's PV and load through the core (edge/sim/replay.py).

Signs as everywhere: grid + = import, battery + = discharge. Powers are means over the
ticks of the minute that had inverter data (None when none had); soc_pct is the last.
wall_s is the wall clock (seconds since the epoch, UTC), what "the last N hours" is
measured on; t_s is the supervisor's clock (its time of day is what the log lines show).

Rows are written by a writer thread, never on the control tick; a write that fails (the
disk full) is reported to `health` once and that minute is not kept. Rows older than
keep_days are deleted as new ones come.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from edge.core.model import ProcessImage
from edge.state_db import StorageHealth, open_state_db

PERIOD_S = 60.0
KEEP_DAYS = 14.0  # 20 160 rows of about 100 bytes: a few MB
COLUMNS = ("grid_w", "pv_w", "load_w", "battery_w", "heater_w", "heat_pump_w")


@dataclass
class _Minute:
    index: int  # floor(t_s / period_s)
    wall_s: float = 0.0
    t_s: float = 0.0
    ticks: int = 0  # ticks with inverter data
    sums_w: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0.0))
    soc_pct: float | None = None
    reason: str = ""

    def row(self) -> tuple[object, ...]:
        """In the order of INSERT below."""
        means = [self.sums_w[c] / self.ticks if self.ticks else None for c in COLUMNS]
        return (self.wall_s, self.t_s, *means, self.soc_pct, self.reason)


class TraceLog:
    def __init__(
        self,
        db_path: str = ":memory:",
        health: StorageHealth | None = None,
        period_s: float = PERIOD_S,
        keep_days: float = KEEP_DAYS,
    ) -> None:
        self.health = health if health is not None else StorageHealth()
        self.period_s = period_s
        self.keep_s = keep_days * 86400.0
        # The tables come with the schema's migrations (edge/state_db.py).
        self._db = open_state_db(db_path, "SELECT 1 FROM trace LIMIT 0", threads=True)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="trace-log")
        self._minute: _Minute | None = None

    def add(self, image: ProcessImage, reason: str, wall_s: float, dt_s: float) -> None:
        """One tick: its image (t_s on the supervisor's clock), its decision, the wall
        clock. A tick in a new minute hands the finished one to the writer."""
        index = int(image.t_s // self.period_s)
        m = self._minute
        if m is None or m.index != index:
            if m is not None:
                self._writer.submit(self._write_minute, m)
            m = self._minute = _Minute(index)
        m.wall_s, m.t_s, m.reason = wall_s, image.t_s, reason
        if image.inverter is not None:
            r = image.inverter.value
            loads = image.loads.value if image.loads is not None else None
            values = (
                r.grid_power_w,
                r.pv_power_w,
                r.load_power_w,
                r.battery_power_w,
                loads.heater_w if loads else 0.0,
                loads.heat_pump_w if loads else 0.0,
            )
            for c, v in zip(COLUMNS, values, strict=True):
                m.sums_w[c] += v
            m.ticks += 1
            m.soc_pct = r.battery_soc_pct

    def decision(self, wall_s: float, t_s: float, reason: str) -> None:
        """A decision of a new kind began (edge/decision_log.py)."""
        self._writer.submit(self._write_decision, (wall_s, t_s, reason))

    def _write_minute(self, m: _Minute) -> None:
        self._write(
            "INSERT INTO trace (wall_s, t_s, grid_w, pv_w, load_w, battery_w, heater_w,"
            " heat_pump_w, soc_pct, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            m.row(),
            m.wall_s,
        )

    def _write_decision(self, row: tuple[float, float, str]) -> None:
        self._write("INSERT INTO decisions (wall_s, t_s, reason) VALUES (?, ?, ?)", row, row[0])

    def _write(self, sql: str, row: tuple[object, ...], wall_s: float) -> None:
        try:
            self._db.execute(sql, row)
            self._db.execute("DELETE FROM trace WHERE wall_s < ?", (wall_s - self.keep_s,))
            self._db.execute("DELETE FROM decisions WHERE wall_s < ?", (wall_s - self.keep_s,))
            self._db.commit()
        except sqlite3.Error as exc:
            self._db.rollback()
            self.health.failed("trace", exc)
        else:
            self.health.wrote("trace")

    def close(self) -> None:
        """Write the minute in progress, then wait for the writer."""
        if self._minute is not None and self._minute.ticks:
            self._writer.submit(self._write_minute, self._minute)
        self._minute = None
        self._writer.shutdown(wait=True)
        self._db.close()
