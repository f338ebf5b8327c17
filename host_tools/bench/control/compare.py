"""The controllers side by side, day by day, under each planned tariff
(prices.PLANNED_TARIFFS), on runs of whole days: ours reactive, the status quo
(scenarios.STATUS_QUO), ours planned and the perfect-foresight optimum (controllers()).

Each day is scored on the actual PV and load with metrics.objective. The optimum is
solved for each day, free to start anywhere between where the compared controllers' days
began (as run_year does), so it bounds them. The daily regret is the planned day's
objective less the optimum's: the cost of planning on forecasts and billing on actuals.

Over a run of chained days that bound is loose: each day's optimum may begin where the
best-placed controller began it, and end where the score credits it most, so the days'
sum is no run any house could have had. Beside it, the chained optimum (chained_days) is
such a run: perfect foresight, each day from where its own day before ended.

A chained run is also scored as one run (metrics.as_one_run, "as one run" below): the
days' sum credits the house's heat at each midnight, where heat to spare earns less than
heat missing costs, so heat carried over midnight costs a chained run again on each day
that loses it. As one run, the stock is credited once, at the run's end. The days' sum
stays the score of each day (the worst day, the regret) and of the free-start bound.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.sim.house import HouseParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams
from host_tools.bench.control import _Day, limits, optimum
from host_tools.bench.control import metrics as m
from host_tools.bench.control.annual import Start
from host_tools.bench.control.jobs import tick
from host_tools.bench.control.planned import PlannedController
from host_tools.bench.control.prices import PLANNED_TARIFFS, for_run
from host_tools.bench.control.scenarios import (
    MID_MONTH_DAYS,
    STATUS_QUO,
    Scenario,
    Trace,
    run_chunks,
)

GOALS = {
    "e7": 10.0,  # planned within this % of the optimum's objective
    "agile": 15.0,
    "flat": 15.0,
}
WORSE_DAY_GBP = 0.05  # never worse than ours reactive on any day by more than this
# The weeks the full run compares (name, first day of the year), and the quick run's days.
WEEKS = (("winter", 15), ("shoulder", 80), ("summer", 172))
QUICK = (("shoulder", 80),)
# --planned-months: the 15th of each month, a sample of the year (sample_total sums it).
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTHS = tuple(zip(MONTH_NAMES, MID_MONTH_DAYS, strict=True))


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
    stocks: list[m.Stock] = dataclasses.field(default_factory=list)  # what each day left


# The controllers side by side. REACTIVE know no tariff: each runs once and is scored
# under every tariff. PLANNERS are built for each tariff (a factory of the scenario and
# the tariff giving the planner run_chunks asks each tick). The optimum comes last.
REACTIVE = ("ours", *STATUS_QUO)
PLANNERS: dict[str, Callable[[Scenario, str], PlannedController]] = {
    "planned": PlannedController,
}
BASELINE = "ours"  # the planned days are held to this one (WORSE_DAY_GBP)


def controllers() -> tuple[str, ...]:
    """Every column of the comparison, in order."""
    return (*REACTIVE, *PLANNERS, "optimum")


def _days(
    sc: Scenario, controller: str, tariffs: tuple[str, ...], plan: Any = None
) -> tuple[dict[str, _Run], list[_Day]]:
    runs = {t: _Run([], 0.0, []) for t in tariffs}
    days: list[_Day] = []
    per = round(sc.lp_dt_s)

    def day(tr: Trace) -> None:
        days.append(_Day.of(tr, per))
        leak = m.leak_wh(tr)
        for t in tariffs:
            runs[t].objective.append(m.objective(tr, t, 0.95))
            runs[t].leak_wh += leak
            runs[t].starts.append((tr.soc0_pct, tr.tank0_degc, tr.house0_degc))
            runs[t].stocks.append(m.stock(tr, t, 0.95))
        tick(1)  # a day of one controller: where Jobs runs it, a step of its bar

    run_chunks(sc, controller if plan is None else "planned", 86400, day, plan=plan)
    return runs, days


# The comparison in pieces that depend on nothing but their arguments, so that each can
# be a unit of its own (bench control --jobs: control.submit_planned), and compare() below
# is their composition in one process. Between them pass each day's scores and starts and
# its PV and load at the optimum's step, never a 1 s trace.


def priced(sc: Scenario, tariff: str) -> str:
    """The tariff under its name for this run's first day (the Agile-like series is
    indexed by the day of the year; prices.for_run); results keep the plain names."""
    return for_run(tariff, sc.params.start_day_of_year)


@dataclass
class Reactive:
    """The REACTIVE controllers' days: each one's scored under each tariff (by its priced
    name), and the days' PV and load for the optimum (the last controller's: every
    controller runs on the same)."""

    runs: dict[str, dict[str, _Run]]
    days: list[_Day]


def reactive_days(sc: Scenario, tariffs: tuple[str, ...] = PLANNED_TARIFFS) -> Reactive:
    """Each REACTIVE controller's run, once, scored under every tariff (a unit)."""
    names = tuple(priced(sc, t) for t in tariffs)
    runs: dict[str, dict[str, _Run]] = {}
    days: list[_Day] = []
    for name in REACTIVE:
        runs[name], days = _days(sc, name, names)
    return Reactive(runs, days)


