"""`python -m host_tools bench control`: how much does coordinating battery, diverter and
heat pump save? Our core against the uncoordinated status quo (three diverters) and the
perfect-foresight optimum, on the scenarios of loads-baseline-s2.md §5.7 (kettle, cloud,
day runs). Writes JSON, a Markdown and a CSV table and plots; prints the goals beside
the results and says by how much a goal is missed.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from edge.sim.diverter import DiverterParams
from host_tools.bench.control import metrics as m
from host_tools.bench.control import optimum, report
from host_tools.bench.control.annual import Totals as Totals
from host_tools.bench.control.annual import _Day as _Day
from host_tools.bench.control.annual import run_year as run_year
from host_tools.bench.control.annual import submit_year
from host_tools.bench.control.jobs import Jobs
from host_tools.bench.control.prices import PLANNED_TARIFFS
from host_tools.bench.control.scenarios import (
    CONTROLLERS,
    STATUS_QUO,
    Scenario,
    Trace,
    bench_config,
    run,
    scenarios,
    year,
)

GOALS = {
    "leak": "battery→tank leak 0 Wh in every scenario (ours)",
    "flip": "flip and ramp export ≤ 10 % of the status quo's (eddi-like)",
    "self_consumption": "self-consumption within 3 points of the optimum on the day runs",
    "cost_e7": "cost within 10 % of the optimum under Economy 7",
}


def limits() -> optimum.Limits:
    """The battery as ours is configured to use it (and the status quo is held to)."""
    cfg = bench_config()
    return optimum.Limits(
        battery_w=float(cfg.inverter.max_charge_w),
        efficiency=0.95,
        reserve_pct=cfg.battery.reserve_soc_pct,
        max_soc_pct=cfg.battery.max_soc_pct,
    )


def scenario_run(
    sc: Scenario, controller: str, keep: bool
) -> tuple[dict[str, Any], Trace, Trace | None]:
    """One controller on one scenario (a unit): its metrics, its trace thinned for the
    plots, and (keep) its whole trace, for the optimum."""
    tr = run(sc, controller)
    res = m.metrics(tr)
    for tariff in ("flat", "e7"):
        res[f"objective_{tariff}"] = round(m.objective(tr, tariff, 0.95), 4)
    return res, report.thin(tr), tr if keep else None


def scenario_optimum(
    sc: Scenario, ours: Trace, tariff: str, on_off: bool
) -> tuple[dict[str, Any], Trace | None]:
    """The optimum on ours' PV and load under one tariff (a unit): what the scenario's
    "optimum" row takes of it, and under the flat tariff its thinned trace. on_off: §5.4's
    MILP (up to MILP_TIME_LIMIT_S), for how much the LP relaxation gives away."""
    opt = optimum.solve(sc, ours, tariff, limits(), on_off=on_off)
    if on_off:
        return {
            f"objective_{tariff}_milp": round(m.objective(opt, tariff, 0.95), 4),
            f"mip_gap_{tariff}": round(opt.mip_gap, 4),
        }, None
    part: dict[str, Any] = {}
    if tariff == "flat":
        part = m.metrics(opt)
        part["comfort_short_steps"] = opt.comfort_misses
    part[f"objective_{tariff}"] = round(m.objective(opt, tariff, 0.95), 4)
    part[f"cost_{tariff}"] = round(m.cost(opt, tariff), 4)
    return part, report.thin(opt) if tariff == "flat" else None


def submit_scenario(sc: Scenario, pool: Jobs, milp: bool) -> Callable[[], dict[str, Any]]:
    """Every controller on one scenario as a unit each, then the optimum's solves once
    ours' trace is in; returns the function that puts them together (after pool.run())."""
    runs = [pool.submit(scenario_run, sc, c, c == "ours", ticks=1) for c in CONTROLLERS]
    parts: list[Future[Any]] = []

    def optimise(done: list[Any]) -> None:
        ours = done[0][2]
        for tariff in ("flat", "e7"):
            ticks = 1 if tariff == "flat" else 0  # one step for the optimum, as serially
            parts.append(pool.submit(scenario_optimum, sc, ours, tariff, False, ticks=ticks))
            if milp and sc.name.startswith("day_"):
                parts.append(pool.submit(scenario_optimum, sc, ours, tariff, True))

    pool.then(runs[:1], optimise)

    def result() -> dict[str, Any]:
        out: dict[str, Any] = {}
        best: dict[str, Any] = {}
        for part in parts:
            best.update(part.result()[0])
        report.keep_trace(sc.name, "optimum", parts[0].result()[1])
        for controller, done in zip(CONTROLLERS, runs, strict=True):
            res, thin, _ = done.result()
            out[controller] = res
            report.keep_trace(sc.name, controller, thin)
        out["optimum"] = best
        for res in out.values():
            res["avoidable_export_kwh"] = round(max(0.0, res["export_kwh"] - best["export_kwh"]), 4)
        return out

    return result


