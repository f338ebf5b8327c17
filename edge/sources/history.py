"""The site's own history per slot, in the state database (site.state_db, table
`load_history`), so the load forecast and the PV calibration survive a restart.

SlotAccumulator (pure) integrates the live readings of each tick into the slot's
energies; when a slot is over, HistoryStore hands its row to a StateWriter, whose
thread commits it off the control tick. Rows older than `keep_days` are deleted as
new ones come in. Energies in Wh over the slot; t_out_degc the slot's mean.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields

from edge.sources.series import SLOT_S
from edge.state_db import StorageHealth, open_state_db
from edge.state_writer import StateWriter

SCHEMA = """CREATE TABLE IF NOT EXISTS load_history (
    slot_start_s INTEGER PRIMARY KEY,  -- Unix seconds, UTC
    slot_s INTEGER NOT NULL,
    covered_s REAL NOT NULL,           -- how much of the slot the readings cover
    load_wh REAL NOT NULL,             -- the household's appliances (not tank, not heat pump)
    pv_wh REAL NOT NULL,               -- PV measured
    pv_forecast_wh REAL,               -- PV the forecast in force gave for the slot
    tank_wh REAL NOT NULL,             -- the immersion element
    heat_pump_wh REAL NOT NULL,        -- the heat pump (electrical)
    t_out_degc REAL                    -- outside temperature, mean
)"""
MAX_GAP_S = 60.0  # a longer silence between readings counts as not covered
MIN_COVERED_FRAC = 0.8  # a slot with less coverage is not kept (energies scaled up)


@dataclass(frozen=True)
class SlotRecord:
    slot_start_s: int
    slot_s: int
    covered_s: float
    load_wh: float
    pv_wh: float
    pv_forecast_wh: float | None
    tank_wh: float
    heat_pump_wh: float
    t_out_degc: float | None


@dataclass(frozen=True)
class Reading:
    """One tick's powers, W (each ≥ 0), and the outside temperature if known."""

    t_s: float
    load_w: float
    pv_w: float
    tank_w: float = 0.0
    heat_pump_w: float = 0.0
    t_out_degc: float | None = None
    pv_forecast_w: float | None = None  # the forecast in force for this moment


class SlotAccumulator:
    """Pure: feed readings in time order; add() returns the record of a slot it closed."""

    def __init__(self, slot_s: float = SLOT_S) -> None:
        self.slot_s = slot_s
        self._slot: int | None = None
        self._last: Reading | None = None
        self._sum: dict[str, float] = {}
        self._t_n = 0

    def add(self, r: Reading) -> SlotRecord | None:
        slot = int(r.t_s // self.slot_s * self.slot_s)
        closed = None
        if self._slot is not None and slot != self._slot:
            closed = self._close()
        if self._slot != slot:
            self._slot, self._sum, self._t_n = slot, {}, 0
            self._last = None
        if self._last is not None:
            dt_s = r.t_s - self._last.t_s
            if 0 < dt_s <= MAX_GAP_S:
                self._integrate(self._last, dt_s)
        self._last = r
        return closed

    def _integrate(self, r: Reading, dt_s: float) -> None:
        s = self._sum
        s["covered_s"] = s.get("covered_s", 0.0) + dt_s
        for name in ("load_w", "pv_w", "tank_w", "heat_pump_w"):
            s[name] = s.get(name, 0.0) + max(0.0, getattr(r, name)) * dt_s / 3600.0
        if r.pv_forecast_w is not None:
            s["pv_forecast_w"] = s.get("pv_forecast_w", 0.0) + r.pv_forecast_w * dt_s / 3600.0
            s["forecast_s"] = s.get("forecast_s", 0.0) + dt_s
        if r.t_out_degc is not None:
            s["t_out"] = s.get("t_out", 0.0) + r.t_out_degc
            self._t_n += 1

    def _close(self) -> SlotRecord | None:
        s, slot = self._sum, self._slot
        covered = s.get("covered_s", 0.0)
        if slot is None or covered < MIN_COVERED_FRAC * self.slot_s:
            return None
        k = self.slot_s / covered  # the uncovered rest as the covered part was
        fc = s.get("forecast_s", 0.0)
        return SlotRecord(
            slot_start_s=slot,
            slot_s=int(self.slot_s),
            covered_s=covered,
            load_wh=s["load_w"] * k,
            pv_wh=s["pv_w"] * k,
            pv_forecast_wh=s["pv_forecast_w"] * self.slot_s / fc if fc else None,
            tank_wh=s["tank_w"] * k,
            heat_pump_wh=s["heat_pump_w"] * k,
            t_out_degc=s["t_out"] / self._t_n if self._t_n else None,
        )


_COLUMNS = [f.name for f in fields(SlotRecord)]
_INSERT = (
    f"INSERT OR REPLACE INTO load_history ({', '.join(_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


class HistoryStore:
    """The table, read once at start and written through a StateWriter."""

    def __init__(self, db_path: str, health: StorageHealth, keep_days: float = 28.0) -> None:
        self.keep_s = keep_days * 86400.0
        self.db = open_state_db(db_path, SCHEMA, threads=True)
        self.writer = StateWriter(self.db, "load history", health)

    def load(self, since_s: float) -> list[SlotRecord]:
        """Every row from since_s on, oldest first (before the first write only)."""
        rows = self.db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM load_history WHERE slot_start_s >= ?"
            " ORDER BY slot_start_s",
            (int(since_s),),
        ).fetchall()
        return [SlotRecord(*row) for row in rows]

    def save(self, record: SlotRecord) -> None:
        values = tuple(getattr(record, c) for c in _COLUMNS)
        oldest = record.slot_start_s - self.keep_s

        def write(db: sqlite3.Connection) -> None:
            db.execute(_INSERT, values)
            db.execute("DELETE FROM load_history WHERE slot_start_s < ?", (oldest,))

        self.writer.submit(write)

    def close(self) -> None:
        self.writer.close()
