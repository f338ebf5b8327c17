"""Ours reactive, ours planned and the perfect-foresight optimum side by side, day by day,
under each planned tariff (prices.PLANNED_TARIFFS), on runs of whole days.

Each day is scored on the actual PV and load with metrics.objective. The optimum is
solved for each day, free to start anywhere between where the compared controllers' days
began (as run_year does), so it bounds them. The daily regret is the planned day's
objective less the optimum's: the cost of planning on forecasts and billing on actuals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.sim.house import HouseParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams
from host_tools.bench.control import _Day, limits, optimum
from host_tools.bench.control import metrics as m
from host_tools.bench.control.planned import PlannedController
from host_tools.bench.control.prices import PLANNED_TARIFFS
from host_tools.bench.control.scenarios import Scenario, Trace, run_chunks

GOALS = {
    "e7": 10.0,  # planned within this % of the optimum's objective
    "agile": 15.0,
    "flat": 15.0,
}
WORSE_DAY_GBP = 0.05  # never worse than ours reactive on any day by more than this
# The weeks the full run compares (name, first day of the year), and the quick run's days.
WEEKS = (("winter", 15), ("shoulder", 80), ("summer", 172))
QUICK = (("shoulder", 80),)


def days_scenario(name: str, first_day: int, days: int) -> Scenario:
    return Scenario(
        f"{name}_{days}d",
        HouseParams(
            start_day_of_year=first_day,
            pv=PvParams(kwp=5.0, cloudiness=0.3),
            load=LoadParams(),
            battery_soc0_pct=50.0,
        ),
        0.0,
        days * 86400.0,
        60.0,
    )


@dataclass
class _Run:
    objective: list[float]
    leak_wh: float
    starts: list[tuple[float, float, float]]


def _days(
    sc: Scenario, controller: str, tariffs: tuple[str, ...], plan: Any = None
) -> tuple[dict[str, _Run], list[_Day]]:
    runs = {t: _Run([], 0.0, []) for t in tariffs}
    days: list[_Day] = []
    per = round(sc.lp_dt_s)

    def day(tr: Trace) -> None:
        days.append(_Day.of(tr, per))
        for t in tariffs:
            runs[t].objective.append(m.objective(tr, t, 0.95))
            runs[t].leak_wh += m.leak_wh(tr)
            runs[t].starts.append((tr.soc0_pct, tr.tank0_degc, tr.house0_degc))

    run_chunks(sc, controller, 86400, day, plan=plan)
    return runs, days


def compare(
    sc: Scenario, tariffs: tuple[str, ...] = PLANNED_TARIFFS, bar: Any = None, emhass: Any = None
) -> dict[str, Any]:
    """{tariff: {ours, planned, optimum objectives (£), gaps, the daily distribution,
    the planner's solve statistics}} on this scenario's days. emhass: an emhass.Session,
    to run EMHASS beside them (its fields join each tariff's)."""
    ours, days = _days(sc, "ours", tariffs)
    if bar is not None:
        bar.update(1)
    out: dict[str, Any] = {}
    for tariff in tariffs:
        ctl = PlannedController(sc, tariff)
        planned = _days(sc, "planned", (tariff,), plan=ctl)[0][tariff]
        em = emhass.controller(sc, tariff) if emhass is not None else None
        em_run = _days(sc, "planned", (tariff,), plan=em)[0][tariff] if em else None
        best = []
        for k, d in enumerate(days):
            d.starts = [ours[tariff].starts[k], planned.starts[k]]
            d.starts += [em_run.starts[k]] if em_run else []
            starts = optimum.Starts.of_points(d.starts)
            opt = optimum.solve(sc, d.trace(round(sc.lp_dt_s)), tariff, limits(), starts)
            best.append(m.objective(opt, tariff, 0.95))
        o, p, b = (np.array(x) for x in (ours[tariff].objective, planned.objective, best))
        ours_gap, planned_gap = _gap(o.sum(), b.sum()), _gap(p.sum(), b.sum())
        regret = p - b
        out[tariff] = {
            "days": len(b),
            "ours": round(float(o.sum()), 3),
            "planned": round(float(p.sum()), 3),
            "optimum": round(float(b.sum()), 3),
            "ours_gap_pct": ours_gap,
            "planned_gap_pct": planned_gap,
            "planned_leak_wh": round(planned.leak_wh, 2),
            "worst_day_vs_ours_gbp": round(float((p - o).max()), 3),
            "regret_median_gbp": round(float(np.median(regret)), 3),
            "regret_p90_gbp": round(float(np.percentile(regret, 90)), 3),
            "regret_max_gbp": round(float(regret.max()), 3),
            "planner": ctl.stats.summary(),
        }
        if em is not None and em_run is not None:
            out[tariff].update(emhass.result(em, em_run.objective, em_run.leak_wh, p, b))
        if bar is not None:
            bar.update(1)
    return out


def _gap(x: float, best: float) -> float:
    """How far x is above the optimum's best, in % of its size."""
    return round(100.0 * float(x - best) / abs(best), 1) if best else 0.0


def goal_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """The planner's goals, each with its margin, per compared run."""
    lines = []
    for run, by in results.items():
        for tariff, r in by.items():
            if tariff in GOALS:
                over = r["planned_gap_pct"] - GOALS[tariff]
                verdict = "met" if over <= 0 else f"MISSED by {over:.1f} points"
                lines.append(
                    f"{run}, {tariff}: planned within {GOALS[tariff]:g} % of the optimum:"
                    f" {r['planned_gap_pct']:+.1f} % (ours reactive"
                    f" {r['ours_gap_pct']:+.1f} %): {verdict}"
                )
            worst = r["worst_day_vs_ours_gbp"]
            verdict = "met" if worst <= WORSE_DAY_GBP else f"MISSED by £{worst - WORSE_DAY_GBP:.3f}"
            lines.append(
                f"{run}, {tariff}: no day worse than ours reactive by over £{WORSE_DAY_GBP:.2f}:"
                f" worst £{worst:+.3f}: {verdict}"
            )
            leak = r["planned_leak_wh"]
            lines.append(
                f"{run}, {tariff}: leak 0 Wh: {'met' if leak == 0 else f'MISSED, {leak} Wh'}"
            )
    return lines


def table(results: dict[str, dict[str, Any]]) -> str:
    head = (
        "| run | tariff | days | ours £ | planned £ | optimum £ | ours gap | planned gap |"
        " worst day vs ours £ | regret median / p90 / max £ | solves | solve ms median / p95 |"
    )
    rows = [head, "|" + "---|" * 12]
    for run, by in results.items():
        for tariff, r in by.items():
            pl = r["planner"]
            rows.append(
                f"| {run} | {tariff} | {r['days']} | {r['ours']:.3f} | {r['planned']:.3f} |"
                f" {r['optimum']:.3f} | {r['ours_gap_pct']:+.1f} % |"
                f" {r['planned_gap_pct']:+.1f} % |"
                f" {r['worst_day_vs_ours_gbp']:+.3f} | {r['regret_median_gbp']:.3f} /"
                f" {r['regret_p90_gbp']:.3f} / {r['regret_max_gbp']:.3f} | {pl['plans']} |"
                f" {pl['solve_ms_median']} / {pl['solve_ms_p95']} |"
            )
    return "\n".join(rows)