def run_scenario(sc: Scenario, bar: Any = None, milp: bool = True, jobs: int = 1) -> dict[str, Any]:
    """Every controller on one scenario, on `jobs` processes: {controller: metrics}. milp:
    on a day run, also §5.4's MILP (up to MILP_TIME_LIMIT_S a tariff)."""
    with Jobs(jobs, bar) as pool:
        result = submit_scenario(sc, pool, milp)
        pool.run()
        return result()


# §5.6's sweeps, on the short scenarios (parameter: values): the inverter's loop, against
# the eddi-like status quo...
SWEEPS: dict[str, tuple[float, ...]] = {
    "dead_time_s": (1.0, 2.0, 5.0, 10.0, 20.0),
    "ramp_w_per_s": (300.0, 1000.0, 3000.0),
    "flip_check_s": (0.0, 2.0, 10.0),
    "deadband_w": (0.0, 50.0, 150.0),
}
# ...and the diverter's (parameter: status-quo controller, values). Ours drives the element
# itself, so its row is its run with the defaults.
DIVERTER_SWEEPS: dict[str, tuple[str, tuple[float, ...]]] = {
    "response_delay_s": ("eddi", (0.0, 10.0, 30.0, 60.0)),
    "export_margin_w": ("eddi", (0.0, 100.0, 400.0)),
    "bucket_j": ("mk2", (3600.0, 7200.0, 14400.0, 28800.0)),
}


def n_sweeps() -> int:
    """Runs the sweeps take on one short scenario."""
    return (
        2 * sum(len(v) for v in SWEEPS.values())
        + sum(len(v) for _, v in DIVERTER_SWEEPS.values())
        + 1
    )


def sweep_point(sc: Scenario, controller: str) -> tuple[float, float]:
    """One controller on one swept scenario (a unit): its leak and flip export, Wh."""
    res = m.metrics(run(sc, controller))
    return res["leak_wh"], res["flip_export_wh"]


def submit_sweeps(chosen: list[Scenario], pool: Jobs) -> Callable[[], list[dict[str, Any]]]:
    """Leak and flip export under each swept parameter of §5.6, ours against the status
    quo, on the kettle and cloud scenarios: a unit a run; returns the function that
    makes the rows (after pool.run())."""
    rows: list[tuple[Scenario, str, float, str, Future[Any], Future[Any]]] = []

    def point(sc: Scenario, controller: str) -> Future[Any]:
        return pool.submit(sweep_point, sc, controller, ticks=1)

    for sc in chosen:
        if sc.name not in ("kettle", "cloud"):
            continue
        for param, values in SWEEPS.items():
            for value in values:
                swept: dict[str, Any] = {param: value}
                inverter = dataclasses.replace(sc.params.inverter, **swept)
                varied = dataclasses.replace(
                    sc, params=dataclasses.replace(sc.params, inverter=inverter)
                )
                rows.append(
                    (sc, param, value, "eddi", point(varied, "ours"), point(varied, "eddi"))
                )
        ours = point(sc, "ours")
        for param, (sq, values) in DIVERTER_SWEEPS.items():
            for value in values:
                override: dict[str, Any] = {param: value}
                settings = DiverterParams(**override)
                varied = dataclasses.replace(
                    sc, params=dataclasses.replace(sc.params, diverter_params=settings)
                )
                rows.append((sc, param, value, sq, ours, point(varied, sq)))

    def result() -> list[dict[str, Any]]:
        out = []
        for sc, param, value, sq, ours, theirs in rows:
            (ours_leak, ours_flip), (sq_leak, sq_flip) = ours.result(), theirs.result()
            out.append(
                {
                    "scenario": sc.name,
                    "parameter": param,
                    "value": value,
                    "status_quo": sq,
                    "ours_leak_wh": ours_leak,
                    "ours_flip_export_wh": ours_flip,
                    "sq_leak_wh": sq_leak,
                    "sq_flip_export_wh": sq_flip,
                }
            )
        return out

    return result


