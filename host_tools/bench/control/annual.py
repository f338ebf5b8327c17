"""The simulated year of `bench control`, a day at a time: each controller's days summed
(each controller carries its own state from day to day, so its year is one unit of work,
but the controllers are independent of one another), and the optimum solved for each day
(independent days, solved in batches, each day's LP from the day before's basis).

The optimum of a day is solved on that day's PV and load, free to start anywhere between
where the controllers' days began: it needs every controller's start of that day, which
each controller reached from its own past, never from its future. The controllers
publish each day as they run it, so a batch of days starts as soon as every controller
has run them, while ours' year (the longest unit) still runs.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from host_tools.bench.control import metrics as m
from host_tools.bench.control import optimum
from host_tools.bench.control.jobs import Jobs, publish, tick
from host_tools.bench.control.scenarios import CONTROLLERS, Scenario, Trace, run_chunks

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
# The optimum's days in batches of this many, a unit each, sent as soon as every
# controller has run them: each batch's first day starts cold, the next from the day
# before (optimum.Warm), so the batches are the same whatever the processes.
OPTIMUM_BATCH_DAYS = 28
DAY_TOPIC = "year day"  # controller_year publishes each day as it is run (Jobs.publish)


def _topic(sc: Scenario) -> str:
    return f"{DAY_TOPIC}: {sc.name}"


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

    def add(self, tr: Trace, res: dict[str, Any]) -> None:
        self.add_day(res, m.flows(tr).pv, m.flips(tr), float(tr.soc_pct[-1]))

    def add_day(self, res: dict[str, Any], pv_kwh: float, flips: int, soc_end_pct: float) -> None:
        """A day's metrics, its PV (kWh), reversals and SOC at its end (%)."""
        for key in ADDITIVE:
            self.sums[key] += float(res.get(key) or 0.0)
        month = (self.first_day + datetime.timedelta(self.days)).month - 1
        for key in MONTHLY:
            self.monthly[key][month] += float(res.get(key) or 0.0)
        self.pv_kwh += pv_kwh
        self.flips += flips
        self.days += 1
        self.soc_end = soc_end_pct

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


Start = tuple[float, float, float]  # SOC %, tank degC, house degC


def controller_year(
    sc: Scenario, controller: str, keep_days: bool
) -> tuple[dict[str, Any], list[_Day], list[Start]]:
    """One controller's year (a unit): its summed metrics, the days' PV and load (if
    keep_days: one controller's are every controller's) and where each of its days began.
    Each day is also published as it is run (under the scenario's DAY_TOPIC: the
    controller, the day's index, its start and its _Day or None), for submit_year."""
    totals = Totals(sc.params.start_day_of_year)
    per = round(sc.lp_dt_s)
    days: list[_Day] = []
    starts: list[Start] = []

    def day(tr: Trace) -> None:
        res = m.metrics(tr)
        for tariff in ("flat", "e7"):
            res[f"objective_{tariff}"] = m.objective(tr, tariff, 0.95)
        totals.add(tr, res)
        if keep_days:
            days.append(_Day.of(tr, per))
        starts.append((tr.soc0_pct, tr.tank0_degc, tr.house0_degc))
        kept = days[-1] if keep_days else None
        publish(_topic(sc), (controller, len(starts) - 1, starts[-1], kept))
        tick(1)

    run_chunks(sc, controller, 86400, day)
    return totals.result(), days, starts


# A day's optimum as the year's sums need it: metrics (with objective_flat), PV kWh,
# reversals, SOC at the end %, then the E7 objective and cost (£).
OptimumDay = tuple[dict[str, Any], float, int, float, float, float]


