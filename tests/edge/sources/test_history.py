"""The history per slot: integrated from ticks, kept in SQLite across a restart."""

import sqlite3

import pytest

from edge.sources.history import HistoryStore, Reading, SlotAccumulator, SlotRecord
from edge.state_db import StorageHealth
from tests.edge.sources.conftest import T0_S


def feed_slot(acc: SlotAccumulator, t0: float, load_w: float, tick_s: float = 1.0, **kw):
    closed = []
    t = t0
    while t < t0 + 1800:
        r = acc.add(
            Reading(
                t,
                load_w,
                kw.get("pv_w", 0.0),
                t_out_degc=kw.get("t_out"),
                pv_forecast_w=kw.get("pv_fc"),
            )
        )
        closed += [r] if r else []
        t += tick_s
    return closed


def test_a_slot_closes_with_its_energies():
    acc = SlotAccumulator()
    assert feed_slot(acc, T0_S, 1200.0, pv_w=2000.0, t_out=4.0, pv_fc=1000.0) == []
    (rec,) = feed_slot(acc, T0_S + 1800, 0.0)
    assert rec.slot_start_s == T0_S and rec.slot_s == 1800
    assert rec.load_wh == pytest.approx(600.0) and rec.pv_wh == pytest.approx(1000.0)
    assert rec.pv_forecast_wh == pytest.approx(500.0) and rec.t_out_degc == 4.0
    assert rec.tank_wh == 0.0


def test_a_slot_mostly_silent_is_not_kept_and_gaps_do_not_count():
    acc = SlotAccumulator()
    # readings only in the first 10 minutes: a third of the slot
    for t in range(0, 600):
        acc.add(Reading(T0_S + t, 500.0, 0.0))
    assert acc.add(Reading(T0_S + 1800, 0.0, 0.0)) is None
    # a reading every 120 s: each gap is over MAX_GAP_S, nothing covered
    acc2 = SlotAccumulator()
    for t in range(0, 1800, 120):
        acc2.add(Reading(T0_S + t, 500.0, 0.0))
    assert acc2.add(Reading(T0_S + 1800, 0.0, 0.0)) is None


def record(k: int, load_wh: float = 100.0) -> SlotRecord:
    return SlotRecord(int(T0_S) + 1800 * k, 1800, 1800.0, load_wh, 0.0, None, 0.0, 0.0, 5.0)


def test_rows_survive_a_restart_and_old_ones_go(tmp_path):
    db = str(tmp_path / "state.sqlite")
    health = StorageHealth()
    store = HistoryStore(db, health, keep_days=7)
    for k in range(3):
        store.save(record(k, 100.0 + k))
    store.save(record(7 * 48 + 2))  # a week on: slot 0 and 1 are now too old
    store.close()
    again = HistoryStore(db, health, keep_days=7)
    rows = again.load(0)
    again.close()
    assert [r.slot_start_s for r in rows] == [int(T0_S) + 3600, int(T0_S) + 1800 * (7 * 48 + 2)]
    assert rows[0] == record(2, 102.0)
    assert health.problem is None


def test_a_failing_write_is_reported_to_the_storage_health(tmp_path):
    db = str(tmp_path / "state.sqlite")
    health = StorageHealth()
    store = HistoryStore(db, health)
    store.writer.flush()
    other = sqlite3.connect(db)
    other.execute("DROP TABLE load_history")
    other.commit()
    other.close()
    store.save(record(0))
    store.writer.flush()
    assert health.problem is not None and health.problem.startswith("load history: ")
    store.close()