def sweeps(chosen: list[Scenario], bar: Any = None, jobs: int = 1) -> list[dict[str, Any]]:
    """The sweeps (submit_sweeps) on `jobs` processes."""
    with Jobs(jobs, bar) as pool:
        result = submit_sweeps(chosen, pool)
        pool.run()
        return result()


def goals(results: dict[str, dict[str, Any]]) -> list[str]:
    """Each goal with the result, and by how much it is missed where it is."""
    lines = []
    leaks = {sc: r["ours"]["leak_wh"] for sc, r in results.items()}
    worst = max(leaks.values())
    lines.append(
        f"{GOALS['leak']}: {'met' if worst == 0 else f'MISSED, up to {worst} Wh'}"
        f" ({', '.join(f'{k} {v} Wh' for k, v in leaks.items())})"
    )
    apart = [
        f"{sc}/{c}: {r['leak_wh']} vs {r['leak_wh_flow']} Wh"
        for sc, by in results.items()
        for c, r in by.items()
        if abs(r["leak_wh"] - r["leak_wh_flow"]) > max(1.0, 0.05 * r["leak_wh"])
    ]
    lines.append(
        "the two leak computations (§5.5's formula, flow attribution) agree within 5 % or"
        f" 1 Wh: {'yes' if not apart else 'NO: ' + '; '.join(apart)}"
    )
    for sc, r in results.items():
        ours, sq = r["ours"]["flip_export_wh"], r["eddi"]["flip_export_wh"]
        share = 100.0 * ours / sq if sq > 0 else 0.0
        verdict = "met" if share <= 10.0 else f"MISSED by {share - 10.0:.1f} points"
        lines.append(f"{GOALS['flip']}, {sc}: {ours} vs {sq} Wh = {share:.1f} %: {verdict}")
    for sc, r in results.items():
        if not sc.startswith("day_"):
            continue
        gap = r["optimum"]["self_consumption_pct"] - r["ours"]["self_consumption_pct"]
        verdict = "met" if gap <= 3.0 else f"MISSED by {gap - 3.0:.1f} points"
        lines.append(f"{GOALS['self_consumption']}, {sc}: {gap:+.1f} points: {verdict}")
    for sc, r in results.items():
        if not sc.startswith(("day_", "year")):
            continue
        ours, best = r["ours"]["objective_e7"], r["optimum"]["objective_e7"]
        over = 100.0 * (ours - best) / abs(best) if best else 0.0
        verdict = "met" if over <= 10.0 else f"MISSED by {over - 10.0:.1f} points"
        lines.append(
            f"{GOALS['cost_e7']}, {sc} (objective, £): ours {ours:.3f} vs optimum"
            f" {best:.3f}, {over:+.1f} %: {verdict}"
        )
    return lines


def milp_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    """How much the LP relaxation (the bound used above) gives away against §5.4's MILP."""
    lines = []
    for sc, r in results.items():
        best = r["optimum"]
        for tariff in ("flat", "e7"):
            if f"objective_{tariff}_milp" not in best:
                continue
            lp, milp = best[f"objective_{tariff}"], best[f"objective_{tariff}_milp"]
            lines.append(
                f"{sc}, {tariff}: LP relaxation £{lp:.3f}, MILP (heat pump on/off) £{milp:.3f}"
                f" (+£{milp - lp:.3f}; MIP gap {100 * best[f'mip_gap_{tariff}']:.2f} %)"
            )
    return lines


