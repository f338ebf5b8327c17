"""The live planner (edge/planner/live.py): the clock conversion between the sources'
Unix seconds and the supervisor's clock, a plan's slot reaching the real core, a solver
failure and a discarded plan falling back with one log line each, and the plan's figures
in the state document."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from edge.clock import ScaledClock
from edge.config import EdgeConfig, parse_config
from edge.core import CoreState, decide
from edge.core.model import InverterReading, PlanBattery, PlannedSlot, ProcessImage, Sample
from edge.planner.live import (
    LivePlanner,
    image_offset_s,
    on_image_clock,
    self_consumption_bill_gbp,
)
from edge.planner.model import Plan, PlanInputs
from edge.planner.model import solve as highs_solve
from edge.planner.status import PlanStatus, plan_document
from edge.planner.tariffs import SLOT_S
from edge.settings import core_config
from edge.sources.runner import SourcesRunner
from tests.asyncwait import wait_until

# 2025-01-06 10:10 UTC; the site an hour ahead of UTC (as in British summer time).
WALL_S = 1_736_158_200.0
LOCAL_AHEAD_S = 3600.0


def in_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """An async test run in its own event loop (as the rest of the suite does)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


def site(tmp_path: Path, csv_rows: list[tuple[float, float]] | None = None) -> EdgeConfig:
    raw: dict[str, object] = {
        "planner": {"enabled": True},
        "tariff": {"kind": "flat", "day_p_per_kwh": 25.0, "export_p_per_kwh": 5.0},
        "loads": {"diverter": {"enabled": False}},
        "dab": {"enabled": False},
    }
    if csv_rows is not None:
        path = tmp_path / "prices.csv"
        lines = ["start,import_p_per_kwh"]
        lines += [f"{_iso(t)},{p}" for t, p in csv_rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        raw["sources"] = {"prices": "csv", "prices_csv": str(path)}
    return parse_config(raw)


def _iso(t_s: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t_s, dt.UTC).isoformat().replace("+00:00", "Z")


def cheap_now_dear_later(t_s: float) -> list[tuple[float, float]]:
    """Two hours at 2 p/kWh from the current half hour, then 60 p/kWh for two days."""
    t0 = math.floor(t_s / SLOT_S) * SLOT_S
    return [(t0 + k * SLOT_S, 2.0 if k < 4 else 60.0) for k in range(96)]


def clock_at(wall_s: float, speed: float = 1.0) -> tuple[ScaledClock, list[float]]:
    """The supervisor's clock as `edge run` makes it (local time since the epoch, then
    monotonic), with the wall and the monotonic clocks in the test's hands."""
    mono = [100.0]
    wall = [wall_s]
    clock = ScaledClock(
        start_s=wall_s + LOCAL_AHEAD_S,
        speed=speed,
        wall=lambda: wall[0] + (mono[0] - 100.0),
        monotonic=lambda: mono[0],
        synchronised=lambda: True,
    )
    return clock, mono


def image_at(t_s: float, soc_pct: float = 50.0, plan: object = None) -> ProcessImage:
    reading = InverterReading(
        grid_power_w=400.0,
        battery_power_w=0.0,
        battery_soc_pct=soc_pct,
        load_power_w=400.0,
        pv_power_w=0.0,
    )
    return ProcessImage(t_s, Sample(reading, 0.0), None, plan=plan)  # type: ignore[arg-type]


def planner_for(
    cfg: EdgeConfig, clock: ScaledClock, **kw: object
) -> tuple[LivePlanner, SourcesRunner]:
    runner = SourcesRunner(cfg, clock)
    return LivePlanner(cfg, clock, runner, PlanStatus(), **kw), runner  # type: ignore[arg-type]


def test_the_plan_is_moved_once_from_unix_seconds_onto_the_supervisor_clock():
    clock, mono = clock_at(WALL_S)
    assert image_offset_s(clock) == pytest.approx(LOCAL_AHEAD_S)
    mono[0] += 125.0  # both clocks run on: the offset stays
    assert image_offset_s(clock) == pytest.approx(LOCAL_AHEAD_S)
    slot = PlannedSlot(start_s=1800.0, end_s=3600.0, made_s=0.0)
    moved = on_image_clock(slot, image_offset_s(clock), made_s=7.0)
    assert (moved.start_s, moved.end_s, moved.made_s) == (5400.0, 7200.0, 7.0)


@in_loop
async def test_the_slot_in_force_is_the_one_covering_the_supervisor_now(tmp_path):
    cfg = site(tmp_path, cheap_now_dear_later(WALL_S))
    clock, mono = clock_at(WALL_S)
    planner, runner = planner_for(cfg, clock, local_offset_s=lambda _t: LOCAL_AHEAD_S)
    await runner.refresh_prices()
    planner.observe(image_at(clock.now_s()))
    assert await planner.plan_once()
    f = planner.status.figures
    assert f is not None
    # The first slot starts at this half hour in UTC, and at its local time on the clock.
    t0 = math.floor(WALL_S / SLOT_S) * SLOT_S
    assert f.slots_utc_s[0] == t0
    assert f.slots[0].start_s == t0 + LOCAL_AHEAD_S
    assert f.slots[0].made_s == pytest.approx(clock.now_s())
    now = planner.slot(clock.now_s())
    assert now is f.slots[0]
    # Had the Unix times gone to the core unconverted, nothing would cover its now.
    assert planner.status.current(WALL_S) is None
    # Cheap now, dear for two days: charge from the grid now.
    assert now is not None and now.battery is PlanBattery.GRID_CHARGE
    # 25 clock minutes later the same slot is still in force, and 5 more it is the next.
    mono[0] += 25 * 60.0 - (WALL_S - t0)
    assert planner.slot(clock.now_s()) is f.slots[0]
    mono[0] += 10 * 60.0
    assert planner.slot(clock.now_s()) is f.slots[1]


@in_loop
async def test_the_real_core_takes_the_planned_slot(tmp_path):
    cfg = site(tmp_path, cheap_now_dear_later(WALL_S))
    clock, _ = clock_at(WALL_S)
    planner, runner = planner_for(cfg, clock, local_offset_s=lambda _t: LOCAL_AHEAD_S)
    await runner.refresh_prices()
    planner.observe(image_at(clock.now_s()))
    assert await planner.plan_once()
    now = clock.now_s()
    image = image_at(now, plan=planner.slot(now))
    sp, state = decide(image, core_config(cfg), CoreState())
    assert state.reason.startswith("plan: grid charge"), state.reason
    assert sp.inverter.battery_power_w < -1000.0  # charging from the grid
    shown = planner.status.shown(now)
    assert shown["plan_action"] == "grid charge"
    assert shown["plan_age_s"] == 0
    assert shown["plan_problem"] == "none"
    assert shown["plan_target_soc_pct"] > 50.0
    # Cheap hours then dear ones: the plan beats plain self-consumption on the forecast.
    assert shown["plan_saving_gbp"] > 0.0
    assert shown["plan_next_action"] != "grid charge"
    assert shown["plan_next_action_at"].endswith("Z")


def _nan_prices(inp: PlanInputs) -> Plan | None:
    """The real solve, given a NaN price (what a broken source could hand it)."""
    bad = (math.nan, *inp.import_gbp_per_kwh[1:])
    return highs_solve(dataclasses.replace(inp, import_gbp_per_kwh=bad))


@in_loop
async def test_a_solver_failure_is_logged_once_and_the_core_self_consumes(tmp_path, caplog):
    cfg = site(tmp_path)
    clock, mono = clock_at(WALL_S)
    planner, _ = planner_for(cfg, clock, solve=_nan_prices)
    planner.observe(image_at(clock.now_s()))
    with caplog.at_level(logging.INFO, logger="edge.planner"):
        assert not await planner.plan_once()
        mono[0] += 900.0
        assert not await planner.plan_once()
    lines = [r.getMessage() for r in caplog.records if r.name == "edge.planner"]
    assert len(lines) == 1, lines
    assert "not every value is a finite number" in lines[0]
    assert "self-consumption" in lines[0]
    assert planner.status.shown(clock.now_s())["plan_action"] == "no plan"
    now = clock.now_s()
    _, state = decide(image_at(now, plan=planner.slot(now)), core_config(cfg), CoreState())
    assert "no plan: self-consumption" in state.reason, state.reason


@in_loop
async def test_a_plan_failing_validation_is_discarded_and_the_one_before_kept(tmp_path, caplog):
    cfg = site(tmp_path)
    clock, mono = clock_at(WALL_S)
    over = [False]

    def solve(inp: PlanInputs) -> Plan | None:
        plan = highs_solve(inp)
        if plan is None or not over[0]:
            return plan
        big = (inp.battery.max_charge_w * 2, *plan.charge_w[1:])
        return dataclasses.replace(plan, charge_w=big)

    planner, _ = planner_for(cfg, clock, solve=solve)
    planner.observe(image_at(clock.now_s()))
    assert await planner.plan_once()
    first = planner.status.figures
    over[0] = True
    mono[0] += 600.0
    with caplog.at_level(logging.INFO, logger="edge.planner"):
        assert not await planner.plan_once()
    assert planner.status.figures is first
    assert planner.status.plans_discarded == 1
    (line,) = [r.getMessage() for r in caplog.records if r.name == "edge.planner"]
    assert "plan discarded: charge 6000 W over 3000 W" in line
    # Good again: one line says so.
    over[0] = False
    with caplog.at_level(logging.INFO, logger="edge.planner"):
        assert await planner.plan_once()
    assert caplog.records[-1].getMessage() == "planner: planning again"


@in_loop
async def test_a_re_plan_comes_when_the_soc_leaves_the_band(tmp_path):
    cfg = site(tmp_path)  # replan_s 900
    # The clock's sleeps are 1000 times short; its reading stays put (the test moves it),
    # so replan_s never passes here: only leaving the band can cause a re-plan.
    clock, _ = clock_at(WALL_S, speed=1000.0)
    planner, _ = planner_for(cfg, clock)
    planner.observe(image_at(clock.now_s()))
    task = asyncio.create_task(planner.run())
    try:
        await wait_until(lambda: planner.status.plans_made == 1)
        await asyncio.sleep(0.2)  # several checks: on the plan, nothing due
        assert planner.status.plans_made == 1
        planner.observe(image_at(clock.now_s(), soc_pct=95.0))  # 45 points off the plan
        await wait_until(lambda: planner.status.plans_made == 2)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_the_tick_powers_go_into_the_sources_history(tmp_path):
    cfg = site(tmp_path)
    clock, mono = clock_at(WALL_S)
    planner, runner = planner_for(cfg, clock)
    for _ in range(3100):  # 10:10 to past 11:00: the 10:30 half hour wholly seen
        planner.observe(image_at(clock.now_s()))
        mono[0] += 1.0
    assert runner.records and runner.records[0].load_wh == pytest.approx(200.0, rel=0.01)
    # On the sources' Unix slots, not the supervisor's local clock.
    assert runner.records[0].slot_start_s == math.floor(WALL_S / SLOT_S) * SLOT_S + SLOT_S


def test_the_plan_document_is_small_enough_for_home_assistant(tmp_path):
    cfg = site(tmp_path, cheap_now_dear_later(WALL_S))
    clock, _ = clock_at(WALL_S)
    planner, runner = planner_for(cfg, clock)
    asyncio.run(runner.refresh_prices())
    planner.observe(image_at(clock.now_s()))
    assert asyncio.run(planner.plan_once())
    import json

    doc = plan_document(planner.status.figures)  # type: ignore[arg-type]
    assert 72 <= len(doc["start"]) <= 96
    columns = ("action", "soc_pct", "battery_w", "grid_w", "tank_w", "import_p", "export_p")
    assert all(len(doc[c]) == len(doc["start"]) for c in columns)
    assert doc["action"][0] == "grid_charge"
    assert doc["import_p"][:5] == [2.0, 2.0, 2.0, 2.0, 60.0]
    # As published (compact): well under the 16 kB Home Assistant's recorder keeps.
    assert len(json.dumps(doc, separators=(",", ":"))) < 10_000


def test_no_plan_means_no_saving():
    """The baseline is plain self-consumption: a plan equal to it saves nothing."""
    from edge.planner.model import BatteryModel, Forecast, PlanState

    n = 4
    fc = Forecast(0.0, SLOT_S, (0.0,) * n, (1000.0,) * n, (10.0,) * n, (0.0,) * n)
    inp = PlanInputs(
        fc, (0.2,) * n, (0.05,) * n, PlanState(50.0, 45.0, 20.0), BatteryModel(10000.0, 3000, 3000)
    )
    # 4 half hours of 1 kW from the battery: 2 kWh out of 3 kWh above the reserve.
    bill = self_consumption_bill_gbp(inp)
    e_end = 5000.0 - 2000.0 / 0.95
    value_end = 0.2 * 0.95
    wear = 2.0 * 0.01
    assert bill == pytest.approx(wear - e_end / 1000.0 * value_end, rel=1e-6)


@in_loop
async def test_a_reload_s_settings_apply_from_the_next_plan(tmp_path):
    cfg = site(tmp_path)
    now_cfg = [cfg]
    seen: list[PlanInputs] = []

    def solve(inp: PlanInputs) -> Plan | None:
        seen.append(inp)
        return highs_solve(inp)

    clock, mono = clock_at(WALL_S)
    runner = SourcesRunner(cfg, clock)
    planner = LivePlanner(cfg, clock, runner, solve=solve, settings=lambda: now_cfg[0])
    planner.observe(image_at(clock.now_s()))
    assert await planner.plan_once()
    planner_cfg = cfg.planner.model_copy(update={"wear_p_per_kwh": 3.0})
    now_cfg[0] = cfg.model_copy(update={"planner": planner_cfg})
    mono[0] += 900.0
    assert await planner.plan_once()
    assert [i.battery.wear_gbp_per_kwh for i in seen] == [0.01, 0.03]


@in_loop
async def test_the_next_plan_is_given_the_last_one_slot_by_slot_and_its_basis(tmp_path):
    cfg = site(tmp_path, cheap_now_dear_later(WALL_S))
    seen: list[PlanInputs] = []

    def solve(inp: PlanInputs) -> Plan | None:
        seen.append(inp)
        return highs_solve(inp)

    clock, mono = clock_at(WALL_S)
    planner, runner = planner_for(cfg, clock, solve=solve)
    await runner.refresh_prices()
    planner.observe(image_at(clock.now_s()))
    assert await planner.plan_once()
    first = planner.plan
    assert first is not None and seen[0].previous_battery_w is None
    mono[0] += SLOT_S  # the next half hour: the old plan's slot 1 is the new plan's slot 0
    assert await planner.plan_once()
    previous = seen[1].previous_battery_w
    assert previous is not None
    assert previous[: len(first.battery_w) - 1] == first.battery_w[1:]
    assert seen[1].hysteresis_gbp_per_kwh == pytest.approx(0.005)  # 0.5 p/kWh
    # And its basis, to start from (a warm start): a few iterations, not hundreds.
    assert seen[0].start is None and seen[1].start is first.basis
    second = planner.plan
    assert second is not None and second.iterations < first.iterations / 5


@in_loop
async def test_a_plan_made_part_way_into_a_slot_plans_only_the_part_left(tmp_path):
    cfg = site(tmp_path)
    seen: list[PlanInputs] = []

    def solve(inp: PlanInputs) -> Plan | None:
        seen.append(inp)
        return highs_solve(inp)

    clock, _ = clock_at(WALL_S)  # 10:10 UTC: 20 minutes of the 10:00 slot are left
    planner, _ = planner_for(cfg, clock, solve=solve)
    planner.observe(image_at(clock.now_s()))
    assert await planner.plan_once()
    assert seen[0].forecast.t0_s == math.floor(WALL_S / SLOT_S) * SLOT_S
    assert seen[0].first_slot_s == pytest.approx(20 * 60.0)
