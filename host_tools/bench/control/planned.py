"""The planned controller: our core with edge.planner above it, re-planning every REPLAN_S
and as soon as the SOC leaves the plan's band (actions.off_plan, as the live planner
does), on honest forecasts (forecast.py) and the tariff's prices as they are published,
never the actual trace ahead of the present.

Each re-plan: the horizon is 48 h where the prices are known that far (fixed tariffs),
else at least 36 h, with the slots past the published prices priced at the same half
hour's mean over the last 7 days (Agile's next-day prices are published at 16:00, so at
10:00 they are known only to midnight). The state is what the site measures now: the
SOC, the tank's and the house's temperatures. The PV forecast's next slots are pulled
toward the last whole half hour's measured PV as the live planner's are
(edge.sources.calibration.nowcast). A plan that fails validation is dropped
(the core falls back to self-consumption and says so); the new plan keeps the previous
one's battery power per slot unless it gains more than the hysteresis.

oracle=True is a diagnostic that sees the future (forecast.Oracle: the actual PV, load,
outside temperature and draws ahead), to measure what the forecasts' errors cost
(gap.py). The comparison never builds it: its "planned" column is the default.
"""

from __future__ import annotations

import dataclasses
import math
import resource
import time
from dataclasses import dataclass, field

import numpy as np

from edge.config import PlannerConfig, SourcesConfig
from edge.core import PlannedSlot
from edge.planner.actions import HeatPumpBands, off_plan, problems, slot_at, slots
from edge.planner.model import (
    BatteryModel,
    Forecast,
    HouseModel,
    Plan,
    PlanInputs,
    PlanState,
    TankModel,
    solve,
)
from edge.sim.house import House
from edge.sim.tank import Tank
from edge.sources.calibration import Nowcast, nowcast, nowcast_ratio
from host_tools.bench.control import metrics as m
from host_tools.bench.control import prices
from host_tools.bench.control.forecast import (
    SLOT_S,
    History,
    Oracle,
    PvForecast,
    TOutForecast,
    draw_wh_now,
    house_params,
)
from host_tools.bench.control.scenarios import Scenario, bench_config

HORIZON_MIN_S = 36 * 3600.0
HORIZON_MAX_S = 48 * 3600.0
AGILE_PUBLISHED_H = 16.0  # the next day's prices are out by then
REPLAN_S = PlannerConfig().replan_s  # the product's default, 15 minutes
TANK_SHORT_GBP_PER_KWH = 0.001  # a draw the tank cannot give: the boiler's (below)


def known_until_s(tariff: str, t_s: float) -> float:
    """Until when the tariff's prices are published at t_s."""
    if prices.base_name(tariff) != "agile":
        return math.inf
    day = math.floor(t_s / 86400.0)
    published = (t_s % 86400.0) / 3600.0 >= AGILE_PUBLISHED_H
    return (day + (2 if published else 1)) * 86400.0


def price_slots(tariff: str, t0_s: float, n: int, now_s: float) -> tuple[list[float], list[float]]:
    """Import and export prices for n slots from t0_s as known at now_s: published prices,
    and past that the same half hour's mean over the last 7 days."""
    t = t0_s + (np.arange(n) + 0.5) * SLOT_S
    imp, exp = m.import_price(tariff, t), m.export_price(tariff, t)
    known = known_until_s(tariff, now_s)
    for i in np.nonzero(t >= known)[0]:
        back = t[i] - 86400.0 * np.ceil((t[i] - known) / 86400.0 + 1e-9)
        past = back - 86400.0 * np.arange(7)
        imp[i] = m.import_price(tariff, past).mean()
        exp[i] = m.export_price(tariff, past).mean()
    return imp.tolist(), exp.tolist()


@dataclass
class PlannerStats:
    solve_ms: list[float] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    failed: int = 0
    pv_sq_err: float = 0.0  # the PV forecast's errors, for the RMSE it realised
    pv_sum: float = 0.0
    pv_n: int = 0

    def summary(self) -> dict[str, float | int]:
        ms = np.array(self.solve_ms) if self.solve_ms else np.zeros(1)
        rmse = math.sqrt(self.pv_sq_err / self.pv_n) if self.pv_n else 0.0
        mean = self.pv_sum / self.pv_n if self.pv_n else 0.0
        return {
            "plans": len(self.solve_ms),
            "solve_ms_median": round(float(np.median(ms)), 2),
            "solve_ms_p95": round(float(np.percentile(ms, 95)), 2),
            "solve_ms_max": round(float(ms.max()), 2),
            "slots_median": int(np.median(self.slots)) if self.slots else 0,
            "plans_dropped": len(self.dropped),
            "solver_failed": self.failed,
            "pv_forecast_rmse_pct_of_mean": round(100.0 * rmse / mean, 1) if mean else 0.0,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        }