SAMPLE_TOTAL = "months, all"  # the months' runs summed (compare.sample_total)


def planned_scenarios(
    quick: bool, days: int | None, months: bool = False, year: bool = False
) -> list[Scenario]:
    """The planned comparison's runs: quick, a shoulder day; else a week each in winter,
    spring and summer (or `days` each); months: the 15th of each month, a day (or `days`)
    each; year: one run of the year's 365 chained days from 1 January (or its first
    `days`)."""
    from host_tools.bench.control import compare  # it imports this package's _Day

    if year:
        if days is not None and not 1 <= days <= 365:
            raise ValueError(f"--planned-days with --planned-year: 1 to 365 days, not {days}")
        return [compare.days_scenario("year", 1, days if days is not None else 365)]
    weeks = compare.MONTHS if months else compare.QUICK if quick else compare.WEEKS
    n = days if days is not None else (1 if quick or months else 7)
    return [compare.days_scenario(name, first, n) for name, first in weeks]


def planned_steps(runs: list[Scenario]) -> int:
    """Progress steps of the planned comparison under Jobs: a step a unit (compare.steps)
    and a step a controller's day (compare.day_steps)."""
    from host_tools.bench.control import compare

    return sum(compare.steps(PLANNED_TARIFFS) + compare.day_steps(sc) for sc in runs)


def submit_planned(runs: list[Scenario], pool: Jobs) -> Callable[[], dict[str, dict[str, Any]]]:
    """The planned comparison's runs as compare.compare's pieces, a unit each: a run's
    reactive controllers (once, scored under every tariff) and its planners under each
    tariff, then each tariff's optimum once those two are done. Returns the function that
    puts them together, in compare.compare's order (after pool.run())."""
    results = [_submit_planned_run(sc, pool) for sc in runs]

    def result() -> dict[str, dict[str, Any]]:
        return {sc.name: r() for sc, r in zip(runs, results, strict=True)}

    return result


def _submit_planned_run(sc: Scenario, pool: Jobs) -> Callable[[], dict[str, Any]]:
    from host_tools.bench.control import compare

    tariffs = PLANNED_TARIFFS
    # The reactive unit first: every optimum waits for it.
    reactive = pool.submit(compare.reactive_days, sc, tariffs, ticks=1)
    planned = {t: pool.submit(compare.planned_days, sc, t, ticks=1) for t in tariffs}
    best: dict[str, Future[Any]] = {}

    def optimise(t: str) -> Callable[[list[Any]], None]:
        def submit(done: list[Any]) -> None:
            r, p = done
            starts = compare.day_starts(compare.tariff_runs(r, p, sc, t))
            best[t] = pool.submit(compare.optimum_both, sc, t, r.days, starts, ticks=1)

        return submit

    for t in tariffs:
        pool.then([reactive, planned[t]], optimise(t))

    def result() -> dict[str, Any]:
        """Each tariff's figures, or (a unit it needs failed, Jobs.keep_going) what failed."""
        try:
            r = reactive.result()
        except Exception as exc:
            return {t: compare.failed("the reactive controllers", exc) for t in tariffs}
        out = {}
        for t in tariffs:  # in compare.compare's order
            try:
                p = planned[t].result()
            except Exception as exc:
                out[t] = compare.failed("the planner", exc)
                continue
            try:
                runs = compare.tariff_runs(r, p, sc, t)
                out[t] = compare.figures(runs, best[t].result(), p, compare.priced(sc, t))
            except Exception as exc:
                out[t] = compare.failed("the optimum", exc)
        return out

    return result


def compare_failures(out: dict[str, dict[str, Any]]) -> list[str]:
    """What failed in the planned comparison (compare.complete's lines)."""
    from host_tools.bench.control import compare

    return compare.complete(out)[1]


def with_total(out: dict[str, dict[str, Any]], months: bool) -> dict[str, dict[str, Any]]:
    """The months' runs and, after them, their sum (SAMPLE_TOTAL)."""
    from host_tools.bench.control import compare

    return {**out, SAMPLE_TOTAL: compare.sample_total(out)} if months and out else out


