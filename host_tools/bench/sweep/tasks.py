"""A sweep's tasks and what one task does: one house, one controller, one setting, one
seed, one run of days, simulated on the control benchmark's code (scenarios.run_chunks) a
day at a time and scored under every tariff of the sweep (metrics.cost, metrics.objective).

A reactive controller does not look at prices, so a task's one trace is scored under every
tariff: the tariffs of a house share its trace, as the controllers share its PV and load
(the house's seed fixes both, whoever controls it). Nothing is computed from the future:
each day's metrics come from that day's trace after it ran.

Days are summed in the order they ran (math.fsum), so a task's result is the same on any
worker, in any order: the sweep's report does not depend on scheduling.
"""

from __future__ import annotations

import dataclasses
import math
import os
import resource
import socket
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.errors import EdgeError
from host_tools.bench.control import metrics as m
from host_tools.bench.control.prices import for_run
from host_tools.bench.control.scenarios import (
    CONTROLLERS,
    MID_MONTH_DAYS,
    Scenario,
    Trace,
    run_chunks,
)
from host_tools.bench.sweep.houses import HouseRow, house_params

DAY_S = 86400
YEAR_DAYS = 365
EFFICIENCY = 0.95  # the battery's one-way efficiency the objective values it at (bench)
# The 15th of each month, and of January, April, July and October (days of the year).
MONTHS = MID_MONTH_DAYS
SEASONS = (15, 105, 196, 288)
# What a task sums over its days (kWh, Wh, £ per tariff are added after).
SUMMED = (
    "pv_kwh",
    "load_kwh",
    "import_kwh",
    "export_kwh",
    "heater_kwh",
    "hp_kwh",
    "battery_throughput_kwh",
    "leak_wh",
    "house_cold_kh",
)
# InverterParams fields a setting may change (the loop the status quo runs on).
SETTINGS_FIELDS = ("dead_time_s", "ramp_w_per_s", "deadband_w", "flip_check_s")


class SweepError(EdgeError):
    """A bad sweep argument; the message names it and what is allowed."""


@dataclass(frozen=True)
class Period:
    """The days simulated: runs of consecutive days, (first day of year, days), each run
    starting from the same state; seconds_per_run cuts each run short (smoke tests)."""

    spec: str
    runs: tuple[tuple[int, int], ...]
    seconds_per_run: int

    @property
    def simulated_s(self) -> int:
        return len(self.runs) * self.seconds_per_run

    @property
    def year_weight(self) -> float:
        """What scales the period's sums to a year."""
        return YEAR_DAYS * DAY_S / self.simulated_s

    def describe(self) -> str:
        days = self.simulated_s / DAY_S
        if self.runs == ((1, YEAR_DAYS),) and self.seconds_per_run == YEAR_DAYS * DAY_S:
            return "a whole year, 365 days run one after another"
        runs = ", ".join(f"day {d}" + (f" +{n - 1}" if n > 1 else "") for d, n in self.runs)
        return (
            f"{days:g} simulated day{'' if days == 1 else 's'} ({runs}; each run starts from"
            " the same state),"
            f" scaled to a year by x{self.year_weight:.4g}"
        )


def period(spec: str, hours: float | None = None) -> Period:
    """all | months | seasons | D+N (N days from day D) | D,D,... (a day each)."""
    s = spec.strip().lower()
    runs: tuple[tuple[int, int], ...]
    if s == "all":
        runs = ((1, YEAR_DAYS),)
    elif s == "months":
        runs = tuple((d, 1) for d in MONTHS)
    elif s == "seasons":
        runs = tuple((d, 1) for d in SEASONS)
    else:
        try:
            if "+" in s:
                first, n = (int(x) for x in s.split("+"))
                runs = ((first, n),)
            else:
                runs = tuple((int(x), 1) for x in s.split(","))
        except ValueError:
            raise SweepError(
                f"--days {spec!r}: use all, months, seasons, D+N (N days from day D) or"
                " D,D,... (days of the year, 1 to 365)"
            ) from None
    for first, n in runs:
        if not (1 <= first <= YEAR_DAYS and 1 <= n <= YEAR_DAYS):
            raise SweepError(f"--days {spec!r}: day {first} +{n}: days are 1 to 365")
    longest = max(n for _, n in runs) * DAY_S
    if any(n * DAY_S != longest for _, n in runs):
        raise SweepError(f"--days {spec!r}: every run must be as long")
    per = longest
    if hours is not None:
        if not 0 < hours * 3600 <= longest:
            raise SweepError(f"--hours {hours:g}: must be above 0 and at most the run's length")
        per = round(hours * 3600)
    return Period(spec, runs, per)


