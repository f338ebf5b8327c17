"""Lifetime energy totals the supervisor integrates from its own readings, kept in SQLite
(site.state_db) so they only ever grow: Home Assistant's Energy dashboard takes them as
total_increasing kWh (grid import and export, battery charge and discharge, the charge
split by where it came from, PV, the energy diverted into the tank, the DAB string's
charge).

Integrated from each tick's powers (W x s / 3.6e6); signs as everywhere: grid + = import,
battery + = discharge.

Where the battery's charge came from (so HA's Energy dashboard does not draw a grid charge
as solar): each tick, the charge power up to the PV surplus (PV less the house's load as
the inverter measures it, never below 0) counts as PV, the rest as grid. The two always
add up to battery_charge_kwh.

save() hands a copy of the totals to a writer thread, so no commit runs on the control
tick; a save that fails (the disk full) is reported to `health`, the totals stay in memory
and the next save writes them (each is a total, so the latest copy is all that is due)."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from edge.core.model import ProcessImage
from edge.state_db import StorageHealth, open_state_db

TOTALS = (
    "grid_import_kwh",
    "grid_export_kwh",
    "battery_charge_kwh",
    "battery_discharge_kwh",
    "battery_charge_pv_kwh",
    "battery_charge_grid_kwh",
    "pv_kwh",
    "diverted_kwh",
    "dab_charge_kwh",
)


class EnergyTotals:
    def __init__(self, db_path: str = ":memory:", health: StorageHealth | None = None) -> None:
        self.health = health if health is not None else StorageHealth()
        self._db = open_state_db(
            db_path,
            "CREATE TABLE IF NOT EXISTS energy_totals (name TEXT PRIMARY KEY, kwh REAL)",
            threads=True,  # read here, then written by the writer thread only
        )
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="energy-totals")
        rows = dict(self._db.execute("SELECT name, kwh FROM energy_totals").fetchall())
        self.kwh = {name: float(rows.get(name, 0.0)) for name in TOTALS}

    def add(self, image: ProcessImage, dt_s: float) -> None:
        h = dt_s / 3.6e6
        if image.inverter is not None:
            r = image.inverter.value
            self.kwh["grid_import_kwh"] += max(r.grid_power_w, 0.0) * h
            self.kwh["grid_export_kwh"] += max(-r.grid_power_w, 0.0) * h
            charge_w = max(-r.battery_power_w, 0.0)
            from_pv_w = min(charge_w, max(r.pv_power_w - r.load_power_w, 0.0))
            self.kwh["battery_charge_kwh"] += charge_w * h
            self.kwh["battery_charge_pv_kwh"] += from_pv_w * h
            self.kwh["battery_charge_grid_kwh"] += (charge_w - from_pv_w) * h
            self.kwh["battery_discharge_kwh"] += max(r.battery_power_w, 0.0) * h
            self.kwh["pv_kwh"] += max(r.pv_power_w, 0.0) * h
        if image.loads is not None:
            self.kwh["diverted_kwh"] += max(image.loads.value.heater_w, 0.0) * h
        if image.dab is not None:
            d = image.dab.value
            self.kwh["dab_charge_kwh"] += max(d.charge_current_a * d.string_voltage_v, 0.0) * h

    def save(self) -> None:
        """Write the totals as they stand, on the writer thread (returns at once)."""
        self._writer.submit(self._write, list(self.kwh.items()))

    def _write(self, totals: list[tuple[str, float]]) -> None:
        try:
            self._db.executemany(
                "INSERT INTO energy_totals (name, kwh) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET kwh = excluded.kwh",
                totals,
            )
            self._db.commit()
        except sqlite3.Error as exc:
            self._db.rollback()
            self.health.failed("energy totals", exc)
        else:
            self.health.wrote("energy totals")

    def doc(self, t_s: float) -> dict[str, float]:
        return {"t_s": round(t_s, 3), **{k: round(v, 4) for k, v in self.kwh.items()}}

    def close(self) -> None:
        """The last save, then wait for the writer (a failed last save is reported, the
        totals since the previous good one are lost with the process)."""
        self.save()
        self._writer.shutdown(wait=True)
        self._db.close()
