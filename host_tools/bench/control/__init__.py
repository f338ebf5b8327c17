"""`python -m host_tools bench control`: how much does coordinating battery, diverter and
heat pump save? Our core against the uncoordinated status quo (three diverters) and the
perfect-foresight optimum, on the scenarios of loads-baseline-s2.md §5.7 (kettle, cloud,
day runs). Writes JSON, a Markdown and a CSV table and plots; prints the goals beside
the results and says by how much a goal is missed.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from edge.sim.diverter import DiverterParams
from host_tools.bench.control import metrics as m
from host_tools.bench.control import optimum, report
from host_tools.bench.control.scenarios import (
    CONTROLLERS,
    STATUS_QUO,
    Scenario,
    Trace,
    bench_config,
    run,
    run_chunks,
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


def run_scenario(sc: Scenario, bar: Any = None, milp: bool = True) -> dict[str, Any]:
    """Every controller on one scenario: {controller: metrics}. milp: on a day run, also
    §5.4's MILP (up to MILP_TIME_LIMIT_S a tariff)."""
    out: dict[str, Any] = {}
    traces = {}
    for controller in CONTROLLERS:
        tr = run(sc, controller)
        traces[controller] = tr
        res = m.metrics(tr)
        for tariff in ("flat", "e7"):
            res[f"objective_{tariff}"] = round(m.objective(tr, tariff, 0.95), 4)
        out[controller] = res
        if bar is not None:
            bar.update(1)
    best: dict[str, Any] = {}
    for tariff in ("flat", "e7"):
        opt = optimum.solve(sc, traces["ours"], tariff, limits())
        if tariff == "flat":
            best = m.metrics(opt)
            best["comfort_short_steps"] = opt.comfort_misses
            report.keep_trace(sc.name, "optimum", opt)
        best[f"objective_{tariff}"] = round(m.objective(opt, tariff, 0.95), 4)
        best[f"cost_{tariff}"] = round(m.cost(opt, tariff), 4)
        if milp and sc.name.startswith("day_"):
            # §5.4's MILP (the heat pump on/off): how much the relaxation gives away.
            mixed = optimum.solve(sc, traces["ours"], tariff, limits(), on_off=True)
            best[f"objective_{tariff}_milp"] = round(m.objective(mixed, tariff, 0.95), 4)
            best[f"mip_gap_{tariff}"] = round(mixed.mip_gap, 4)
    out["optimum"] = best
    if bar is not None:
        bar.update(1)
    for controller, tr in traces.items():
        report.keep_trace(sc.name, controller, tr)
    for res in out.values():
        res["avoidable_export_kwh"] = round(max(0.0, res["export_kwh"] - best["export_kwh"]), 4)
    return out


ADDITIVE = (
    "leak_wh",
    "leak_wh_flow",
    "leak_wh_house",
    "flip_export_wh",
    "flip_import_wh",
    "import_kwh",
    "export_kwh",
    "battery_throughput_kwh",
    "heater_kwh",
    "hp_starts",
    "comfort_misses_s",
    "house_cold_kh",
    "cost_flat",
    "cost_e7",
    "objective_flat",
    "objective_e7",
    "balance_error_kwh",
)


# What the annual summary plots month by month.
MONTHLY = ("leak_wh", "flip_export_wh", "import_kwh", "export_kwh", "objective_e7")


class Totals:
    """A year's metrics, summed day by day (a year's 1 s trace does not fit in memory)."""

    def __init__(self, start_day_of_year: int = 1) -> None:
        self.sums = dict.fromkeys(ADDITIVE, 0.0)
        self.monthly = {key: [0.0] * 12 for key in MONTHLY}
        self.first_day = datetime.date(2026, 1, 1) + datetime.timedelta(start_day_of_year - 1)
        self.pv_kwh = 0.0
        self.flips = 0
        self.days = 0
        self.soc_end = 0.0

    def add(self, tr: Any, res: dict[str, Any]) -> None:
        for key in ADDITIVE:
            self.sums[key] += float(res.get(key) or 0.0)
        month = (self.first_day + datetime.timedelta(self.days)).month - 1
        for key in MONTHLY:
            self.monthly[key][month] += float(res.get(key) or 0.0)
        self.pv_kwh += m.flows(tr).pv
        self.flips += m.flips(tr)
        self.days += 1
        self.soc_end = float(tr.soc_pct[-1])

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: round(v, 4) for k, v in self.sums.items()}
        exported = self.sums["export_kwh"]
        out["self_consumption_pct"] = (
            round(100.0 * (1 - exported / self.pv_kwh), 2) if self.pv_kwh > 0 else None
        )
        out["flips_per_day"] = round(self.flips / max(1, self.days), 1)
        out["soc_end_pct"] = round(self.soc_end, 2)
        out["days"] = self.days
        out["monthly"] = {k: [round(v, 4) for v in vs] for k, vs in self.monthly.items()}
        return out