class PlannedController:
    """Called every tick with the house: records what the site measures now, re-plans
    every REPLAN_S and when the SOC leaves the plan's band, and returns the slot in
    force."""

    def __init__(
        self, sc: Scenario, tariff: str, keep_inputs: bool = False, oracle: bool = False
    ) -> None:
        self.sc, self.tariff = sc, tariff
        self.oracle = Oracle(sc) if oracle else None  # sees the future: diagnostics only
        cfg = bench_config()
        pc = PlannerConfig()
        p = sc.params
        self.battery = BatteryModel(
            capacity_wh=p.pack.modules * p.pack.module_ah * 48.0,
            max_charge_w=float(cfg.inverter.max_charge_w),
            max_discharge_w=float(cfg.inverter.max_discharge_w),
            efficiency=0.95,
            reserve_soc_pct=cfg.battery.reserve_soc_pct,
            max_soc_pct=cfg.battery.max_soc_pct,
            wear_gbp_per_kwh=pc.wear_p_per_kwh / 100.0,
        )
        t = p.tank
        self.tank = TankModel(
            volume_l=t.volume_l,
            element_w=t.element_w,
            max_degc=min(t.thermostat_degc, cfg.loads.diverter.tank_max_degc),
            cold_water_degc=t.cold_water_degc,
            ambient_degc=t.ambient_degc,
            loss_w_per_k=t.loss_w_per_k,
            heat_value_gbp_per_kwh=m.TANK_HEAT_VALUE,
            # Every kWh into the tank is already credited at the gas it saves (as the
            # objective does); charging a draw the tank cannot give at the gas price as
            # well counted the gas twice, and the plan heated the tank from the grid at
            # up to 13 p (Agile nights). A token cost keeps the draws coming out of
            # the tank first.
            short_gbp_per_kwh=TANK_SHORT_GBP_PER_KWH,
        )
        hp = house_params(sc)
        self.house = HouseModel(
            heat_w=hp.heat_w,
            c_j_per_k=hp.house_c_j_per_k,
            ua_w_per_k=hp.house_ua_w_per_k,
            internal_gain_w=hp.internal_gain_w,
            floor_degc=hp.setpoint_degc - hp.hysteresis_k,  # where NORMAL starts it
            ceiling_degc=hp.setpoint_degc + hp.force_limit_k,
            min_on_s=hp.min_on_s,
            comfort_gbp_per_kh=m.HOUSE_COLD_COST,
        )
        self.bands = HeatPumpBands.of(hp.setpoint_degc, hp.hysteresis_k, hp.recommend_boost_k)
        self.hysteresis = pc.hysteresis_p_per_kwh / 100.0
        self.pv = PvForecast(sc)
        self.nowcast = Nowcast(blend_s=SourcesConfig().pv_nowcast_s)  # the product's default
        self.peak_w = p.pv.kwp * 1000.0 if p.pv is not None else math.inf
        self.t_out = TOutForecast(sc)
        self.history = History(sc)
        # The hot water meter: the tank's draws are a schedule (a function of the time).
        self._meter = Tank(p.tank)
        self.stats = PlannerStats()
        self.plan: Plan | None = None
        self.slots: tuple[PlannedSlot, ...] = ()
        self.next_plan_s = -math.inf
        self.keep_inputs = keep_inputs
        self.inputs: list[PlanInputs] = []
        self._pv_fc: dict[int, float] = {}
        self._pv_acc = [0.0, 0]
        self._start: tuple[float, float] | None = None  # the plan in force: made, SOC

    def __call__(self, house: House) -> PlannedSlot | None:
        s = house.state
        if self.observe(s.t_s, s.load_w, s.pv_w, s.soc_pct):
            self.replan_due(house)
        return self.slot(s.t_s)

    # closed_loop.run's cheaper protocol, the same steps as __call__: observe() every tick
    # with what the site meters now; only when it says a re-plan is due is the whole house
    # brought up to date for replan_due(); then slot().

    def observe(self, t_s: float, load_w: float, pv_w: float, soc_pct: float) -> bool:
        """Record what the meters read at t_s; True if a re-plan is due."""
        self.history.record(t_s, load_w, draw_wh_now(self._meter, t_s), pv_w)
        self._score_pv(t_s, pv_w)
        due = t_s >= self.next_plan_s
        if not due and self.plan is not None and int(t_s) % 60 == 0:  # as the live one checks
            due = off_plan(self.plan, t_s, soc_pct, start=self._start)
        return due

    def replan_due(self, house: House) -> None:
        t = house.state.t_s
        self.replan(house, t)
        self.next_plan_s = math.floor(t / REPLAN_S) * REPLAN_S + REPLAN_S

    def slot(self, t_s: float) -> PlannedSlot | None:
        """The slot in force at t_s."""
        return slot_at(self.slots, t_s)

    def _score_pv(self, t: float, pv_w: float) -> None:
        """The PV forecast's error per half hour, against what was measured (for the
        report only; the planner never sees it)."""
        k = int(t // SLOT_S)
        acc = self._pv_acc
        acc[0] += pv_w
        acc[1] += 1
        if int((t + 1) // SLOT_S) != k and k in self._pv_fc:
            actual = acc[0] / acc[1]
            if actual > 10.0 or self._pv_fc[k] > 10.0:
                self.stats.pv_sq_err += (self._pv_fc[k] - actual) ** 2
                self.stats.pv_sum += actual
                self.stats.pv_n += 1
            acc[0], acc[1] = 0.0, 0

    def inputs_at(self, house: House, t_s: float) -> PlanInputs:
        """What the planner is given at t_s: forecasts, published prices, measured state."""
        t0 = math.floor(t_s / SLOT_S) * SLOT_S
        known = known_until_s(self.tariff, t_s)
        span = min(HORIZON_MAX_S, max(HORIZON_MIN_S, known - t0))
        n = int(span // SLOT_S)
        imp, exp = price_slots(self.tariff, t0, n, t_s)
        if self.oracle is not None:  # the actual future: a diagnostic, never the comparison
            o = self.oracle
            pv = o.pv_slots(t0, n)
            load, t_out, draw = o.load_slots(t0, n), o.t_out_slots(t0, n), o.draw_slots(t0, n)
        else:
            pv = self._nowcast(self.pv.slots(t0, n), t0, t_s)
            load = self.history.load_slots(t0, n)
            t_out, draw = self.t_out.slots(t0, n), self.history.draw_slots(t0, n)
        for i, w in enumerate(pv):
            self._pv_fc.setdefault(round(t0 / SLOT_S) + i, w)
        fc = Forecast(t0, float(SLOT_S), tuple(pv), tuple(load), tuple(t_out), tuple(draw))
        state = PlanState(
            soc_pct=house.state.soc_pct,
            tank_degc=house.tank.temp_degc,
            house_degc=house.heat_pump.t_in_degc,
            hp_running=house.heat_pump.running,
        )
        previous = None
        if self.plan is not None:
            k = round((t0 - self.plan.t0_s) / SLOT_S)
            old = self.plan.battery_w
            previous = tuple(old[k + i] if 0 <= k + i < len(old) else None for i in range(n))
        return PlanInputs(
            fc,
            tuple(imp),
            tuple(exp),
            state,
            self.battery,
            self.tank,
            self.house,
            previous_battery_w=previous,
            hysteresis_gbp_per_kwh=self.hysteresis,
            first_slot_s=t0 + SLOT_S - t_s,  # a plan made mid-slot plans the part left
            start=self.plan.basis if self.plan is not None else None,  # a warm start
        )

    def _nowcast(self, pv: list[float], t0: float, t_s: float) -> list[float]:
        """The forecast's slots from t0 pulled toward the last whole half hour measured
        (the one before t0's; none at the run's start or after a gap)."""
        last = self.history.last_pv
        if last is None or last[0] != round(t0 / SLOT_S) - 1:
            return pv
        forecast_w = self.pv.slots(last[0] * SLOT_S, 1)[0]
        ratio = nowcast_ratio(last[1] * SLOT_S / 3600.0, forecast_w * SLOT_S / 3600.0)
        return list(nowcast(pv, t0, SLOT_S, t_s, ratio, self.peak_w, self.nowcast))

    def replan(self, house: House, t_s: float) -> None:
        inp = self.inputs_at(house, t_s)
        if self.keep_inputs:
            self.inputs.append(inp)
        start = time.perf_counter()
        plan = solve(inp)
        self.stats.solve_ms.append(1000.0 * (time.perf_counter() - start))
        self.stats.slots.append(inp.forecast.n)
        if plan is None:
            self.stats.failed += 1
            return  # the last plan goes on until it is stale
        why = problems(plan, inp)
        if why:
            self.stats.dropped.append("; ".join(why))
            return
        self.plan = dataclasses.replace(plan)
        self._start = (t_s, house.state.soc_pct)
        self.slots = tuple(
            dataclasses.replace(s, made_s=t_s)
            for s in slots(plan, self.bands, inp.import_gbp_per_kwh)
        )
