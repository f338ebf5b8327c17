"""The planned controller in the control benchmark: honest inputs (nothing from the
actual trace ahead of the present), published prices only, and a planned day that
leaks nothing and is bounded by the optimum."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from host_tools.bench.control import compare, forecast, planned, prices
from host_tools.bench.control import metrics as m

# The module (the package's `scenarios` is its function of that name).
scenarios = importlib.import_module("host_tools.bench.control.scenarios")

HOUR = 3600.0


def short(hours: float) -> scenarios.Scenario:
    return dataclasses.replace(compare.days_scenario("shoulder", 80, 1), seconds=hours * HOUR)


def _run(sc, tamper_after_s=None):
    ctl = planned.PlannedController(sc, "e7", keep_inputs=True)
    real_house = scenarios._house

    def house(sc_, controller):
        h = real_house(sc_, controller)
        if tamper_after_s is not None:
            pv, load = h.pv_model, h.load_model

            class Pv:
                def power_w(self, t_s):
                    return pv.power_w(t_s) * (0.1 if t_s > tamper_after_s else 1.0)

            class Load:
                def power_w(self, t_s):
                    return load.power_w(t_s) + (2500.0 if t_s > tamper_after_s else 0.0)

            h.pv_model, h.load_model = Pv(), Load()
        return h

    scenarios._house = house
    try:
        scenarios.run_chunks(sc, "planned", 86400, lambda tr: None, plan=ctl)
    finally:
        scenarios._house = real_house
    return ctl


def test_no_planner_input_reads_the_actual_trace_beyond_now():
    """The house's actual PV and load after 08:00 are changed: every planner input made
    up to 08:00 is the same as without the change; later ones see it (so the check has
    teeth: the load history does read the house, as it happens)."""
    sc = short(10.0)
    cut = 8 * HOUR
    base, tampered = _run(sc), _run(sc, tamper_after_s=cut)

    def made_s(ctl):  # when each plan was made: its first slot's end less the part left
        return [i.forecast.t0_s + i.forecast.slot_s - i.first_slot_s for i in ctl.inputs]

    made = made_s(base)
    before = [k for k, t in enumerate(made) if t <= cut]
    # Up to the cut the same plans were made (later, a changed house may leave the plan's
    # band sooner and be re-planned more often).
    assert made_s(tampered)[: len(before)] == made[: len(before)]
    assert len(before) >= 33 and len(made) >= 40  # every 15 minutes
    after = [k for k, t in enumerate(made) if t > cut]
    for k in before:
        assert base.inputs[k] == tampered.inputs[k], made[k]
    assert any(base.inputs[k].forecast.load_w != tampered.inputs[k].forecast.load_w for k in after)


def test_agile_prices_are_known_only_once_published():
    assert planned.known_until_s("agile", 10 * HOUR) == 86400.0
    assert planned.known_until_s("agile", 17 * HOUR) == 2 * 86400.0
    assert planned.known_until_s("e7", 10 * HOUR) == float("inf")
    now = 3 * 86400.0 + 10 * HOUR
    imp, _ = planned.price_slots("agile", now, 96, now)
    # Past midnight the next day's prices are a guess: the last 7 days' same half hour.
    slot = 30  # 01:00 the next day
    t = now + (slot + 0.5) * 1800.0
    past = t - 86400.0 * np.arange(1, 8)
    assert imp[slot] == pytest.approx(m.import_price("agile", past).mean())
    assert imp[slot] != pytest.approx(float(m.import_price("agile", np.array([t]))[0]))
    assert imp[0] == pytest.approx(float(m.import_price("agile", np.array([now + 900.0]))[0]))


def test_the_agile_like_series_has_agiles_structure():
    t = np.arange(0, 365 * 86400.0, 1800.0) + 900.0
    imp = m.import_price("agile", t)
    h = (t % 86400.0) / HOUR
    peak = (h >= 16) & (h < 19)
    assert imp.min() < 0.0  # negative prices happen
    assert imp.max() <= 1.0 + 1e-9  # the cap
    assert imp[peak].mean() > imp[~peak].mean() + 0.10  # the 16:00-19:00 uplift
    assert prices.agile() is prices.agile()  # built once


def test_the_pv_forecast_has_the_stated_day_ahead_error():
    rmse = forecast.pv_rmse_pct(compare.days_scenario("shoulder", 80, 7), 7)
    assert 25.0 < rmse < 45.0


def test_a_planned_day_leaks_nothing_and_the_optimum_bounds_it():
    sc = compare.days_scenario("shoulder", 80, 1)
    r = compare.compare(sc, ("e7",))["e7"]
    assert r["planned_leak_wh"] == 0.0
    assert r["optimum"] <= r["planned"] + 1e-4 and r["optimum"] <= r["ours"] + 1e-4
    assert r["planner"]["plans"] >= 48  # every half hour, and when the SOC left the band
    assert set(r["controllers"]) == set(compare.controllers())
    for name, x in r["controllers"].items():  # the optimum bounds every one of them
        assert r["optimum"] <= x["objective"] + 1e-4, name
    assert r["planner"]["solver_failed"] == 0 and r["planner"]["plans_dropped"] == 0
    assert r["planned"] < r["ours"]  # on Economy 7 the plan pays for itself


def _day(planned_gbp: float, ours_gbp: float, optimum_gbp: float) -> dict[str, object]:
    """compare.compare's figures for one tariff of a one-day run (only what the sum reads)."""
    names = {"ours": ours_gbp, "planned": planned_gbp, "optimum": optimum_gbp}
    stats = {"solve_ms_median": 10.0, "solve_ms_p95": 20.0, "solve_ms_max": 30.0}
    return {
        "days": 1,
        "controllers": {
            n: {"objective": x, "gap_pct": 0.0, "leak_wh": 0.0} for n, x in names.items()
        },
        "optimum": optimum_gbp,
        "daily_planned_gbp": [planned_gbp],
        "daily_ours_gbp": [ours_gbp],
        "daily_optimum_gbp": [optimum_gbp],
        "planner": {
            "plans": 96,
            **{k: v * planned_gbp for k, v in stats.items()},
            "peak_rss_mb": 200.0,
            "slots_median": 96,
            "plans_dropped": 0,
            "solver_failed": 0,
            "pv_forecast_rmse_pct_of_mean": 30.0,
        },
    }