def optimum_days(sc: Scenario, days: list[_Day]) -> list[OptimumDay]:
    """The optimum of each of these days (a unit), under the flat tariff and E7, each
    day's LP warm-started from the day before's (the first day of a batch starts cold, so
    the batches are the same whatever the processes: OPTIMUM_BATCH_DAYS)."""
    from host_tools.bench.control import limits  # the package imports this module

    per = round(sc.lp_dt_s)
    out: list[OptimumDay] = []
    warm = {t: optimum.Warm() for t in ("flat", "e7")}  # each day from the day before's
    for d in days:
        starts = optimum.Starts.of_points(d.starts)
        tr = d.trace(per)
        opt = optimum.solve(sc, tr, "flat", limits(), starts, warm=warm["flat"])
        res_opt = m.metrics(opt)
        res_opt["objective_flat"] = m.objective(opt, "flat", 0.95)
        opt_e7 = optimum.solve(sc, tr, "e7", limits(), starts, warm=warm["e7"])
        flows = m.flows(opt).pv, m.flips(opt), float(opt.soc_pct[-1])
        e7 = m.objective(opt_e7, "e7", 0.95), m.cost(opt_e7, "e7")
        out.append((res_opt, *flows, *e7))
        tick(1)
    return out


def submit_year(sc: Scenario, pool: Jobs) -> Callable[[], dict[str, Any]]:
    """Every controller's year as a unit each, and the optimum's days in batches of
    OPTIMUM_BATCH_DAYS, each sent once every controller has run its days (they are
    published as they are run, so the optimum's batches start while ours' year still
    runs; the years' results fill in what has not arrived when they are done). Returns
    the function that sums them (after pool.run())."""
    years = [pool.submit(controller_year, sc, c, k == 0) for k, c in enumerate(CONTROLLERS)]
    batches: list[Future[Any]] = []
    days: list[_Day] = []  # the first controller's, in order
    starts: dict[str, list[Start]] = {c: [] for c in CONTROLLERS}

    def send(final: bool) -> None:
        """Send each whole batch of days every controller has run (final: the rest too)."""
        ready = min(len(days), *(len(s) for s in starts.values()))
        while (sent := len(batches) * OPTIMUM_BATCH_DAYS) < ready:
            if ready - sent < OPTIMUM_BATCH_DAYS and not final:
                return
            batch = [
                dataclasses.replace(days[i], starts=[starts[c][i] for c in CONTROLLERS])
                for i in range(sent, min(ready, sent + OPTIMUM_BATCH_DAYS))
            ]
            batches.append(pool.submit(optimum_days, sc, batch))

    def arrived(item: tuple[str, int, Start, _Day | None]) -> None:
        controller, index, start, day = item
        if index != len(starts[controller]):
            return  # filled in from the results already
        starts[controller].append(start)
        if day is not None:
            days.append(day)
        send(final=False)

    def done(results: list[Any]) -> None:
        for c, (_totals, kept, began) in zip(CONTROLLERS, results, strict=True):
            starts[c][len(starts[c]) :] = began[len(starts[c]) :]
            if kept:
                days[len(days) :] = kept[len(days) :]
        send(final=True)

    pool.watch(_topic(sc), arrived)
    pool.then(years, done)

    def result() -> dict[str, Any]:
        out = {c: f.result()[0] for c, f in zip(CONTROLLERS, years, strict=True)}
        best = Totals(sc.params.start_day_of_year)
        best_e7 = {"objective_e7": 0.0, "cost_e7": 0.0}
        for batch in batches:  # the days in order, summed as serially
            for res_opt, pv_kwh, flips, soc_end, objective_e7, cost_e7 in batch.result():
                best_e7["objective_e7"] += objective_e7
                best_e7["cost_e7"] += cost_e7
                best.add_day(res_opt, pv_kwh, flips, soc_end)
        summed = best.result()
        summed.update({k: round(v, 4) for k, v in best_e7.items()})
        out["optimum"] = summed
        for res in out.values():
            res["avoidable_export_kwh"] = round(
                max(0.0, res["export_kwh"] - summed["export_kwh"]), 4
            )
        return out

    return result


def run_year(sc: Scenario, bar: Any = None, jobs: int = 1) -> dict[str, Any]:
    """The year, day by day, on `jobs` processes: {controller or "optimum": its sums}. The
    optimum's sum bounds every controller's year, not only ours."""
    with Jobs(jobs, bar) as pool:
        result = submit_year(sc, pool)
        pool.run()
        return result()
