"""The planner in the live supervisor: a task that re-plans against the sources (prices,
PV and load forecasts, edge/sources/) and hands the slot in force to the supervisor's
process image, where the core applies it (edge/core/planned.py).

A re-plan is due every `planner.replan_s`, when a price or forecast update arrives, and
when the SOC leaves the plan's band (actions.off_plan). The solve runs in a worker thread
(asyncio.to_thread), so the tick never waits for it, under SOLVE_LIMIT_S. A plan that
fails validation (actions.problems) is discarded; a solver error, a plan not found in the
time limit or inputs the model refuses keep the plan before (until it is older than
`planner.plan_max_age_s`, when the core falls back to self-consumption and says so).
Each problem is logged once, when it starts.

Clocks: the sources' series and the plan are on Unix seconds (UTC, `clock.wall_s`); the
supervisor's image is on its own clock (`clock.now_s`: local time since the epoch on the
monotonic clock, edge/clock.py). `image_offset_s` is the one place they meet: each plan's
slots are moved onto the supervisor's clock by the offset read when the plan is made.

The heat pump is planned where the site file describes the house (planner.house, with
loads.heat_pump) and the sources have its indoor temperature (sources.indoor_temp_topic)
and an outside temperature forecast; without either, the plan leaves it to its own
thermostat (house=None) and the status's problem says why, logged once (docs/planner.md,
"The house").
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from edge.config import EdgeConfig
from edge.core.model import PlannedSlot, ProcessImage
from edge.errors import clip
from edge.planner.actions import HeatPumpBands, off_plan, problems, slots
from edge.planner.model import (
    Forecast,
    HouseModel,
    Plan,
    PlanInputs,
    PlanState,
)
from edge.planner.model import solve as highs_solve
from edge.planner.prices import tariff_of
from edge.planner.site import bands_of, battery_of, house_of, tank_of
from edge.planner.status import PlanFigures, PlanStatus, plan_document
from edge.planner.tariffs import SLOT_S, SlotSeries, Tariff
from edge.sources.runner import SourcesRunner, SourcesSnapshot, household_w
from edge.sources.series import window

log = logging.getLogger("edge.planner")

SOLVE_LIMIT_S = 2.0  # HiGHS's time limit (a 96-slot plan takes ~20 ms here)
CHECK_S = 30.0  # how often (clock s) the task looks for updates and leaving the band
OFF_PLAN_BAND_PCT = 10.0
HORIZON_MAX_S = 48 * 3600.0
TANK_START_DEGC = 45.0  # without a probe
HOUSE_DEGC = 20.0  # without a reading (the model has no heat pump then)
HP_RUNNING_W = 100.0  # the heat pump draws more than this: it is running
T_OUT_DEGC = 10.0  # without a weather forecast (the model has no heat pump here)
MAX_PROBLEM_CHARS = 200


class PlannerClock(Protocol):
    def now_s(self) -> float: ...

    def wall_s(self) -> float: ...

    async def sleep(self, dt_s: float) -> None: ...


def image_offset_s(clock: PlannerClock) -> float:
    """The supervisor's clock less Unix time: image t_s = unix_s + this."""
    return clock.now_s() - clock.wall_s()


def on_image_clock(slot: PlannedSlot, offset_s: float, made_s: float) -> PlannedSlot:
    """A slot of a plan (Unix seconds) on the supervisor's clock, made at made_s (on it)."""
    return dataclasses.replace(
        slot, start_s=slot.start_s + offset_s, end_s=slot.end_s + offset_s, made_s=made_s
    )


def with_sources(tariff: Tariff, snap: SourcesSnapshot) -> Tariff:
    """The tariff with the sources' half-hourly prices where they have them."""
    imp, exp = snap.import_prices, snap.export_prices
    return dataclasses.replace(
        tariff,
        import_rates=dataclasses.replace(
            tariff.import_rates,
            series=SlotSeries(imp.t0_s, imp.slot_s, imp.prices_gbp_per_kwh)
            if imp is not None
            else tariff.import_rates.series,
        ),
        export_rates=dataclasses.replace(
            tariff.export_rates,
            series=SlotSeries(exp.t0_s, exp.slot_s, exp.prices_gbp_per_kwh)
            if exp is not None
            else tariff.export_rates.series,
        ),
    )