@dataclass
class _Day:
    """What the optimum needs of a day of the year: PV and load at its step, and where
    every controller's day began."""

    t0_s: float
    seconds: int
    pv_w: np.ndarray
    load_w: np.ndarray
    capacity_wh: float
    starts: list[tuple[float, float, float]] = dataclasses.field(
        default_factory=list
    )  # SOC, tank, house

    @classmethod
    def of(cls, tr: Trace, per: int) -> _Day:
        n = len(tr.t_s) // per * per

        def avg(x: np.ndarray) -> np.ndarray:
            return np.asarray(x[:n].reshape(-1, per).mean(axis=1))

        return cls(float(tr.t_s[0]), n, avg(tr.pv_w), avg(tr.load_w), tr.capacity_wh)

    def trace(self, per: int) -> Trace:
        """A trace with this day's PV and load (each step repeated) for optimum.solve."""
        zeros = np.zeros(self.seconds)
        soc0, tank0, house0 = self.starts[0]
        return Trace(
            t_s=self.t0_s + np.arange(self.seconds, dtype=float),
            pv_w=np.repeat(self.pv_w, per),
            load_w=np.repeat(self.load_w, per),
            heater_w=zeros,
            hp_w=zeros,
            battery_w=zeros,
            grid_w=zeros,
            soc_pct=zeros,
            tank_degc=zeros,
            house_degc=zeros,
            check=np.zeros(self.seconds, dtype=bool),
            leak_wh_house=0.0,
            comfort_misses=0,
            soc0_pct=soc0,
            tank0_degc=tank0,
            house0_degc=house0,
            capacity_wh=self.capacity_wh,
        )


def run_year(sc: Scenario, bar: Any = None) -> dict[str, Any]:
    """The year, day by day: each controller's days summed (each carries its own state
    from day to day). The optimum is solved for each day on that day's PV and load,
    free to start anywhere between where the controllers' days began, so its sum bounds
    every controller's year, not only ours."""
    out: dict[str, Any] = {}
    per = round(sc.lp_dt_s)
    days: list[_Day] = []
    for controller in CONTROLLERS:
        totals = Totals(sc.params.start_day_of_year)
        k = 0

        def day(tr: Trace, controller: str = controller, totals: Totals = totals) -> None:
            nonlocal k
            res = m.metrics(tr)
            for tariff in ("flat", "e7"):
                res[f"objective_{tariff}"] = m.objective(tr, tariff, 0.95)
            totals.add(tr, res)
            if controller == CONTROLLERS[0]:
                days.append(_Day.of(tr, per))
            days[k].starts.append((tr.soc0_pct, tr.tank0_degc, tr.house0_degc))
            k += 1
            if bar is not None:
                bar.update(1)

        run_chunks(sc, controller, 86400, day)
        out[controller] = totals.result()
    best = Totals(sc.params.start_day_of_year)
    best_e7 = {"objective_e7": 0.0, "cost_e7": 0.0}
    for d in days:
        starts = optimum.Starts.of_points(d.starts)
        tr = d.trace(per)
        opt = optimum.solve(sc, tr, "flat", limits(), starts)
        res_opt = m.metrics(opt)
        res_opt["objective_flat"] = m.objective(opt, "flat", 0.95)
        opt_e7 = optimum.solve(sc, tr, "e7", limits(), starts)
        best_e7["objective_e7"] += m.objective(opt_e7, "e7", 0.95)
        best_e7["cost_e7"] += m.cost(opt_e7, "e7")
        best.add(opt, res_opt)
        if bar is not None:
            bar.update(1)
    result = best.result()
    result.update({k: round(v, 4) for k, v in best_e7.items()})
    out["optimum"] = result
    for res in out.values():
        res["avoidable_export_kwh"] = round(max(0.0, res["export_kwh"] - result["export_kwh"]), 4)
    return out


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