def print_planned(out: dict[str, dict[str, Any]]) -> None:
    from host_tools.bench.control import compare

    out, failures = compare.complete(out)
    if failures:
        print("\nFAILED, so left out below:")
        for line in failures:
            print(f"- {line}")
    print(compare.table(out))
    print("\nThe planner's goals:")
    for line in compare.goal_lines(out):
        print(f"- {line}")
    print("\nThe planner's solves (48 h of 30-minute slots, battery, tank and heat pump):")
    for name, by in out.items():
        for tariff, r in by.items():
            p = r["planner"]
            print(
                f"- {name}, {tariff}: {p['plans']} plans of {p['slots_median']} slots, solve"
                f" median {p['solve_ms_median']} ms, p95 {p['solve_ms_p95']} ms, max"
                f" {p['solve_ms_max']} ms; peak RSS {p['peak_rss_mb']} MB; PV forecast RMSE"
                f" {p['pv_forecast_rmse_pct_of_mean']} % of the mean"
            )


def planned_runs(
    quick: bool,
    days: int | None,
    jobs: int = 1,
    with_emhass: bool = False,
    months: bool = False,
    year: bool = False,
) -> dict[str, dict[str, Any]]:
    """Ours reactive, ours planned and the optimum under each planned tariff (compare.py),
    on `jobs` processes (submit_planned's units). with_emhass: EMHASS beside them
    (emhass.py; it installs EMHASS in a venv of its own). months: on the 15th of each
    month (planned_scenarios), and their sum; year: on the year's chained days."""
    runs = planned_scenarios(quick, days, months, year)
    if with_emhass:
        return planned_with_emhass(runs, months)
    with (
        tqdm(total=planned_steps(runs), desc="bench control, planned", unit="step") as bar,
        Jobs(jobs, bar, keep_going=True) as pool,  # a failed tariff loses only itself
    ):
        result = submit_planned(runs, pool)
        pool.run()
        out = with_total(result(), months)
        print(f"\n{pool.summary()}")
    print_planned(out)
    return out


def planned_with_emhass(runs: list[Scenario], months: bool = False) -> dict[str, dict[str, Any]]:
    """The planned comparison with EMHASS beside it, in this process, one run after
    another: EMHASS's worker is one process for the whole run (emhass.Session)."""
    from host_tools.bench.control import compare, emhass_report
    from host_tools.bench.control import emhass as em

    out: dict[str, dict[str, Any]] = {}
    session = em.Session()
    try:
        steps = len(runs) * compare.steps(PLANNED_TARIFFS)  # no Jobs here: no day's tick
        with tqdm(total=steps, desc="bench control, planned", unit="run") as bar:
            for sc in runs:
                bar.set_postfix_str(sc.name)
                out[sc.name] = compare.compare(sc, bar=bar, emhass=session)
    finally:
        session.close()
    out = with_total(out, months)
    print_planned(out)
    print(f"\nEMHASS beside ours (docs/bench-emhass.md):\n{emhass_report.table(out)}")
    for line in emhass_report.goal_lines(out):
        print(f"- {line}")
    return out


def year_of(days: int | None) -> Scenario:
    """The simulated year, or its first `days` days."""
    if days is not None and not 1 <= days <= 365:
        raise ValueError(f"--year-days: 1 to 365 days, not {days}")
    whole = year()
    return whole if days is None else dataclasses.replace(whole, seconds=days * 86400.0)


@dataclass(frozen=True)
class Plan:
    """What one run of the benchmark covers."""

    scenarios: list[Scenario]  # every controller and the optimum on each
    milp: bool  # on the day runs, §5.4's MILP too
    swept: list[Scenario]  # the §5.6 sweeps on those of these that are kettle or cloud
    planned: list[Scenario]  # the planned comparison's runs
    year: Scenario | None  # the simulated year (or its first days)

    def steps(self) -> int:
        """Progress steps: a run or an optimum each, a day each in the year."""
        short = sum(sc.name in ("kettle", "cloud") for sc in self.swept)
        days = round(self.year.seconds / 86400.0) if self.year is not None else 0
        return (
            planned_steps(self.planned)
            + len(self.scenarios) * (len(CONTROLLERS) + 1)
            + short * n_sweeps()
            + days * (len(CONTROLLERS) + 1)
        )


