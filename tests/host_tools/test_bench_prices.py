"""The benchmark's Agile-like series is indexed by the day of the year: a run that starts
on day D reads it from the series' day D - 1 (prices.for_run), so a sample of days from
across the year (the 15th of each month) sees as many different Agile days."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from host_tools.bench.control import compare, planned, prices
from host_tools.bench.control import metrics as m

DAY_S = 86400.0


def test_a_run_from_day_d_reads_the_series_from_its_day_d_minus_1():
    t = np.arange(0.0, 2 * DAY_S, 1800.0) + 900.0
    for name, price in (("agile@79", m.import_price), ("agile@79", m.export_price)):
        assert np.array_equal(price(name, t), price("agile", t + 79 * DAY_S))
    # ...and it is another day's prices, not the first day's again
    assert not np.array_equal(m.import_price("agile@79", t), m.import_price("agile", t))
    # the fixed tariffs depend on the time of day only
    assert np.array_equal(m.import_price("e7", t), m.import_price("e7", t + 79 * DAY_S))


def test_the_names_of_a_runs_tariffs():
    assert prices.for_run("agile", 80) == "agile@79"
    assert prices.for_run("agile", 1) == "agile"  # a run from 1 January: the series' start
    assert prices.for_run("e7", 80) == "e7"
    assert prices.base_name("agile@79") == "agile" and prices.base_name("go") == "go"
    with pytest.raises(KeyError, match="expected agile@<day>"):
        prices.tariff("agile@x")
    with pytest.raises(KeyError, match="no Agile-like day 399"):
        prices.tariff("agile@399")


def test_the_planner_sees_a_later_days_prices_published_the_same_way():
    now = 10 * 3600.0  # before 16:00: tomorrow's prices are not out yet
    assert planned.known_until_s("agile@45", now) == planned.known_until_s("agile", now)
    assert planned.known_until_s("agile@45", now) == DAY_S
    late, _ = planned.price_slots("agile@45", 0.0, 48, now)
    same, _ = planned.price_slots("agile", 45 * DAY_S, 48, 45 * DAY_S + now)
    assert late == pytest.approx(same)


def test_the_comparison_prices_each_run_by_its_first_day(monkeypatch):
    seen: list[tuple[str, ...]] = []
    original = compare._days

    def days(sc, controller, tariffs, plan=None):
        seen.append(tuple(tariffs))
        return original(sc, controller, tariffs, plan=plan)

    monkeypatch.setattr(compare, "_days", days)
    sc = dataclasses.replace(compare.days_scenario("feb", 46, 1), seconds=3600.0)
    out = compare.compare(sc, ("e7", "agile"))
    assert set(out) == {"e7", "agile"}  # the results keep the plain names
    assert seen[0] == ("e7", "agile@45")  # ours, scored under both
    assert ("agile@45",) in seen[1:] and ("agile",) not in seen


def test_a_sweeps_runs_are_priced_by_their_first_day(monkeypatch):
    from host_tools.bench.sweep import houses
    from host_tools.bench.sweep.tasks import period, run_task, setting, tasks

    table = (
        "id,kwp,tilt_deg,azimuth_deg,battery_kwh,tank_l,heat_pump_kw,annual_load_kwh,"
        "occupants,lat,lon\nsouth,4.0,35,180,4.8,180,0,3000,3,52.2,-1.5\n"
    )
    seen: list[str] = []
    original = m.objective

    def objective(tr, tariff, eta):
        seen.append(tariff)
        return original(tr, tariff, eta)

    monkeypatch.setattr(m, "objective", objective)
    todo = tasks(
        houses.parse(table),
        ("ours",),
        ("e7", "agile"),
        (setting("default"),),
        (1,),
        period("172", 1.0),
    )
    sums = run_task(todo[0])["sums"]
    assert seen == ["e7", "agile@171"]
    assert "objective_agile" in sums and "objective_agile@171" not in sums


def test_the_gaps_runs_are_priced_by_their_first_day(monkeypatch):
    from host_tools.bench.control import gap

    seen: list[str] = []
    monkeypatch.setattr(gap, "decompose", lambda sc, tariff, *rest: seen.append(tariff) or {})
    no_starts = gap._Run([], 0.0, [])
    monkeypatch.setattr(gap, "_days", lambda sc, ctl, tariffs: ({tariffs[0]: no_starts}, []))
    out = gap.run("winter", 15, 1, ("e7", "agile"))
    assert seen == ["e7", "agile@14"] and set(out) == {"e7", "agile"}


def test_the_optimum_solves_where_export_pays_more_than_import_costs():
    """Day 71 from midnight: the Agile-like series' day 70 starts with half hours of
    negative wholesale price, where its export (0.95 W) pays more than its import (2.2 W)
    costs. The optimum's LP was unbounded there (buying and selling at once)."""
    from host_tools.bench.control import limits, optimum

    t = np.arange(0.0, 6 * 3600.0, 1800.0) + 900.0
    assert (m.import_price("agile@70", t) < m.export_price("agile@70", t)).any()
    sc = dataclasses.replace(compare.days_scenario("negative", 71, 1), seconds=6 * 3600.0)
    tariff = prices.for_run("agile", 71)
    runs, days = compare._days(sc, "ours", (tariff,))
    days[0].starts = runs[tariff].starts
    best = optimum.solve(sc, days[0].trace(round(sc.lp_dt_s)), tariff, limits())
    assert np.isfinite(best.grid_w).all()
    assert m.objective(best, tariff, 0.95) < runs[tariff].objective[0]  # a bound on ours