def sweeps(chosen: list[Scenario], bar: Any = None) -> list[dict[str, Any]]:
    """Leak and flip export under each swept parameter of §5.6, ours against the status
    quo, on the kettle and cloud scenarios."""
    rows = []

    def row(sc: Scenario, param: str, value: float, sq: str, ours: Any, theirs: Any) -> None:
        rows.append(
            {
                "scenario": sc.name,
                "parameter": param,
                "value": value,
                "status_quo": sq,
                "ours_leak_wh": ours["leak_wh"],
                "ours_flip_export_wh": ours["flip_export_wh"],
                "sq_leak_wh": theirs["leak_wh"],
                "sq_flip_export_wh": theirs["flip_export_wh"],
            }
        )
        if bar is not None:
            bar.update(1)

    for sc in chosen:
        if sc.name not in ("kettle", "cloud"):
            continue
        for param, values in SWEEPS.items():
            for value in values:
                inverter = dataclasses.replace(sc.params.inverter, **{param: value})
                varied = dataclasses.replace(
                    sc, params=dataclasses.replace(sc.params, inverter=inverter)
                )
                ours = m.metrics(run(varied, "ours"))
                row(sc, param, value, "eddi", ours, m.metrics(run(varied, "eddi")))
                if bar is not None:
                    bar.update(1)
        ours = m.metrics(run(sc, "ours"))
        if bar is not None:
            bar.update(1)
        for param, (sq, values) in DIVERTER_SWEEPS.items():
            for value in values:
                override: dict[str, Any] = {param: value}
                settings = DiverterParams(**override)
                varied = dataclasses.replace(
                    sc, params=dataclasses.replace(sc.params, diverter_params=settings)
                )
                row(sc, param, value, sq, ours, m.metrics(run(varied, sq)))
    return rows


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


def planned_runs(
    quick: bool, days: int | None, with_emhass: bool = False
) -> dict[str, dict[str, Any]]:
    """Ours reactive, ours planned and the optimum under each planned tariff (compare.py):
    quick, a shoulder day; else a week each in winter, spring and summer (or `days`).
    with_emhass: EMHASS beside them (emhass.py; it installs EMHASS in a venv of its own)."""
    from host_tools.bench.control import compare  # it imports this package's _Day
    from host_tools.bench.control import emhass as em

    session = em.Session() if with_emhass else None  # the worker ends with the run at worst

    weeks = compare.QUICK if quick else compare.WEEKS
    n = days if days is not None else (1 if quick else 7)
    runs = [compare.days_scenario(name, first, n) for name, first in weeks]
    out: dict[str, dict[str, Any]] = {}
    total = len(runs) * (1 + len(compare.PLANNED_TARIFFS))
    with tqdm(total=total, desc="bench control, planned", unit="run") as bar:
        for sc in runs:
            bar.set_postfix_str(sc.name)
            out[sc.name] = compare.compare(sc, bar=bar, emhass=session)
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
    if session is not None:
        from host_tools.bench.control import emhass_report

        session.close()
        print(f"\nEMHASS beside ours (docs/bench-emhass.md):\n{emhass_report.table(out)}")
        for line in emhass_report.goal_lines(out):
            print(f"- {line}")
    return out


def main(
    json_path: Path | None,
    quick: bool = False,
    out_dir: Path | None = None,
    with_year: bool = True,
    planned_days: int | None = None,
    planned_only: bool = False,
    with_emhass: bool = False,
) -> int:
    """quick: the kettle, cloud and one day; with_year (not quick): the simulated year too
    (about 40 minutes). The planned comparison (planned_runs) runs too; planned_only:
    only it. with_emhass: EMHASS in the planned comparison too."""
    planned = planned_runs(quick, planned_days, with_emhass)
    if planned_only:
        if json_path is not None:
            json_path.write_text(json.dumps({"planned": planned}, indent=2, sort_keys=True) + "\n")
            print(f"wrote {json_path}")
        return 0
    chosen = scenarios(quick)
    results: dict[str, dict[str, Any]] = {}
    yearly = with_year and not quick
    total = (
        len(chosen) * (len(CONTROLLERS) + 1)
        + (0 if quick else 2 * n_sweeps())
        + (365 * (len(CONTROLLERS) + 1) if yearly else 0)
    )
    with tqdm(total=total, desc="bench control", unit="run") as bar:
        for sc in chosen:
            bar.set_postfix_str(sc.name)
            results[sc.name] = run_scenario(sc, bar, milp=not quick)
        bar.set_postfix_str("sweeps")
        swept = [] if quick else sweeps(chosen, bar)
        if yearly:
            bar.set_postfix_str("year")
            results["year"] = run_year(year(), bar)
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
