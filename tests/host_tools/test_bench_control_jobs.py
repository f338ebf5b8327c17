"""`bench control --jobs N`: the benchmark's units in a pool of processes give exactly the
numbers of one process running them one after another (the same seeds, the same order
of summation), and a unit's progress and errors reach the caller."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import numpy as np
import pytest

from host_tools.bench.control import (
    DIVERTER_SWEEPS,
    SAMPLE_TOTAL,
    SWEEPS,
    Plan,
    annual,
    collect,
    compare,
    compare_failures,
    planned_steps,
    print_planned,
    report,
    run_scenario,
    submit_planned,
    with_total,
    year_of,
)
from host_tools.bench.control.jobs import Jobs, publish, tick
from host_tools.bench.control.prices import PLANNED_TARIFFS
from host_tools.bench.control.scenarios import CONTROLLERS, Scenario, scenarios

# The planner's own measurements of its solves: time and memory, not results.
MEASURED = ("solve_ms_median", "solve_ms_p95", "solve_ms_max", "peak_rss_mb")


class Count:
    """A progress bar that only counts."""

    def __init__(self) -> None:
        self.n = 0

    def update(self, n: int = 1) -> None:
        self.n += n


def small_plan() -> Plan:
    """Every kind of unit, small: the kettle and the cloud (the optimum's LPs), the
    kettle's sweeps, two hours of the planned comparison and two days of the year."""
    short = [sc for sc in scenarios(quick=True) if sc.name in ("kettle", "cloud")]
    shoulder = compare.days_scenario("shoulder", 80, 1)
    planned = dataclasses.replace(shoulder, name="shoulder_2h", seconds=2 * 3600.0)
    return Plan(
        short,
        milp=False,
        swept=short[:1],
        planned=[planned],
        year=year_of(2),
    )


def without_measurements(planned: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {
            tariff: {
                **r,
                "planner": {k: v for k, v in r["planner"].items() if k not in MEASURED},
            }
            for tariff, r in by.items()
        }
        for name, by in planned.items()
    }


@pytest.mark.timeout(900)  # two runs of ~60 simulated runs and two days: minutes when busy
def test_two_processes_give_exactly_the_numbers_of_one():
    """...and so do the planned comparison's pieces (compare.compare's, a unit each)."""
    plans = small_plan(), small_plan()
    bars = Count(), Count()
    serial = collect(plans[0], 1, bars[0])
    parallel = collect(plans[1], 2, bars[1])
    assert serial["scenarios"] == parallel["scenarios"]  # floats compared exactly
    assert serial["sweeps"] == parallel["sweeps"]
    assert without_measurements(serial["planned"]) == without_measurements(parallel["planned"])
    # Not trivially equal: every unit is there, with numbers in it.
    assert set(serial["scenarios"]) == {"kettle", "cloud", "year"}
    year = serial["scenarios"]["year"]
    assert set(year) == {*CONTROLLERS, "optimum"}
    assert all(r["days"] == 2 for r in year.values())
    assert year["ours"]["import_kwh"] > 0 and year["optimum"]["objective_e7"] != 0
    assert serial["scenarios"]["kettle"]["eddi"]["leak_wh"] > 100.0
    rows = sum(len(v) for v in SWEEPS.values()) + sum(len(v) for _, v in DIVERTER_SWEEPS.values())
    assert len(serial["sweeps"]) == rows
    assert set(serial["planned"]["shoulder_2h"]) == {"flat", "e7", "agile", "go"}
    # Every step reached the bar, from the workers too.
    assert (bars[0].n, bars[1].n) == (plans[0].steps(), plans[1].steps())
    # Every controller ran on the same PV and load (the plots' thinned traces).
    for name in ("kettle", "cloud"):
        ours = report._TRACES[(name, "ours")]
        for controller in CONTROLLERS:
            tr = report._TRACES[(name, controller)]
            assert np.array_equal(tr.pv_w, ours.pv_w) and np.array_equal(tr.load_w, ours.load_w)


def shoulder_2h() -> Scenario:
    shoulder = compare.days_scenario("shoulder", 80, 1)
    return dataclasses.replace(shoulder, name="shoulder_2h", seconds=2 * 3600.0)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("jobs", [1, 2])
def test_the_planned_comparisons_pieces_run_once_each_and_add_up_as_compare_does(
    jobs: int, monkeypatch: pytest.MonkeyPatch
):
    """The reactive controllers run once a run, not once a tariff; each tariff's planner
    and optimum once; and the units put together give compare.compare's figures exactly."""
    sc = shoulder_2h()
    ran: list[str] = []
    run_chunks = compare.run_chunks

    def counted(sc: Scenario, controller: str, *args: Any, **kwargs: Any) -> None:
        ran.append(controller)
        run_chunks(sc, controller, *args, **kwargs)

    monkeypatch.setattr(compare, "run_chunks", counted)  # in this process only
    once = Counter({**dict.fromkeys(compare.REACTIVE, 1), "planned": len(PLANNED_TARIFFS)})
    bar = Count()
    serial = compare.compare(sc, bar=bar)
    assert Counter(ran) == once
    assert bar.n == compare.steps() == 1 + 2 * len(PLANNED_TARIFFS)
    ran.clear()
    bar = Count()
    with Jobs(jobs, bar) as pool:
        result = submit_planned([sc], pool)
        pool.run()
        split = result()
    assert without_measurements(split) == without_measurements({sc.name: serial})
    assert list(split[sc.name]) == list(PLANNED_TARIFFS)
    assert split[sc.name]["e7"]["planner"]["plans"] >= 8  # every 15 minutes: not empty
    assert Counter(name for name, _ in pool.cpu_s) == Counter(
        [
            "reactive_days(shoulder_2h)",
            *(
                f"{piece}(shoulder_2h, {t})"
                for piece in ("planned_days", "optimum_both")
                for t in PLANNED_TARIFFS
            ),
        ]
    )
    assert bar.n == planned_steps([sc])
    assert Counter(ran) == (once if jobs == 1 else Counter())  # jobs=2: in the workers


def fails(n: int) -> int:
    tick(n)
    raise ValueError(f"unit {n} failed")


def square(n: int) -> int:
    tick(1)
    return n * n


@pytest.mark.parametrize("jobs", [1, 2])
def test_units_tick_the_bar_and_their_errors_reach_the_caller(jobs: int):
    bar = Count()
    with Jobs(jobs, bar) as pool:
        done = [pool.submit(square, k, ticks=2) for k in range(5)]
        got: list[int] = []
        pool.then(done, lambda results: got.extend(results))
        pool.run()
        summary = pool.summary()
    assert got == [0, 1, 4, 9, 16]
    assert bar.n == 5 * 3
    # Each unit's CPU time came back, named.
    assert sorted(name for name, _ in pool.cpu_s) == ["square()"] * 5
    assert all(cpu_s >= 0.0 for _, cpu_s in pool.cpu_s)
    assert summary.startswith(f"5 units on {jobs} process(es): ")
    with pytest.raises(ValueError, match="unit 3 failed"), Jobs(jobs, Count()) as pool:
        pool.submit(fails, 3).result()


def sleeps(seconds: float) -> None:
    time.sleep(seconds)


def waits_for(path: str, seconds: float) -> str:
    """Publish, then wait for the unit that a watcher of it submits to write `path`."""
    publish("go", path)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                return f.read()
        except FileNotFoundError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing wrote {path} in {seconds} s")


def writes(path: str) -> None:
    with open(path, "w") as f:
        f.write("written")


def test_a_watcher_gets_what_a_running_unit_publishes(tmp_path):
    """The second unit exists only once the first one's item reached the caller, and the
    first waits for it: a watcher called only after the unit ended never ends (times out)."""
    got: list[str] = []
    with Jobs(2) as pool:

        def go(path: str) -> None:
            got.append(path)
            pool.submit(writes, path)

        pool.watch("go", go)
        first = pool.submit(waits_for, str(tmp_path / "flag"), 120.0)
        pool.run()
    assert first.result() == "written"
    assert got == [str(tmp_path / "flag")]


def test_items_reach_a_watcher_in_order_with_one_process_too():
    with Jobs(1) as pool:
        pool.submit(tick_and_publish, 5)
        got: list[int] = []
        pool.watch("n", got.append)
        pool.watch("other", lambda _: got.append(-1))
        pool.run()
    assert got == [0, 1, 2, 3, 4]


def tick_and_publish(n: int) -> None:
    for k in range(n):
        publish("n", k)


@pytest.mark.timeout(600)
def test_the_years_optimum_in_batches_as_days_arrive_is_the_serial_sum(monkeypatch):
    """Batches of 2 days on a 3-day year: a whole batch, sent as its days arrive, then
    the rest once the years are done; the same sums with one process and two."""
    monkeypatch.setattr(annual, "OPTIMUM_BATCH_DAYS", 2)
    sent: list[int] = []
    submit = Jobs.submit

    def counted(self: Jobs, fn: Any, *args: Any, **kw: Any) -> Any:
        if fn is annual.optimum_days:
            sent.append(len(args[1]))
        return submit(self, fn, *args, **kw)

    monkeypatch.setattr(Jobs, "submit", counted)
    out = []
    for jobs in (1, 2):
        with Jobs(jobs) as pool:
            result = annual.submit_year(year_of(3), pool)
            pool.run()
            out.append(result())
    assert out[0] == out[1]  # floats compared exactly
    assert sent == [2, 1, 2, 1]
    assert out[0]["optimum"]["days"] == 3 and out[0]["optimum"]["objective_e7"] != 0
    assert all(out[0][c]["days"] == 3 for c in CONTROLLERS)


def test_a_failed_unit_ends_the_others_at_once():
    """An error (or Ctrl-C) ends the run without waiting for the units still running."""
    start_s = time.perf_counter()
    with pytest.raises(ValueError, match="unit 1 failed"), Jobs(2) as pool:
        pool.submit(sleeps, 300.0)
        pool.submit(fails, 1).result()
    assert time.perf_counter() - start_s < 100.0  # spawning is slow on a busy machine


def test_a_pool_of_no_processes_is_refused():
    with pytest.raises(ValueError, match="at least 1 process, not 0"):
        Jobs(0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--jobs", "0"), "argument --jobs: a whole number of at least 1, not '0'"),
        (("--jobs", "two"), "argument --jobs: a whole number of at least 1, not 'two'"),
        (("--year-days", "400"), "argument --year-days: at most 365 days, not 400"),
        (("--planned-days", "0"), "argument --planned-days: a whole number of at least 1, not '0'"),
        (
            ("--planned-year", "--planned-days", "400"),
            "argument --planned-days: at most 365 with --planned-year, not 400",
        ),
        (
            ("--planned-months", "--planned-year"),
            "argument --planned-year: not allowed with argument --planned-months",
        ),
    ],
)
def test_the_command_names_a_bad_count(args: tuple[str, str], message: str):
    proc = subprocess.run(
        [sys.executable, "-m", "host_tools", "bench", "control", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr


@pytest.mark.timeout(600)
def test_a_day_runs_its_milps_as_units_of_their_own_with_the_same_results():
    """A day run's optimum: the LP and §5.4's MILP under each tariff, four units, put
    together in the serial order (three hours of a winter day)."""
    winter = next(sc for sc in scenarios(quick=False) if sc.name == "day_winter")
    sc = dataclasses.replace(winter, seconds=3 * 3600.0)
    serial, parallel = (run_scenario(sc, milp=True, jobs=n) for n in (1, 2))
    assert serial == parallel
    best = serial["optimum"]
    assert list(parallel["optimum"]) == list(best)  # the keys in the same order too
    assert list(best)[-8:] == [  # after the flat LP's metrics (which hold the costs)
        "comfort_short_steps",
        "objective_flat",
        "objective_flat_milp",
        "mip_gap_flat",
        "objective_e7",
        "objective_e7_milp",
        "mip_gap_e7",
        "avoidable_export_kwh",
    ]
    for tariff in ("flat", "e7"):
        assert best[f"objective_{tariff}_milp"] >= best[f"objective_{tariff}"] - 1e-4
        assert best[f"mip_gap_{tariff}"] <= 1e-3  # solved to its gap, not its time limit


class SlowDrain(Jobs):
    """The drain thread reads each unit's CPU time late, as a loaded machine may."""

    def _update(self, n: int | tuple[str, float]) -> None:
        if isinstance(n, tuple):
            time.sleep(0.3)
        super()._update(n)


def test_the_summary_waits_for_every_units_cpu_time():
    with SlowDrain(2) as pool:
        done = [pool.submit(square, k) for k in range(4)]
        pool.then(done, lambda results: None)
        pool.run()
        summary = pool.summary()
    assert summary.startswith("4 units on 2 process(es): "), summary


@pytest.mark.parametrize("jobs", [1, 2])
def test_keep_going_names_a_failed_unit_and_keeps_the_others(jobs: int, capsys):
    """A year of the planned comparison is an hour of units: one unit's error is named
    (with its traceback) and skips only what waits for it."""
    waited: list[Any] = []
    got: list[int] = []
    with Jobs(jobs, Count(), keep_going=True) as pool:
        done = [pool.submit(square, k) for k in range(4)]
        bad = pool.submit(fails, 7)
        pool.then(done, lambda results: got.extend(results))
        pool.then([bad, done[0]], waited.append)
        pool.run()
    assert got == [0, 1, 4, 9]
    assert waited == []  # it needed the failed unit
    assert pool.failed == ["fails(): ValueError: unit 7 failed"]
    err = capsys.readouterr().err
    assert "bench: fails() failed; the other units go on" in err
    assert "unit 7 failed" in err and "Traceback" in err


def test_a_failed_planner_loses_its_tariff_only(monkeypatch: pytest.MonkeyPatch, capsys):
    sc = shoulder_2h()
    planned_days = compare.planned_days

    def agile_fails(sc: Scenario, tariff: str) -> Any:
        if tariff == "agile":
            raise RuntimeError("no plan for agile")
        return planned_days(sc, tariff)

    monkeypatch.setattr(compare, "planned_days", agile_fails)
    with Jobs(1, Count(), keep_going=True) as pool:
        result = submit_planned([sc], pool)
        pool.run()
        out = result()
    by = out[sc.name]
    assert list(by) == list(PLANNED_TARIFFS)
    assert by["agile"] == {"failed": "the planner: RuntimeError: no plan for agile"}
    assert all("planned" in by[t] and "failed" not in by[t] for t in ("flat", "e7", "go"))
    assert pool.failed == ["agile_fails(shoulder_2h, agile): RuntimeError: no plan for agile"]
    assert compare_failures(out) == [f"{sc.name}, agile: {by['agile']['failed']}"]
    total = with_total(out, months=True)[SAMPLE_TOTAL]
    assert "failed" in total["agile"] and total["e7"]["planned"] == by["e7"]["planned"]
    print_planned(out)
    shown = capsys.readouterr().out
    assert "FAILED, so left out below:" in shown and "no plan for agile" in shown
    assert "| shoulder_2h | e7 |" in shown and "| shoulder_2h | agile |" not in shown
