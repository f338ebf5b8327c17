"""Where the planned controller loses to the optimum: its gap on a run of days, split
into the forecasts' error, the execution of the plan, the planning model against the
optimum's and the optimum's freedom to start each day elsewhere.

    .venv/bin/python -m host_tools.bench.control.gap [--days 2] [--tariffs e7,agile]
        [--runs winter:15,shoulder:80]

Per day, each an objective in £ (metrics.objective), from the top down:
- planned: the comparison's planned controller (honest forecasts);
- oracle: the same controller given the actual PV, load, outside temperature and draws
  ahead (forecast.Oracle; it sees the future, a diagnostic only);
- oracle plan: what the oracle's plan made at the day's 00:00 expects of the day (its
  first 48 slots, scored as a run is: its SOC, tank and house at each slot's end);
- that plan's inputs with the model's differences from the optimum's taken away one by
  one, cumulatively: the battery's wear (1 p/kWh; the optimum's is 0.1 p), the tank (to
  the diverter's maximum, a token cost per draw not given; the optimum's: to its
  thermostat, none), the heat pump (on at least its minimum run or off, the comfort
  band's ceiling; the optimum's: any power, its FORCE ceiling) and the horizon (36-48 h
  valued at its mean price; the optimum's: the day, valued at the day's);
- the optimum from the oracle's start, at the plan's 30-minute slots, then at its own
  60 s step;
- the optimum as the comparison solves it: free to start anywhere between where the
  runs began (ours, the status quo, planned and oracle).

Each step's difference is one part of the gap: forecast = planned - oracle; execution =
oracle - oracle plan (the core following slots with its own rules, SG-Ready's bands,
re-plans); the model's parts; slot length; the start. They add up to planned - optimum.
The model's parts are taken away in the order above: another order splits them
differently. A model part can be negative (the plan's model scores better than the
optimum's at 30 minutes: its discretisation, the tie-break).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

import numpy as np

from edge.planner.model import PlanInputs, solve
from host_tools.bench.control import limits, optimum
from host_tools.bench.control import metrics as m
from host_tools.bench.control.annual import _Day
from host_tools.bench.control.compare import REACTIVE, _days, days_scenario
from host_tools.bench.control.planned import PlannedController
from host_tools.bench.control.scenarios import Scenario, Trace

SLOTS_A_DAY = 48
EFFICIENCY = 0.95
OPT_WEAR_GBP_PER_KWH = optimum.THROUGHPUT_COST
# The levels, from the planned run down to the optimum (module docstring); each part of
# the gap is a level less the next, named in PARTS.
LEVELS = (
    "planned",
    "oracle",
    "oracle plan",
    "no wear",
    "optimum's tank",
    "optimum's heat pump",
    "one day",
    "optimum at 30 min",
    "optimum from the oracle's start",
    "optimum",
)
PARTS = (
    "forecast",
    "execution",
    "wear",
    "tank",
    "heat pump",
    "horizon",
    "model rest",
    "slot length",
    "start",
)


def plan_trace(inp: PlanInputs, tariff: str, slots: int = SLOTS_A_DAY) -> tuple[float, Trace]:
    """The plan for inp, its first `slots` slots as a 1 s trace, and that trace's
    objective (the plan's expectation of the day, scored as a run is)."""
    plan = solve(inp)
    if plan is None:
        raise RuntimeError("the planner found no plan for the oracle's inputs")
    slot_s = round(plan.slot_s)

    def rep(xs: tuple[float, ...]) -> np.ndarray:
        return np.repeat(np.asarray(xs[:slots], dtype=float), slot_s)

    s = inp.state
    tr = Trace(
        t_s=plan.t0_s + np.arange(slots * slot_s, dtype=float),
        pv_w=rep(plan.pv_w),
        load_w=rep(plan.load_w),
        heater_w=rep(plan.tank_w),
        hp_w=rep(plan.hp_w),
        battery_w=rep(plan.battery_w),
        grid_w=rep(plan.grid_w),
        soc_pct=rep(plan.soc_pct),
        tank_degc=rep(plan.tank_degc),
        house_degc=rep(plan.house_degc),
        check=np.zeros(slots * slot_s, dtype=bool),
        leak_wh_house=0.0,
        comfort_misses=0,
        soc0_pct=s.soc_pct,
        tank0_degc=s.tank_degc,
        house0_degc=s.house_degc,
        capacity_wh=inp.battery.capacity_wh,
    )
    return m.objective(tr, tariff, EFFICIENCY), tr


def like_optimum(sc: Scenario, inp: PlanInputs, tariff: str) -> list[tuple[str, PlanInputs]]:
    """inp with the model's differences from the optimum's taken away one by one
    (module docstring), each with the name of its level (LEVELS)."""
    assert inp.tank is not None and inp.house is not None
    hp = sc.params.heat_pump
    out = []
    inp = dataclasses.replace(
        inp, battery=dataclasses.replace(inp.battery, wear_gbp_per_kwh=OPT_WEAR_GBP_PER_KWH)
    )
    out.append(("no wear", inp))
    tank = dataclasses.replace(
        inp.tank, max_degc=sc.params.tank.thermostat_degc, short_gbp_per_kwh=1e-6
    )
    inp = dataclasses.replace(inp, tank=tank)
    out.append(("optimum's tank", inp))
    house = dataclasses.replace(inp.house, ceiling_degc=hp.setpoint_degc + hp.force_limit_k + 0.5)
    inp = dataclasses.replace(inp, house=house, hp_on_off="relaxed")
    out.append(("optimum's heat pump", inp))
    fc, n = inp.forecast, SLOTS_A_DAY
    day_t = fc.t0_s + np.arange(n * round(fc.slot_s), dtype=float)
    inp = dataclasses.replace(
        inp,
        forecast=dataclasses.replace(
            fc,
            pv_w=fc.pv_w[:n],
            load_w=fc.load_w[:n],
            t_out_degc=fc.t_out_degc[:n],
            draw_wh=fc.draw_wh[:n],
        ),
        import_gbp_per_kwh=inp.import_gbp_per_kwh[:n],
        export_gbp_per_kwh=inp.export_gbp_per_kwh[:n],
        previous_battery_w=None,
        terminal_gbp_per_kwh=m.end_value(tariff, day_t, EFFICIENCY),
    )
    out.append(("one day", inp))
    return out


def _at_midnight(ctl: PlannedController, t_s: float) -> PlanInputs:
    """The inputs of the first plan made in the slot from the midnight before t_s (the
    run's ticks start a second in)."""
    day_s = math.floor(t_s / 86400.0) * 86400.0
    for inp in ctl.inputs:
        if inp.forecast.t0_s == day_s:
            return inp
    raise RuntimeError(f"no plan made at {day_s:.0f} s")


def decompose(
    sc: Scenario, tariff: str, reactive: list[list[tuple[float, float, float]]], days: list[_Day]
) -> dict[str, Any]:
    """The gap's parts (£, summed over the days) for one tariff; reactive: each reactive
    controller's day starts (for the optimum's start span), days: the run's days."""
    runs = {}
    ctls = {}
    for name, oracle in (("planned", False), ("oracle", True)):
        ctls[name] = PlannedController(sc, tariff, keep_inputs=oracle, oracle=oracle)
        runs[name] = _days(sc, name, (tariff,), plan=ctls[name])[0][tariff]
    per = round(sc.lp_dt_s)
    coarse = dataclasses.replace(sc, lp_dt_s=1800.0)
    levels: dict[str, list[float]] = {}
    for k, d in enumerate(days):
        inp = _at_midnight(ctls["oracle"], d.t0_s)
        s = inp.state
        row = {
            "planned": runs["planned"].objective[k],
            "oracle": runs["oracle"].objective[k],
            "oracle plan": plan_trace(inp, tariff)[0],
        }
        for level, variant in like_optimum(sc, inp, tariff):
            row[level] = plan_trace(variant, tariff)[0]
        point = optimum.Starts.of_points([(s.soc_pct, s.tank_degc, s.house_degc)])
        d.starts = [*(r[k] for r in reactive), *(runs[n].starts[k] for n in runs)]
        span = optimum.Starts.of_points(d.starts)
        lim = limits()
        row["optimum at 30 min"] = m.objective(
            optimum.solve(coarse, d.trace(per), tariff, lim, point), tariff, EFFICIENCY
        )
        row["optimum from the oracle's start"] = m.objective(
            optimum.solve(sc, d.trace(per), tariff, lim, point), tariff, EFFICIENCY
        )
        row["optimum"] = m.objective(
            optimum.solve(sc, d.trace(per), tariff, lim, span), tariff, EFFICIENCY
        )
        for key, x in row.items():
            levels.setdefault(key, []).append(x)
    total = {k: math.fsum(v) for k, v in levels.items()}
    parts = {p: total[LEVELS[i]] - total[LEVELS[i + 1]] for i, p in enumerate(PARTS)}
    return {
        "days": len(days),
        "planned": total["planned"],
        "optimum": total["optimum"],
        "gap": total["planned"] - total["optimum"],
        "parts": parts,
        "levels": total,
        "plans": len(ctls["oracle"].inputs),
    }


def run(name: str, first_day: int, n_days: int, tariffs: tuple[str, ...]) -> dict[str, Any]:
    sc = days_scenario(name, first_day, n_days)
    reactive = []
    days: list[_Day] = []
    for ctl in REACTIVE:
        r, days = _days(sc, ctl, tariffs[:1])
        reactive.append(r[tariffs[0]].starts)
    return {t: decompose(sc, t, reactive, [dataclasses.replace(d) for d in days]) for t in tariffs}


def table(results: dict[str, dict[str, Any]]) -> str:
    head = "| run | tariff | planned £ | oracle £ | optimum £ | gap £ | " + " | ".join(PARTS) + " |"
    rows = [head, "|" + "---|" * (len(PARTS) + 6)]
    for run_name, by in results.items():
        for tariff, r in by.items():
            cells = " | ".join(f"{r['parts'][p]:+.3f}" for p in PARTS)
            rows.append(
                f"| {run_name} | {tariff} | {r['planned']:.3f} | {r['levels']['oracle']:.3f} |"
                f" {r['optimum']:.3f} |"
                f" {r['gap']:+.3f} | {cells} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m host_tools.bench.control.gap", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--days", type=int, default=2, help="days a run (default 2)")
    ap.add_argument("--tariffs", default="e7,agile", help="comma-separated (default e7,agile)")
    ap.add_argument(
        "--runs",
        default="winter:15",
        help="name:first day of the year, comma-separated (default winter:15)",
    )
    a = ap.parse_args(argv)
    tariffs = tuple(a.tariffs.split(","))
    results = {}
    for spec in a.runs.split(","):
        name, _, first = spec.partition(":")
        results[name] = run(name, int(first), a.days, tariffs)
    print(table(results))


if __name__ == "__main__":
    main()
