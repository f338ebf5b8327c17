"""Where the planned controller loses to the optimum: its gap on a run of days, split
into the forecasts' error, the execution of the plan, the planning model against the
optimum's and the optimum's freedom to start each day elsewhere.

    .venv/bin/python -m host_tools.bench.control.gap [--days 2] [--tariffs e7,agile]
        [--runs winter:15,shoulder:80] [--half-hours]

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

Of the execution part, the table shows what the oracle's second-by-second balance costs
(balance_gbp: its bill at 1 s less its bill on 60 s means), which no plan can remove.
--half-hours prints each of the oracle's days beside its plan made at the day's 00:00,
half hour by half hour (half_hours): where the rest of the execution part comes from.
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
from host_tools.bench.control.compare import REACTIVE, _days, _Run, days_scenario
from host_tools.bench.control.planned import PlannedController
from host_tools.bench.control.prices import for_run
from host_tools.bench.control.scenarios import Scenario, Trace, run_chunks

SLOTS_A_DAY = 48
BALANCE_STEP_S = 60  # the optimum's step (compare.days_scenario's lp_dt_s)
HALF_HOUR_S = 1800  # a trace's seconds a half hour
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


def balance_gbp(tr: Trace, tariff: str, step_s: int = BALANCE_STEP_S) -> float:
    """What a run's second-by-second balance costs: its bill at 1 s less its bill on
    step_s means of the grid power. The meter bills each second, import at the import
    price and export at the export price; a load the battery follows only after the
    inverter's dead time and ramp is imported for those seconds, a load's end exported,
    so a minute that nets to zero still costs about the difference between the prices.
    No plan at 30 minutes, and no optimum at 60 s, sees it."""
    n = len(tr.t_s) // step_s * step_s
    means = tr.grid_w[:n].reshape(-1, step_s).mean(axis=1)
    mid = tr.t_s[:n].reshape(-1, step_s).mean(axis=1)
    return _bill(tr.grid_w[:n], tr.t_s[:n], 1.0, tariff) - _bill(means, mid, step_s, tariff)


def _bill(grid_w: np.ndarray, t_s: np.ndarray, dt_s: float, tariff: str) -> float:
    """£ for grid powers (W, + = import) held dt_s each, at the prices at t_s."""
    imp = np.clip(grid_w, 0.0, None) * m.import_price(tariff, t_s)
    exp = np.clip(-grid_w, 0.0, None) * m.export_price(tariff, t_s)
    return float((imp.sum() - exp.sum()) * dt_s / 3.6e6)


HALF_HOUR_HEAD = (
    "| day | hh | p/kWh | battery W, run / plan | grid W | tank W | heat pump W |"
    " SOC % at the end | house degC at the end | bill £ |"
)


def half_hours(day: int, run: Trace, plan: Trace, tariff: str) -> list[str]:
    """A day of a run beside a plan's expectation of it, half hour by half hour (the
    means of each; SOC and the house at each half hour's end; the bill at 1 s for both),
    as rows under HALF_HOUR_HEAD."""
    rows = []
    step = HALF_HOUR_S
    for k in range(min(run.t_s.size, plan.t_s.size) // step):
        a = slice(k * step, (k + 1) * step)
        price = float(m.import_price(tariff, run.t_s[a][:1])[0]) * 100.0

        def pair(x: np.ndarray, y: np.ndarray, a: slice = a) -> str:
            return f"{x[a].mean():.0f} / {y[a].mean():.0f}"

        bills = [_bill(tr.grid_w[a], tr.t_s[a], 1.0, tariff) for tr in (run, plan)]
        rows.append(
            f"| {day} | {k // 2:02d}:{30 * (k % 2):02d} | {price:.1f} |"
            f" {pair(run.battery_w, plan.battery_w)} | {pair(run.grid_w, plan.grid_w)} |"
            f" {pair(run.heater_w, plan.heater_w)} | {pair(run.hp_w, plan.hp_w)} |"
            f" {run.soc_pct[a][-1]:.1f} / {plan.soc_pct[a][-1]:.1f} |"
            f" {run.house_degc[a][-1]:.2f} / {plan.house_degc[a][-1]:.2f} |"
            f" {bills[0]:.3f} / {bills[1]:.3f} |"
        )
    return rows


def _oracle_days(
    sc: Scenario, tariff: str, ctl: PlannedController, rows: list[str] | None = None
) -> tuple[_Run, list[float]]:
    """The oracle's run, day by day (as compare._days scores it), and each day's
    balance_gbp; rows: where to add each day's half hours beside its midnight plan."""
    run, balance = _Run([], 0.0, []), []

    def day(tr: Trace) -> None:
        run.objective.append(m.objective(tr, tariff, EFFICIENCY))
        run.leak_wh += m.leak_wh(tr)
        run.starts.append((tr.soc0_pct, tr.tank0_degc, tr.house0_degc))
        balance.append(balance_gbp(tr, tariff))
        if rows is not None:
            plan = plan_trace(_at_midnight(ctl, float(tr.t_s[0])), tariff)[1]
            rows.extend(half_hours(len(balance) - 1, tr, plan, tariff))

    run_chunks(sc, "planned", 86400, day, plan=ctl)
    return run, balance