def horizon_slots(cfg: EdgeConfig, tariff: Tariff, t0_s: float) -> int:
    """planner.horizon_h, or up to 48 h where the prices are known that far."""
    want_s = cfg.planner.horizon_h * 3600.0
    known_s = min(tariff.known_until_s(), t0_s + HORIZON_MAX_S) - t0_s
    return max(1, int(max(want_s, known_s) // SLOT_S))


def plan_inputs(
    cfg: EdgeConfig,
    tariff: Tariff,
    snap: SourcesSnapshot,
    t0_s: float,
    n: int,
    state: PlanState,
    previous: Plan | None,
    now_s: float | None = None,
    house: HouseModel | None = None,
) -> PlanInputs:
    """The model's inputs from the sources' snapshot (Unix seconds throughout). now_s:
    when the plan is made; a plan made part-way into the slot at t0_s plans only the part
    of it left (model.PlanInputs.first_slot_s). house: the heat pump's house, planned
    from state.house_degc (None: the heat pump is left to its thermostat)."""
    imp, exp = tariff.prices(t0_s, n, SLOT_S)
    pv = window(snap.pv.t0_s, snap.pv.slot_s, snap.pv.power_w, t0_s, n, 0.0) if snap.pv else None
    load = snap.load
    fallback = sum(load.power_w) / len(load.power_w) if load.power_w else 0.0
    t_out = snap.t_out
    draws = snap.hot_water_wh
    fc = Forecast(
        t0_s,
        SLOT_S,
        pv if pv is not None else (0.0,) * n,
        window(load.t0_s, load.slot_s, load.power_w, t0_s, n, fallback),
        window(t_out.t0_s, t_out.slot_s, t_out.t_out_degc, t0_s, n, T_OUT_DEGC)
        if t_out is not None
        else (T_OUT_DEGC,) * n,
        window(load.t0_s, load.slot_s, draws, t0_s, n, 0.0)
        if len(draws) == len(load.power_w)
        else (0.0,) * n,
    )
    prev: tuple[float | None, ...] | None = None
    if previous is not None:
        k = round((t0_s - previous.t0_s) / SLOT_S)
        old = previous.battery_w
        prev = tuple(old[k + i] if 0 <= k + i < len(old) else None for i in range(n))
    return PlanInputs(
        fc,
        tuple(imp),
        tuple(exp),
        state,
        battery_of(cfg),
        tank_of(cfg),
        house,
        previous_battery_w=prev,
        hysteresis_gbp_per_kwh=cfg.planner.hysteresis_p_per_kwh / 100.0,
        time_limit_s=SOLVE_LIMIT_S,
        first_slot_s=None if now_s is None else t0_s + SLOT_S - now_s,
        start=previous.basis if previous is not None else None,
    )


def self_consumption_bill_gbp(inp: PlanInputs) -> float:
    """The bill of plain self-consumption on the same forecast and prices, less the
    battery's energy left at the end at the model's terminal value (what `saving` is
    measured against): the battery takes the surplus and covers the deficit within its
    limits, between the reserve and the maximum SOC; the tank is left out."""
    bat, fc = inp.battery, inp.forecast
    h = fc.slot_s / 3600.0
    e = max(0.0, min(100.0, inp.state.soc_pct)) / 100.0 * bat.capacity_wh
    lo = bat.reserve_soc_pct / 100.0 * bat.capacity_wh
    hi = bat.max_soc_pct / 100.0 * bat.capacity_wh
    bill = 0.0
    for i in range(fc.n):
        net_w = fc.load_w[i] - fc.pv_w[i]  # + = deficit
        if net_w > 0:
            dis = min(net_w, bat.max_discharge_w, max(0.0, e - lo) * bat.efficiency / h)
            e -= dis * h / bat.efficiency
            grid = net_w - dis
        else:
            ch = min(-net_w, bat.max_charge_w, max(0.0, hi - e) / bat.efficiency / h)
            e += ch * h * bat.efficiency
            grid = net_w + ch
        price = inp.import_gbp_per_kwh[i] if grid > 0 else inp.export_gbp_per_kwh[i]
        bill += grid * h / 1000.0 * price + (abs(net_w - grid)) * h / 1000.0 * bat.wear_gbp_per_kwh
    value_end = (
        inp.terminal_gbp_per_kwh
        if inp.terminal_gbp_per_kwh is not None
        else sum(inp.import_gbp_per_kwh) / max(1, fc.n) * bat.efficiency
    )
    return bill - e / 1000.0 * value_end


def plan_bill_gbp(plan: Plan, inp: PlanInputs, start_s: float, end_s: float) -> float:
    """The plan's bill (import less export) over the slots starting in [start_s, end_s)."""
    h = plan.slot_s / 3600.0
    total = 0.0
    for i, g in enumerate(plan.grid_w):
        if start_s <= plan.t0_s + i * plan.slot_s < end_s:
            price = inp.import_gbp_per_kwh[i] if g > 0 else inp.export_gbp_per_kwh[i]
            total += g * h / 1000.0 * price
    return total


def figures(
    plan: Plan,
    inp: PlanInputs,
    made_s: float,
    made_utc_s: float,
    offset_s: float,
    utc_off_s: float,
    bands: HeatPumpBands | None = None,
) -> PlanFigures:
    """What the status shows of a plan kept: its slots on the supervisor's clock (offset_s)
    and its bills; the site's days are local (utc_off_s ahead of UTC). bands: the heat
    pump's, where the plan has the house (the slots then carry its SG-Ready requests)."""
    plan_slots = slots(plan, bands if inp.house is not None else None, inp.import_gbp_per_kwh)
    midnight = (math.floor((made_utc_s + utc_off_s) / 86400.0) + 1) * 86400.0 - utc_off_s
    tomorrow = (
        plan_bill_gbp(plan, inp, midnight, midnight + 86400.0)
        if plan.end_s >= midnight + 86400.0
        else None
    )
    bat = inp.battery
    value_end = (
        inp.terminal_gbp_per_kwh
        if inp.terminal_gbp_per_kwh is not None
        else sum(inp.import_gbp_per_kwh) / max(1, len(inp.import_gbp_per_kwh)) * bat.efficiency
    )
    h = plan.slot_s / 3600.0
    wear = sum(plan.charge_w) + sum(plan.discharge_w)
    planned = (
        plan.bill_gbp
        + wear * h / 1000.0 * bat.wear_gbp_per_kwh
        - plan.soc_pct[-1] / 100.0 * bat.capacity_wh / 1000.0 * value_end
    )
    return PlanFigures(
        made_s=made_s,
        made_utc_s=made_utc_s,
        slots=tuple(on_image_clock(s, offset_s, made_s) for s in plan_slots),
        slots_utc_s=tuple(s.start_s for s in plan_slots),
        soc_pct=plan.soc_pct,
        battery_w=plan.battery_w,
        grid_w=plan.grid_w,
        tank_w=plan.tank_w,
        import_p_per_kwh=tuple(100.0 * p for p in inp.import_gbp_per_kwh),
        export_p_per_kwh=tuple(100.0 * p for p in inp.export_gbp_per_kwh),
        cost_today_gbp=plan_bill_gbp(plan, inp, made_utc_s - plan.slot_s, midnight),
        cost_tomorrow_gbp=tomorrow,
        saving_gbp=self_consumption_bill_gbp(inp) - planned,
        solve_ms=1000.0 * plan.solve_s,
        hp_w=plan.hp_w if inp.house is not None else (),
        house_degc=plan.house_degc if inp.house is not None else (),
    )


class LivePlanner:
    """The planner task of a live supervisor. The supervisor calls slot(now) before each
    decision and observe(image) after it; run() is the task. solve: the model's solve
    (a test may wrap it); local_offset_s: the site's UTC offset at a Unix time;
    settings: the settings in force (the supervisor's, after a reload)."""

    def __init__(
        self,
        cfg: EdgeConfig,
        clock: PlannerClock,
        runner: SourcesRunner,
        status: PlanStatus | None = None,
        publish: Callable[[dict[str, Any]], None] | None = None,
        solve: Callable[[PlanInputs], Plan | None] = highs_solve,
        local_offset_s: Callable[[float], float] | None = None,
        settings: Callable[[], EdgeConfig] | None = None,
    ) -> None:
        self._cfg = cfg
        self._settings = settings  # the settings in force (a reload changes them)
        self.clock = clock
        self.runner = runner
        self.status = status if status is not None else PlanStatus()
        self.publish = publish
        self._solve = solve
        self._local_offset_s = local_offset_s or (lambda unix_s: time.localtime(unix_s).tm_gmtoff)
        self.plan: Plan | None = None
        self._plan_start: tuple[float, float] | None = None  # made (Unix s), its SOC (%)
        self._image: ProcessImage | None = None
        self._off_plan = False
        # The [tariff] files' last good series.
        self._last_import: SlotSeries | None = None
        self._last_export: SlotSeries | None = None
        self._tariff_problems: tuple[str, ...] = ()
        self._failing = False  # the last plan failed (said once, in _problem)
        self._house_why: str | None = None  # why the heat pump is not planned (said once)

    @property
    def cfg(self) -> EdgeConfig:
        """The site's settings now: a reload's planner.replan_s, wear and hysteresis
        apply from the next plan."""
        return self._settings() if self._settings is not None else self._cfg

    def slot(self, now_s: float) -> PlannedSlot | None:
        """The slot in force at now_s (the supervisor's clock), for the process image."""
        return self.status.current(now_s)

    def observe(self, image: ProcessImage) -> None:
        """After each tick: the powers into the sources' history, and whether the SOC has
        left the plan's band. Never raises: the tick goes on whatever happens here."""
        try:
            self._image = image
            powers = household_w(image)
            if powers is not None:
                self.runner.record(*powers)
            if self.plan is not None and image.inverter is not None:
                unix_s = image.t_s - image_offset_s(self.clock)
                soc = image.inverter.value.battery_soc_pct
                self._off_plan = off_plan(
                    self.plan, unix_s, soc, OFF_PLAN_BAND_PCT, self._plan_start
                )
        except Exception as exc:  # reported once; control goes on
            self._problem(f"planner: recording the tick failed: {type(exc).__name__}: {exc}")

    def _problem(self, why: str | None) -> None:
        why = clip(why, MAX_PROBLEM_CHARS) if why is not None else None
        if why == self.status.problem:
            return
        self._failing = why is not None
        if why is None:
            log.info("planner: planning again")
        else:
            fallback = "keeping the plan before" if self.plan is not None else "no plan"
            log.warning("%s; %s (the core falls back to self-consumption)", why, fallback)
        self.status.problem = why

    def _house_note(self, why: str | None) -> None:
        """Why the heat pump is left out of the plans (None: it is planned), logged once
        when it changes."""
        if why == self._house_why:
            return
        if why is None:
            log.info("planner: the heat pump is in the plan now")
        else:
            log.warning("%s; the plan leaves the heat pump to its own thermostat", why)
        self._house_why = why

    def house_now(self, snap: SourcesSnapshot) -> tuple[HouseModel | None, str | None]:
        """The house to plan (or None) and, where the site describes one, why it is left
        out: no indoor temperature (never heard, or stale) or no outside forecast."""
        house = house_of(self.cfg)
        if house is None:
            if self.cfg.planner.house.enabled:  # described, but no heat pump to plan
                return None, "heat pump not planned: loads.heat_pump.enabled is false"
            return None, None
        src = self.cfg.sources
        if src.indoor_temp_topic is None:
            return None, "heat pump not planned: sources.indoor_temp_topic is not set"
        if snap.indoor_degc is None:
            feed = self.runner.indoor
            age = feed.age_s(self.clock.now_s())
            if feed.problem is not None:
                return None, f"heat pump not planned: {feed.problem}"
            if age is None:
                topic = src.indoor_temp_topic
                return None, f"heat pump not planned: no indoor temperature yet on {topic}"
            return None, (
                f"heat pump not planned: the indoor temperature is {age / 60:.0f} min old"
                f" (over sources.indoor_temp_stale_after_s = {src.indoor_temp_stale_after_s:g})"
            )
        if snap.t_out is None:
            return None, "heat pump not planned: no outside temperature forecast (sources.pv)"
        return house, None

    def _updates(self) -> tuple[float | bool | None, ...]:
        """What a re-plan is due on when it changes: new prices, PV or weather, and the
        indoor temperature coming or going stale (not each new reading: the house
        changes slowly, and a plan made from it is re-made every planner.replan_s)."""
        r = self.runner
        indoor = r.indoor.fresh(self.clock.now_s()) is not None
        return (r.prices.got_s, r.pv.got_s, r.t_out.got_s, indoor)

    async def run(self) -> None:
        """Re-plan on every reason until cancelled; nothing a plan does ends the task."""
        while self._image is None:  # the first tick: the SOC to plan from
            await self.clock.sleep(1.0)
        while True:
            seen, made_s = self._updates(), self.clock.now_s()
            await self.plan_once()
            while True:
                await self.clock.sleep(min(CHECK_S, self.cfg.planner.replan_s))
                if self.clock.now_s() - made_s >= self.cfg.planner.replan_s:
                    break
                if self._updates() != seen or self._off_plan:
                    break

    async def plan_once(self) -> bool:
        """One re-plan; True when a new plan was kept."""
        image = self._image
        if image is None or image.inverter is None:
            return False
        offset_s, wall_s = image_offset_s(self.clock), self.clock.wall_s()
        made_s = wall_s + offset_s
        t0 = math.floor(wall_s / SLOT_S) * SLOT_S
        utc_off = float(self._local_offset_s(wall_s))
        try:
            tariff, why = await asyncio.to_thread(
                tariff_of, self.cfg.tariff, utc_off, self._last_import, self._last_export
            )
            if tuple(why) != self._tariff_problems:
                for w in why:
                    log.warning("planner: tariff: %s", w)
                self._tariff_problems = tuple(why)
            self._last_import = tariff.import_rates.series
            self._last_export = tariff.export_rates.series
            live_load = household_w(image)
            snap = self.runner.snapshot(
                round(HORIZON_MAX_S / SLOT_S), live_load[0] if live_load else None
            )
            tariff = with_sources(tariff, snap)
            n = horizon_slots(self.cfg, tariff, t0)
            loads = image.loads.value if image.loads is not None else None
            house, house_why = self.house_now(snap)
            state = PlanState(
                soc_pct=image.inverter.value.battery_soc_pct,
                tank_degc=loads.tank_temp_degc
                if loads is not None and loads.tank_temp_degc is not None
                else TANK_START_DEGC,
                house_degc=snap.indoor_degc
                if house is not None and snap.indoor_degc is not None
                else HOUSE_DEGC,
                hp_running=loads is not None and loads.heat_pump_w > HP_RUNNING_W,
            )
            inp = plan_inputs(self.cfg, tariff, snap, t0, n, state, self.plan, wall_s, house)
            plan = await asyncio.to_thread(self._solve, inp)
        except Exception as exc:
            self._problem(f"planner: no plan: {type(exc).__name__}: {exc}")
            return False
        if plan is None:
            self._problem(f"planner: HiGHS found no plan in {SOLVE_LIMIT_S:g} s")
            return False
        bad = problems(plan, inp)
        if bad:
            self.status.plans_discarded += 1
            self._problem("planner: plan discarded: " + "; ".join(bad))
            return False
        self.plan = plan
        self._plan_start = (wall_s, state.soc_pct)
        self.status.figures = figures(
            plan, inp, made_s, wall_s, offset_s, utc_off, bands_of(self.cfg)
        )
        self.status.plans_made += 1
        self._off_plan = False
        if self._failing:
            log.info("planner: planning again")
            self._failing = False
        self._house_note(house_why)
        self.status.problem = clip(house_why, MAX_PROBLEM_CHARS) if house_why else None
        if self.publish is not None:
            try:
                self.publish(plan_document(self.status.figures))
            except Exception as exc:
                log.warning("planner: the plan was not published: %s", exc)
        return True