def test_the_months_sample_sums_its_days_and_takes_the_gap_of_the_sums():
    runs = {"jan": {"e7": _day(3.0, 4.0, 2.0)}, "jul": {"e7": _day(-1.0, -0.5, -1.5)}}
    total = compare.sample_total(runs)["e7"]
    assert total["days"] == 2
    assert total["planned"] == 2.0 and total["optimum"] == 0.5 and total["ours"] == 3.5
    # The gap of the sums (2.0 over 0.5: +300 %), not the mean of the days' gaps.
    assert total["planned_gap_pct"] == 300.0 and total["ours_gap_pct"] == 600.0
    assert total["daily_planned_gbp"] == [3.0, -1.0]
    assert total["worst_day_vs_ours_gbp"] == -0.5  # the worse of -1.0 and -0.5
    assert total["regret_max_gbp"] == 1.0 and total["regret_median_gbp"] == 0.75
    assert total["planner"]["plans"] == 192
    assert total["planner"]["solve_ms_median"] == 30.0  # the worst run's


def test_planned_months_are_the_fifteenth_of_each_month():
    from host_tools.bench import control

    runs = control.planned_scenarios(quick=False, days=None, months=True)
    assert [sc.params.start_day_of_year for sc in runs] == [
        15,
        46,
        74,
        105,
        135,
        166,
        196,
        227,
        258,
        288,
        319,
        349,
    ]
    assert {sc.seconds for sc in runs} == {86400.0}