@dataclass
class Planned:
    """Each of PLANNERS' days under one tariff, and its planner's solve statistics."""

    runs: dict[str, _Run]
    stats: dict[str, dict[str, Any]]


def planned_days(sc: Scenario, tariff: str) -> Planned:
    """Each of PLANNERS built for this tariff and run on the scenario (a unit)."""
    name = priced(sc, tariff)
    runs, stats = {}, {}
    for planner, factory in PLANNERS.items():
        ctl = factory(sc, name)
        runs[planner] = _days(sc, planner, (name,), plan=ctl)[0][name]
        stats[planner] = ctl.stats.summary()
    return Planned(runs, stats)


def tariff_runs(reactive: Reactive, planned: Planned, sc: Scenario, tariff: str) -> dict[str, _Run]:
    """Every controller's days under one tariff, in controllers()' order."""
    name = priced(sc, tariff)
    return {**{c: by[name] for c, by in reactive.runs.items()}, **planned.runs}


def day_starts(runs: dict[str, _Run]) -> list[list[Start]]:
    """Where each controller began each day, a list a day, in the runs' order."""
    return [list(day) for day in zip(*(r.starts for r in runs.values()), strict=True)]


def optimum_days(
    sc: Scenario, tariff: str, days: list[_Day], starts: list[list[Start]]
) -> list[float]:
    """The optimum's objective (£) of each day under this tariff, free to start
    anywhere between where the controllers began it; each day's LP warm-started from the
    day before's basis (optimum.Warm)."""
    name = priced(sc, tariff)
    per = round(sc.lp_dt_s)
    best = []
    warm = optimum.Warm()
    for d, began in zip(days, starts, strict=True):
        day = dataclasses.replace(d, starts=began)
        span = optimum.Starts.of_points(began)
        opt = optimum.solve(sc, day.trace(per), name, limits(), span, warm=warm)
        best.append(m.objective(opt, name, 0.95))
    return best


# The chained optimum solves each day with this many days after it (perfect foresight)
# and keeps the day: without them it would empty the battery by each midnight.
LOOKAHEAD_DAYS = 1


def chained_days(sc: Scenario, tariff: str, days: list[_Day], start: Start) -> _Run:
    """The chained optimum's days under this tariff (objectives, £, starts and stocks, as
    a controller's; no leak): each day solved from where the day before ended (the first
    from `start`, where every controller began the run) together with the LOOKAHEAD_DAYS
    after it (fewer at the run's end), and scored for the day alone, as the controllers'
    days are. So its days are one run a house could have had, seeing the future: no bound
    (the true optimum of the run is at most its sum), but a fair mark for a controller
    that carries its state from day to day (LOOKAHEAD_DAYS more change its sum little:
    docs/control-benchmark.md)."""
    name = priced(sc, tariff)
    per = round(sc.lp_dt_s)
    warm = optimum.Warm()
    out = _Run([], 0.0, [])
    for i, d in enumerate(days):
        window = _joined(days[i : i + 1 + LOOKAHEAD_DAYS], start)
        point = optimum.Starts.of_points([start])
        opt = optimum.solve(sc, window.trace(per), name, limits(), point, warm=warm)
        day = opt.sliced(slice(d.seconds))  # the day's part of the window
        out.objective.append(m.objective(day, name, 0.95))
        out.starts.append(start)
        out.stocks.append(m.stock(day, name, 0.95))
        start = (float(day.soc_pct[-1]), float(day.tank_degc[-1]), float(day.house_degc[-1]))
    return out


def _joined(days: list[_Day], start: Start) -> _Day:
    """Days on end as one, from `start`."""
    return _Day(
        days[0].t0_s,
        sum(d.seconds for d in days),
        np.concatenate([d.pv_w for d in days]),
        np.concatenate([d.load_w for d in days]),
        days[0].capacity_wh,
        [start],
    )