def setting(text: str) -> tuple[str, tuple[tuple[str, float], ...]]:
    """The default, or NAME:field=value[,field=value] of InverterParams (SETTINGS_FIELDS)."""
    if text == "default":
        return ("default", ())
    name, _, body = text.partition(":")
    pairs = []
    for item in filter(None, body.split(",")):
        key, _, value = item.partition("=")
        if key not in SETTINGS_FIELDS:
            raise SweepError(
                f"--setting {text!r}: {key!r} is not a setting (one of"
                f" {', '.join(SETTINGS_FIELDS)})"
            )
        try:
            v = float(value)
        except ValueError:
            raise SweepError(f"--setting {text!r}: {key} = {value!r} is not a number") from None
        if not math.isfinite(v) or v < 0:
            raise SweepError(f"--setting {text!r}: {key} = {value!r} must be 0 or more")
        pairs.append((key, v))
    if not name or not pairs:
        raise SweepError(f"--setting {text!r}: write NAME:field=value[,field=value]")
    return (name, tuple(pairs))


@dataclass(frozen=True)
class Task:
    house: HouseRow
    house_index: int  # its row in the table, from 0: with the seed, the house's sim seed
    controller: str
    setting: tuple[str, tuple[tuple[str, float], ...]]
    seed: int
    run: int  # which run of the period
    period: Period
    tariffs: tuple[str, ...]

    @property
    def key(self) -> tuple[int, str, str, int, int]:
        """What orders the results: never the order they finished in."""
        return (self.house_index, self.controller, self.setting[0], self.seed, self.run)

    @property
    def sim_seed(self) -> int:
        """The house's seed: its PV clouds, load and pack; the same for every controller."""
        return self.seed * 100_003 + self.house_index + 1

    def scenario(self) -> Scenario:
        first, _ = self.period.runs[self.run]
        params = house_params(self.house, self.sim_seed, first)
        if self.setting[1]:
            changes: dict[str, Any] = dict(self.setting[1])
            inverter = dataclasses.replace(params.inverter, **changes)
            params = dataclasses.replace(params, inverter=inverter)
        return Scenario(
            f"{self.house.id}/{first}", params, 0.0, float(self.period.seconds_per_run), 60.0
        )


def tasks(
    rows: list[HouseRow],
    controllers: tuple[str, ...],
    tariffs: tuple[str, ...],
    settings: tuple[tuple[str, tuple[tuple[str, float], ...]], ...],
    seeds: tuple[int, ...],
    p: Period,
) -> list[Task]:
    for c in controllers:
        if c not in CONTROLLERS:
            raise SweepError(f"--controllers: {c!r} is not one of {', '.join(CONTROLLERS)}")
    return [
        Task(row, k, c, s, seed, r, p, tariffs)
        for k, row in enumerate(rows)
        for c in controllers
        for s in settings
        for seed in seeds
        for r in range(len(p.runs))
    ]


def _day(tr: Trace, tariffs: tuple[str, ...], first_day: int) -> dict[str, float]:
    """A day's sums; each tariff under its name for a run from first_day (the day of the
    year: the Agile-like series is indexed by it, prices.for_run)."""
    f = m.flows(tr)
    out = {
        "pv_kwh": f.pv,
        "load_kwh": f.load,
        "import_kwh": f.imported,
        "export_kwh": f.exported,
        "heater_kwh": f.heater,
        "hp_kwh": f.hp,
        "battery_throughput_kwh": float(np.abs(tr.battery_w).sum() / 3.6e6),
        "leak_wh": m.leak_wh(tr),
        "house_cold_kh": m.house_cold_kh(tr),
    }
    for t in tariffs:
        priced = for_run(t, first_day)
        out[f"cost_{t}"] = m.cost(tr, priced)
        out[f"objective_{t}"] = m.objective(tr, priced, EFFICIENCY)
    return out


def run_task(task: Task) -> dict[str, Any]:
    """The task's sums over its days, and where and how it ran: "peak_rss_mb" is the
    process's peak resident memory so far (ru_maxrss), "worker" the process it ran in."""
    t0 = time.perf_counter()
    days: list[dict[str, float]] = []
    first, _ = task.period.runs[task.run]
    run_chunks(
        task.scenario(),
        task.controller,
        DAY_S,
        lambda tr: days.append(_day(tr, task.tariffs, first)),
    )
    sums = {k: math.fsum(d[k] for d in days) for k in days[0]}
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = f"{socket.gethostname()}:pid{os.getpid()}"
    return {
        "key": list(task.key),
        "sums": sums,
        "days": len(days),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "worker": worker,
        "wall_s": time.perf_counter() - t0,
    }
