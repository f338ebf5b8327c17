"""The per-minute trace and the decision rows in the state database (edge/trace_log.py)."""

from __future__ import annotations

import sqlite3

import pytest

from edge.core.model import InverterReading, LoadsReading, ProcessImage, Sample
from edge.state_db import StorageHealth
from edge.trace_log import TraceLog


def image(t_s: float, grid_w: float | None, heater_w: float = 0.0) -> ProcessImage:
    reading = (
        Sample(InverterReading(grid_w, -1000.0, 50.0 + t_s / 600, 800.0, 2000.0), 0.0)
        if grid_w is not None
        else None
    )
    return ProcessImage(
        t_s=t_s, inverter=reading, dab=None, loads=Sample(LoadsReading(heater_w, 0.0), 0.0)
    )


def rows(path, table: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT * FROM {table} ORDER BY t_s").fetchall()
    finally:
        db.close()


def test_a_row_a_minute_of_means_with_the_last_soc_and_decision(tmp_path):
    path = tmp_path / "state.sqlite"
    trace = TraceLog(str(path))
    wall0 = 1_800_000_000.0
    for t in range(120, 240):  # two whole minutes, 1 s ticks
        grid = 100.0 if t < 150 else -100.0  # a step half way through the first minute
        heater = 300.0 if t >= 180 else 0.0
        trace.add(
            image(float(t), None if t in (200, 201) else grid, heater), f"r{t}", wall0 + t, 1.0
        )
    trace.decision(wall0 + 120, 120.0, "self-consumption")
    trace.close()
    got = rows(path, "trace")
    assert len(got) == 2
    wall_s, t_s, grid_w, pv_w, load_w, battery_w, soc_pct, heater_w, hp_w, reason = got[0]
    assert (wall_s, t_s, reason) == (wall0 + 179, 179.0, "r179")
    assert grid_w == pytest.approx((30 * 100.0 - 30 * 100.0) / 60)  # the step, averaged
    assert (pv_w, load_w, battery_w, heater_w, hp_w) == (2000.0, 800.0, -1000.0, 0.0, 0.0)
    assert soc_pct == pytest.approx(50.0 + 179 / 600)
    second = got[1]
    assert second[2] == -100.0 and second[7] == 300.0  # 58 ticks with data, 2 without
    assert rows(path, "decisions") == [(wall0 + 120, 120.0, "self-consumption")]


def test_old_rows_go_and_a_failing_disk_is_reported_once(tmp_path):
    path = tmp_path / "state.sqlite"
    health = StorageHealth()
    trace = TraceLog(str(path), health, keep_days=1.0)
    trace.add(image(0.0, 10.0), "a", 1000.0, 1.0)
    trace.add(image(60.0, 10.0), "b", 1060.0, 1.0)  # minute 0 written
    trace.add(image(3 * 86400.0, 10.0), "c", 1000.0 + 3 * 86400, 1.0)  # minute 1 written
    trace.add(
        image(3 * 86400.0 + 60, 10.0), "d", 1060.0 + 3 * 86400, 1.0
    )  # minute 2: the others expire
    trace._writer.submit(lambda: None).result()
    assert [r[-1] for r in rows(path, "trace")] == ["c"]
    trace._db.execute("PRAGMA query_only = 1")  # every write fails from here
    trace.add(image(3 * 86400.0 + 120, 10.0), "e", 1120.0 + 3 * 86400, 1.0)
    trace.decision(1121.0, 1.0, "x")
    trace._writer.submit(lambda: None).result()
    assert health.problem is not None and health.problem.startswith("trace: ")
    trace.close()