@dataclass
class Optimum:
    """A tariff's optimum, a value a day (£): free to start each day between where the
    controllers began it (the bound), and chained (chained_days)."""

    free: list[float]
    chained: _Run


def optimum_both(sc: Scenario, tariff: str, days: list[_Day], starts: list[list[Start]]) -> Optimum:
    """The optimum's days under this tariff, free and chained (a unit). The chained one
    starts where the first controller began the run (every controller begins it there)."""
    return Optimum(
        optimum_days(sc, tariff, days, starts), chained_days(sc, tariff, days, starts[0][0])
    )


def figures(runs: dict[str, _Run], best: Optimum, planned: Planned, tariff: str) -> dict[str, Any]:
    """A tariff's figures (compare's) from every controller's days and the optimum's;
    tariff: its name for the run (priced())."""
    b = np.array(best.free)
    total = {name: float(np.sum(r.objective)) for name, r in runs.items()}
    table = {
        name: {
            "objective": round(total[name], 3),
            "gap_pct": _gap(total[name], float(b.sum())),
            "leak_wh": round(runs[name].leak_wh, 2),
            "objective_run": round(m.as_one_run(r.objective, r.stocks, tariff), 3),
        }
        for name, r in runs.items()
    }
    table["optimum"] = {"objective": round(float(b.sum()), 3), "gap_pct": 0.0, "leak_wh": 0.0}
    o, p = np.array(runs[BASELINE].objective), np.array(runs["planned"].objective)
    chained = best.chained
    heat = [
        np.array([s.house_credit(tariff) for s in runs[c].stocks]) for c in ("planned", BASELINE)
    ]
    return _figures(
        table,
        p,
        o,
        b,
        planned.stats["planned"],
        np.array(chained.objective),
        m.as_one_run(chained.objective, chained.stocks, tariff),
        (heat[0], heat[1]),
    )


def compare(
    sc: Scenario, tariffs: tuple[str, ...] = PLANNED_TARIFFS, bar: Any = None, emhass: Any = None
) -> dict[str, Any]:
    """{tariff: {each controller's objective (£), gap and leak (controllers), the planned
    controller's figures at the top level (ours, planned, optimum objectives, gaps, the
    daily distribution, the planner's solve statistics)}} on this scenario's days, the
    pieces above one after another. bar: a step after the reactive controllers, and after
    each tariff's planners and its optimum (steps()). emhass: an emhass.Session, to run
    EMHASS beside them (its fields join each tariff's; its day starts bound the optimum
    too)."""
    reactive = reactive_days(sc, tariffs)
    _step(bar)
    out: dict[str, Any] = {}
    for plain in tariffs:
        planned = planned_days(sc, plain)
        runs = tariff_runs(reactive, planned, sc, plain)
        em = emhass.controller(sc, priced(sc, plain)) if emhass is not None else None
        if em is not None:
            name = priced(sc, plain)
            runs["emhass"] = _days(sc, "emhass", (name,), plan=em)[0][name]
        _step(bar)
        best = optimum_both(sc, plain, reactive.days, day_starts(runs))
        out[plain] = figures(runs, best, planned, priced(sc, plain))
        if em is not None:
            e, p = runs["emhass"], np.array(runs["planned"].objective)
            out[plain].update(emhass.result(em, e.objective, e.leak_wh, p, np.array(best.free)))
        _step(bar)
    return out


def steps(tariffs: tuple[str, ...] = PLANNED_TARIFFS) -> int:
    """compare()'s progress steps on a run: the reactive controllers', then each tariff's
    planners' and its optimum's (as many as the units of the split)."""
    return 1 + 2 * len(tariffs)


def day_steps(sc: Scenario, tariffs: tuple[str, ...] = PLANNED_TARIFFS) -> int:
    """The steps a run's controllers tick as they go under Jobs (_days): a day each, the
    reactive controllers once and the planners under each tariff."""
    days = math.ceil(sc.seconds / 86400.0)
    return days * (len(REACTIVE) + len(PLANNERS) * len(tariffs))


def _step(bar: Any) -> None:
    if bar is not None:
        bar.update(1)


FAILED = "failed"  # a tariff's entry where a unit it needs failed: what failed


def failed(what: str, exc: BaseException) -> dict[str, str]:
    return {FAILED: f"{what}: {type(exc).__name__}: {exc}"}