def collect(plan: Plan, jobs: int, bar: Any = None) -> dict[str, Any]:
    """Every unit of the plan on `jobs` processes (the longest first: each controller's
    year, then the planned runs), summed in a fixed order whatever finishes first; prints
    what the units cost (Jobs.summary). Returns
    {"scenarios": {name: {controller: metrics}} (the year as "year"), "sweeps": rows,
    "planned": {name: compare.compare's}}."""
    with Jobs(jobs, bar) as pool:
        year_result = submit_year(plan.year, pool) if plan.year is not None else None
        planned_result = submit_planned(plan.planned, pool)
        scenario_results = [submit_scenario(sc, pool, plan.milp) for sc in plan.scenarios]
        swept_result = submit_sweeps(plan.swept, pool)
        pool.run()
        planned = planned_result()
        results = {sc.name: r() for sc, r in zip(plan.scenarios, scenario_results, strict=True)}
        if year_result is not None:
            results["year"] = year_result()
        print(f"\n{pool.summary()}")
        return {"scenarios": results, "sweeps": swept_result(), "planned": planned}


def main(
    json_path: Path | None,
    quick: bool = False,
    out_dir: Path | None = None,
    with_year: bool = True,
    planned_days: int | None = None,
    planned_only: bool = False,
    jobs: int | None = None,
    year_days: int | None = None,
    with_emhass: bool = False,
    planned_months: bool = False,
    planned_year: bool = False,
) -> int:
    """quick: the kettle, cloud and one day; with_year (not quick, or year_days given):
    the simulated year too (its first year_days days if given). The planned comparison
    (compare.py) runs too; planned_only: only it. jobs: processes (default: one a core);
    the results are the same for any number. with_emhass: EMHASS in the planned
    comparison too (which then runs in this process, after the rest). planned_months: the
    planned comparison on the 15th of each month instead of the three weeks;
    planned_year: on the year's 365 chained days (or the first planned_days)."""
    n = jobs if jobs is not None else (os.cpu_count() or 1)
    if planned_only:
        planned = planned_runs(quick, planned_days, n, with_emhass, planned_months, planned_year)
        if json_path is not None:
            json_path.write_text(json.dumps({"planned": planned}, indent=2, sort_keys=True) + "\n")
            print(f"wrote {json_path}")
        return 1 if compare_failures(planned) else 0
    chosen = scenarios(quick)
    yearly = year_of(year_days) if with_year and (year_days is not None or not quick) else None
    plan_runs = (
        [] if with_emhass else planned_scenarios(quick, planned_days, planned_months, planned_year)
    )
    plan = Plan(
        scenarios=chosen,
        milp=not quick,
        swept=[] if quick else chosen,
        planned=plan_runs,
        year=yearly,
    )
    with tqdm(total=plan.steps(), desc="bench control", unit="run") as bar:
        done = collect(plan, n, bar)
    results, swept = done["scenarios"], done["sweeps"]
    planned = with_total(done["planned"], planned_months)
    if with_emhass:
        planned = planned_runs(
            quick, planned_days, with_emhass=True, months=planned_months, year=planned_year
        )
    else:
        print_planned(planned)
    print()
    lines = goals(results)
    relaxed = milp_lines(results)
    table = report.markdown(results)
    print(table)
    print("\nGoals:")
    for line in lines:
        print(f"- {line}")
    if relaxed:
        print("\nThe optimum, relaxed and not:")
        for line in relaxed:
            print(f"- {line}")
    if swept:
        print("\nSweeps (§5.6), ours against the status quo:")
        print(report.sweep_table(swept))
    if out_dir is not None:
        report.write(out_dir, results, lines, swept, relaxed)
        print(f"wrote {out_dir}/report.md, results.csv and plots")
    if json_path is not None:
        doc = {
            "scenarios": results,
            "goals": lines,
            "optimum_relaxation": relaxed,
            "status_quo": list(STATUS_QUO),
            "sweeps": swept,
            "planned": planned,
        }
        json_path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        print(f"wrote {json_path}")
    return 0