def _at_midnight(ctl: PlannedController, t_s: float) -> PlanInputs:
    """The inputs of the first plan made in the slot from the midnight before t_s (the
    run's ticks start a second in)."""
    day_s = math.floor(t_s / 86400.0) * 86400.0
    for inp in ctl.inputs:
        if inp.forecast.t0_s == day_s:
            return inp
    raise RuntimeError(f"no plan made at {day_s:.0f} s")


def decompose(
    sc: Scenario,
    tariff: str,
    reactive: list[list[tuple[float, float, float]]],
    days: list[_Day],
    rows: list[str] | None = None,
) -> dict[str, Any]:
    """The gap's parts (£, summed over the days) for one tariff, and of the execution
    part the oracle's second-by-second balance (balance_gbp); reactive: each reactive
    controller's day starts (for the optimum's start span), days: the run's days; rows:
    where to add the oracle's half hours beside its plans (half_hours)."""
    ctls = {
        name: PlannedController(sc, tariff, keep_inputs=oracle, oracle=oracle)
        for name, oracle in (("planned", False), ("oracle", True))
    }
    runs = {"planned": _days(sc, "planned", (tariff,), plan=ctls["planned"])[0][tariff]}
    runs["oracle"], balance = _oracle_days(sc, tariff, ctls["oracle"], rows)
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
        "balance": math.fsum(balance),  # of the execution part
        "levels": total,
        "plans": len(ctls["oracle"].inputs),
    }


def run(
    name: str,
    first_day: int,
    n_days: int,
    tariffs: tuple[str, ...],
    rows: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """decompose for each tariff on a run of n_days from first_day; rows: where to put
    each tariff's half hours (half_hours), by tariff."""
    sc = days_scenario(name, first_day, n_days)
    reactive = []
    days: list[_Day] = []
    for ctl in REACTIVE:
        r, days = _days(sc, ctl, tariffs[:1])
        reactive.append(r[tariffs[0]].starts)
    return {
        t: decompose(
            sc,
            for_run(t, first_day),  # the Agile-like series' day of the year (prices.for_run)
            reactive,
            [dataclasses.replace(d) for d in days],
            rows.setdefault(t, []) if rows is not None else None,
        )
        for t in tariffs
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    head = "| run | tariff | planned £ | oracle £ | optimum £ | gap £ | " + " | ".join(PARTS)
    rows = [head + " | of execution, the 1 s balance |", "|" + "---|" * (len(PARTS) + 7)]
    for run_name, by in results.items():
        for tariff, r in by.items():
            cells = " | ".join(f"{r['parts'][p]:+.3f}" for p in PARTS)
            rows.append(
                f"| {run_name} | {tariff} | {r['planned']:.3f} | {r['levels']['oracle']:.3f} |"
                f" {r['optimum']:.3f} |"
                f" {r['gap']:+.3f} | {cells} | {r['balance']:+.3f} |"
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
    ap.add_argument(
        "--half-hours",
        action="store_true",
        help="also print the oracle's days beside its midnight plans, half hour by half hour",
    )
    a = ap.parse_args(argv)
    tariffs = tuple(a.tariffs.split(","))
    results = {}
    for spec in a.runs.split(","):
        name, _, first = spec.partition(":")
        rows: dict[str, list[str]] | None = {} if a.half_hours else None
        results[name] = run(name, int(first), a.days, tariffs, rows)
        for tariff, lines in (rows or {}).items():
            print(f"\n{name}, {tariff}: the oracle's run / its plan at the day's 00:00\n")
            print("\n".join([HALF_HOUR_HEAD, "|" + "---|" * 10, *lines]))
    print(table(results))


if __name__ == "__main__":
    main()