def complete(results: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The results without the tariffs whose units failed, and a line for each of those."""
    ok: dict[str, dict[str, Any]] = {}
    lines = []
    for run, by in results.items():
        ok[run] = {t: r for t, r in by.items() if FAILED not in r}
        lines += [f"{run}, {t}: {r[FAILED]}" for t, r in by.items() if FAILED in r]
    return {run: by for run, by in ok.items() if by}, lines


def sample_total(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The runs of a sample (MONTHS) as one, per tariff: each controller's objective summed
    over the runs and its gap to the summed optimum, every day's figures together (the
    worst day, the regret), the planner's plans summed; of its solve times only the worst
    run's median, p95 and maximum (the runs keep no solve times), and of its RSS and its
    PV forecast's error, the largest."""
    runs = list(results.values())
    out: dict[str, Any] = {}
    for tariff in runs[0]:
        by = [r[tariff] for r in runs]
        if any(FAILED in r for r in by):
            out[tariff] = {FAILED: "a run's units failed: no sum"}
            continue
        optimum_gbp = math.fsum(r["optimum"] for r in by)
        table = {}
        for name in by[0]["controllers"]:
            rows = [r["controllers"][name] for r in by]
            total = math.fsum(x["objective"] for x in rows)
            table[name] = {
                "objective": round(total, 3),
                "gap_pct": _gap(total, optimum_gbp),
                "leak_wh": round(math.fsum(x["leak_wh"] for x in rows), 2),
            }
            if "objective_run" in rows[0]:  # each run as one run, summed
                table[name]["objective_run"] = round(math.fsum(x["objective_run"] for x in rows), 3)
        daily = {
            k: np.array([x for r in by for x in r[k]]) for k in (*DAILY, CHAINED_DAILY, *HEAT_DAILY)
        }
        planners = [r["planner"] for r in by]
        out[tariff] = _figures(
            table,
            *(daily[k] for k in DAILY),
            {
                "plans": sum(p["plans"] for p in planners),
                **{
                    k: max(p[k] for p in planners)
                    for k in ("solve_ms_median", "solve_ms_p95", "solve_ms_max", "peak_rss_mb")
                },
                "slots_median": int(np.median([p["slots_median"] for p in planners])),
                "plans_dropped": sum(p["plans_dropped"] for p in planners),
                "solver_failed": sum(p["solver_failed"] for p in planners),
                "pv_forecast_rmse_pct_of_mean": max(
                    p["pv_forecast_rmse_pct_of_mean"] for p in planners
                ),
            },
            daily[CHAINED_DAILY],
            math.fsum(r["optimum_chained_run"] for r in by),
            (daily[HEAT_DAILY[0]], daily[HEAT_DAILY[1]]),
        )
    return out


DAILY = ("daily_planned_gbp", "daily_ours_gbp", "daily_optimum_gbp")
CHAINED_DAILY = "daily_optimum_chained_gbp"
# What the planned and ours' days credit for the house's heat above where each began
# (metrics.Stock.house_credit), £ a day: the worst day is also judged without it.
HEAT_DAILY = ("daily_planned_house_gbp", "daily_ours_house_gbp")


def _figures(
    table: dict[str, dict[str, float]],
    planned: np.ndarray,
    ours: np.ndarray,
    best: np.ndarray,
    planner: dict[str, Any],
    chained: np.ndarray,
    chained_run: float,
    heat: tuple[np.ndarray, np.ndarray],
) -> dict[str, Any]:
    """A tariff's figures from each controller's objective (table) and the planned, ours',
    the optimum's and the chained optimum's days (£ a day, in order), the chained optimum
    as one run (metrics.as_one_run; the controllers' are in the table), and the planned
    and ours' days' credit for the house's heat (HEAT_DAILY)."""
    regret = planned - best
    worse = planned - ours
    worse_heat_apart = worse + heat[0] - heat[1]
    total = math.fsum(chained)
    ours_run, planned_run = (table[c]["objective_run"] for c in (BASELINE, "planned"))
    return {
        "days": len(best),
        "controllers": table,
        "ours": table[BASELINE]["objective"],
        "planned": table["planned"]["objective"],
        "optimum": table["optimum"]["objective"],
        "ours_gap_pct": table[BASELINE]["gap_pct"],
        "planned_gap_pct": table["planned"]["gap_pct"],
        "planned_leak_wh": table["planned"]["leak_wh"],
        "optimum_chained": round(total, 3),
        "ours_gap_chained_pct": _gap(table[BASELINE]["objective"], total),
        "planned_gap_chained_pct": _gap(table["planned"]["objective"], total),
        "optimum_chained_run": round(chained_run, 3),
        "ours_run": ours_run,
        "planned_run": planned_run,
        "ours_gap_chained_run_pct": _gap(ours_run, chained_run),
        "planned_gap_chained_run_pct": _gap(planned_run, chained_run),
        CHAINED_DAILY: [round(float(x), 3) for x in chained],
        "worst_day_vs_ours_gbp": round(float(worse.max()), 3),
        "worse_days": int(np.count_nonzero(worse > WORSE_DAY_GBP)),
        "worse_days_heat_apart": int(np.count_nonzero(worse_heat_apart > WORSE_DAY_GBP)),
        "worst_day_vs_ours_heat_apart_gbp": round(float(worse_heat_apart.max()), 3),
        **{k: [round(float(x), 3) for x in h] for k, h in zip(HEAT_DAILY, heat, strict=True)},
        "daily_planned_gbp": [round(float(x), 3) for x in planned],
        "daily_ours_gbp": [round(float(x), 3) for x in ours],
        "daily_optimum_gbp": [round(float(x), 3) for x in best],
        "regret_median_gbp": round(float(np.median(regret)), 3),
        "regret_p90_gbp": round(float(np.percentile(regret, 90)), 3),
        "regret_max_gbp": round(float(regret.max()), 3),
        "planner": planner,
    }


def _gap(x: float, best: float) -> float:
    """How far x is above the optimum's best, in % of its size."""
    return round(100.0 * float(x - best) / abs(best), 1) if best else 0.0


# The gap goals' references: (what the line names, the JSON key after planned_/ours_).
GAP_GOALS = (
    ("optimum", "gap_pct"),
    ("chained optimum", "gap_chained_pct"),
    ("chained optimum, each run scored as one run", "gap_chained_run_pct"),
)


def goal_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """The planner's goals, each with its margin, per compared run."""
    lines = []
    for run, by in results.items():
        for tariff, r in by.items():
            if tariff in GOALS:  # against the bound, the chained optimum, and it as one run
                for which, key in GAP_GOALS:
                    gap, ours = r[f"planned_{key}"], r[f"ours_{key}"]
                    over = gap - GOALS[tariff]
                    verdict = "met" if over <= 0 else f"MISSED by {over:.1f} points"
                    lines.append(
                        f"{run}, {tariff}: planned within {GOALS[tariff]:g} % of the {which}:"
                        f" {gap:+.1f} % (ours reactive {ours:+.1f} %): {verdict}"
                    )
            worst = r["worst_day_vs_ours_gbp"]
            verdict = "met" if worst <= WORSE_DAY_GBP else f"MISSED by £{worst - WORSE_DAY_GBP:.3f}"
            lines.append(
                f"{run}, {tariff}: no day worse than ours reactive by over £{WORSE_DAY_GBP:.2f}:"
                f" worst £{worst:+.3f}: {verdict}; {r['worse_days']} of {r['days']} days over"
                f" ({r['worse_days_heat_apart']} with the house's heat at midnight left out)"
            )
            leak = r["planned_leak_wh"]
            lines.append(
                f"{run}, {tariff}: leak 0 Wh: {'met' if leak == 0 else f'MISSED, {leak} Wh'}"
            )
    return lines


def table(results: dict[str, dict[str, Any]]) -> str:
    """Every controller's objective (£) and gap to the optimum, then the planned
    controller's worst day against ours, its daily regret and its solves."""
    names = controllers()
    head = (
        "| run | tariff | days | "
        + " | ".join(f"{c} £ (gap)" for c in names)
        + " | chained optimum £ (planned's gap) | as one run: planned / chained optimum £"
        " (gap) | planned worst day vs ours £ |"
        " regret median / p90 / max £ | solves | solve ms median / p95 |"
    )
    rows = [head, "|" + "---|" * (len(names) + 9)]
    for run, by in results.items():
        for tariff, r in by.items():
            pl = r["planner"]
            cells = []
            for c in names:
                x = r["controllers"].get(c)
                cells.append("" if x is None else f"{x['objective']:.3f} ({x['gap_pct']:+.1f} %)")
            rows.append(
                f"| {run} | {tariff} | {r['days']} | "
                + " | ".join(cells)
                + f" | {r['optimum_chained']:.3f} ({r['planned_gap_chained_pct']:+.1f} %)"
                f" | {r['planned_run']:.3f} / {r['optimum_chained_run']:.3f}"
                f" ({r['planned_gap_chained_run_pct']:+.1f} %)"
                f" | {r['worst_day_vs_ours_gbp']:+.3f} | {r['regret_median_gbp']:.3f} /"
                f" {r['regret_p90_gbp']:.3f} / {r['regret_max_gbp']:.3f} | {pl['plans']} |"
                f" {pl['solve_ms_median']} / {pl['solve_ms_p95']} |"
            )
    return "\n".join(rows)
