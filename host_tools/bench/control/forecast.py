"""Honest forecasts for the planned controller: nothing here reads the simulated house's
actual trace beyond the present.

PV: a forecast weather. The house's sky is pvlib's clear sky times a seeded cloud process
(edge/sim/pv.py); the forecast takes the same clear sky and, for each half hour, the
weather's mean clear-sky index plus a day-ahead error: a whole-day error (sd
PV_DAY_SD) and a half-hourly AR(1) error (sd PV_SLOT_SD, lag-1 PV_SLOT_RHO), clipped to
0.05..1. These are sized so that the half-hourly forecast's RMSE is about 35 % of the
mean daytime PV, the size day-ahead forecasts of single PV systems reach (Lorenz et al.
2009, "Irradiance forecasting for the power prediction of grid-connected photovoltaic
systems", IEEE J-STARS 2(1): RMSE of 30-40 % of the mean for single sites); the benchmark
prints the figure it realised. The weather comes from its own model instances (the same
parameters and seed), never from the house the controller runs.

Outside temperature: the heat pump's model of the season and the day plus a day-ahead
error with sd 1.5 K a day (the size of published day-ahead 2 m temperature errors over
Europe; an assumption).

Household load: only the house's own past. Per half hour, the mean of the same half hour
on the last LOAD_DAYS days (the same weekday a week ago counts twice), the next slot
blended half and half with the last half hour's measured mean. Before the run, the
house's own seven days before its first day (its load model, days -7..-1) are its past.

Hot water: the draws measured on past days at the same time; before the run, the tank's
schedule (the simulated house draws the same every day).

Oracle (a diagnostic only, seeing the future): the actual PV, load, outside temperature
and draws ahead, from the house's own models (fresh instances with its parameters and
seed). PlannedController(oracle=True) uses it to measure what forecast error costs; the
comparison's "planned" column never does.
"""

from __future__ import annotations

import dataclasses
from collections import deque

import numpy as np

from edge.sim.heatpump import HeatPump, HeatPumpParams
from edge.sim.load import HouseholdLoad
from edge.sim.pv import PvModel
from edge.sim.tank import J_PER_L_K, TAP_DEGC, Tank, TankParams
from host_tools.bench.control.scenarios import Scenario

SLOT_S = 1800
SLOTS_A_DAY = 48
PV_DAY_SD = 0.28
PV_SLOT_SD = 0.16
PV_SLOT_RHO = 0.8
T_OUT_SD_K = 1.5
LOAD_DAYS = 7
FORECAST_SEED = 99


class PvForecast:
    """Half-hourly PV forecast (W) from the forecast weather (module docstring)."""

    def __init__(self, sc: Scenario, seed: int = FORECAST_SEED) -> None:
        p = sc.params
        assert p.pv is not None, "the planned controller needs pvlib PV"
        self.clear = PvModel(dataclasses.replace(p.pv, cloudiness=0.0), p.start_day_of_year, p.seed)
        self.weather = PvModel(p.pv, p.start_day_of_year, p.seed)
        self.seed = seed
        self._days: dict[int, np.ndarray] = {}

    def day(self, d: int) -> np.ndarray:
        """The forecast for day d (since the run's start): 48 half-hourly means, W."""
        if d not in self._days:
            clear = np.asarray(self.clear._compute_day(d)).reshape(SLOTS_A_DAY, SLOT_S)
            k_true = self.weather._clouds(d).reshape(SLOTS_A_DAY, SLOT_S).mean(axis=1)
            rng = np.random.default_rng([self.seed, d + 1000])
            e = np.zeros(SLOTS_A_DAY)
            prev = 0.0
            for i in range(SLOTS_A_DAY):
                prev = PV_SLOT_RHO * prev + rng.normal(
                    0.0, PV_SLOT_SD * np.sqrt(1 - PV_SLOT_RHO**2)
                )
                e[i] = prev
            k = np.clip(k_true + rng.normal(0.0, PV_DAY_SD) + e, 0.05, 1.0)
            self._days[d] = clear.mean(axis=1) * k
        return self._days[d]

    def slots(self, t0_s: float, n: int) -> list[float]:
        k0 = round(t0_s / SLOT_S)
        return [float(self.day((k0 + i) // SLOTS_A_DAY)[(k0 + i) % SLOTS_A_DAY]) for i in range(n)]


class TOutForecast:
    def __init__(self, sc: Scenario, seed: int = FORECAST_SEED) -> None:
        hp = dataclasses.replace(sc.params.heat_pump, day_of_year=sc.params.start_day_of_year)
        self.model = HeatPump(hp, 0.0)
        self.seed = seed
        self._err: dict[int, float] = {}

    def slots(self, t0_s: float, n: int) -> list[float]:
        out = []
        for i in range(n):
            t = t0_s + (i + 0.5) * SLOT_S
            d = int(t // 86400)
            if d not in self._err:
                self._err[d] = float(
                    np.random.default_rng([self.seed, d + 5000]).normal(0, T_OUT_SD_K)
                )
            out.append(self.model.t_out_degc(t) + self._err[d])
        return out


class History:
    """What the site has measured, per half hour: household load (W), hot water drawn
    (Wh of heat at the tap) and the last whole half hour's PV (W, for the nowcast), fed
    one reading a second as the run goes."""

    def __init__(self, sc: Scenario) -> None:
        p = sc.params
        assert p.load is not None, "the planned controller needs richardsonpy load"
        past = HouseholdLoad(p.load, p.start_day_of_year, p.seed)  # the house's own past
        self.load: deque[np.ndarray] = deque(maxlen=LOAD_DAYS + 1)
        for d in range(-LOAD_DAYS, 0):
            day = np.asarray(past._compute_day(d)).reshape(SLOTS_A_DAY, SLOT_S).mean(axis=1)
            self.load.append(day)
        self.draws = deque([_schedule_wh(p.tank)], maxlen=LOAD_DAYS)
        self._today_load = np.full(SLOTS_A_DAY, np.nan)
        self._today_draw = np.zeros(SLOTS_A_DAY)
        self._acc_w = 0.0
        self._acc_pv_w = 0.0
        self._acc_n = 0
        self._slot = 0
        self._day = 0
        self.last_slot_w: float | None = None
        self.last_pv: tuple[int, float] | None = None  # (half hour's index, mean PV W)

    def record(self, t_s: float, load_w: float, draw_wh: float, pv_w: float = 0.0) -> None:
        """One reading at t_s (the present)."""
        day, slot = int(t_s // 86400), int(t_s % 86400) // SLOT_S
        if (day, slot) != (self._day, self._slot):
            self._close()
            if day != self._day:
                self.load.append(
                    np.where(np.isnan(self._today_load), self.profile(), self._today_load)
                )
                self.draws.append(self._today_draw)
                self._today_load = np.full(SLOTS_A_DAY, np.nan)
                self._today_draw = np.zeros(SLOTS_A_DAY)
            self._day, self._slot = day, slot
        self._acc_w += load_w
        self._acc_pv_w += pv_w
        self._acc_n += 1
        self._today_draw[slot] += draw_wh

    def _close(self) -> None:
        if self._acc_n:
            self.last_slot_w = self._acc_w / self._acc_n
            self._today_load[self._slot] = self.last_slot_w
            self.last_pv = (self._day * SLOTS_A_DAY + self._slot, self._acc_pv_w / self._acc_n)
        self._acc_w, self._acc_pv_w, self._acc_n = 0.0, 0.0, 0

    def profile(self) -> np.ndarray:
        """The weighted mean day: the last LOAD_DAYS days, the same weekday twice."""
        days = list(self.load)[-LOAD_DAYS:]
        weights = np.ones(len(days))
        if len(days) == LOAD_DAYS:
            weights[0] = 2.0  # a week ago: the same weekday
        return np.asarray(np.average(np.array(days), axis=0, weights=weights))

    def load_slots(self, t0_s: float, n: int) -> list[float]:
        prof = self.profile()
        k0 = round(t0_s / SLOT_S)
        out = [float(prof[(k0 + i) % SLOTS_A_DAY]) for i in range(n)]
        if self.last_slot_w is not None:
            out[0] = 0.5 * out[0] + 0.5 * self.last_slot_w
        return out

    def draw_slots(self, t0_s: float, n: int) -> list[float]:
        mean = np.mean(np.array(self.draws), axis=0)
        k0 = round(t0_s / SLOT_S)
        return [float(mean[(k0 + i) % SLOTS_A_DAY]) for i in range(n)]


class Oracle:
    """The actual future, per half hour (module docstring): a diagnostic that sees it."""

    def __init__(self, sc: Scenario) -> None:
        p = sc.params
        assert p.pv is not None and p.load is not None, "the oracle needs the house's models"
        self.pv = PvModel(p.pv, p.start_day_of_year, p.seed)
        self.load = HouseholdLoad(p.load, p.start_day_of_year, p.seed)
        self.heat_pump = HeatPump(house_params(sc), 0.0)
        self.draw = _schedule_wh(p.tank)
        self._days: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _day(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        if d not in self._days:
            pv = np.asarray(self.pv._compute_day(d))[: SLOTS_A_DAY * SLOT_S]
            load = np.asarray(self.load._compute_day(d))[: SLOTS_A_DAY * SLOT_S]
            self._days[d] = (
                pv.reshape(SLOTS_A_DAY, SLOT_S).mean(axis=1),
                load.reshape(SLOTS_A_DAY, SLOT_S).mean(axis=1),
            )
        return self._days[d]

    def _series(self, which: int, t0_s: float, n: int) -> list[float]:
        k0 = round(t0_s / SLOT_S)
        return [
            float(self._day((k0 + i) // SLOTS_A_DAY)[which][(k0 + i) % SLOTS_A_DAY])
            for i in range(n)
        ]

    def pv_slots(self, t0_s: float, n: int) -> list[float]:
        return self._series(0, t0_s, n)

    def load_slots(self, t0_s: float, n: int) -> list[float]:
        return self._series(1, t0_s, n)

    def t_out_slots(self, t0_s: float, n: int) -> list[float]:
        return [self.heat_pump.t_out_degc(t0_s + (i + 0.5) * SLOT_S) for i in range(n)]

    def draw_slots(self, t0_s: float, n: int) -> list[float]:
        k0 = round(t0_s / SLOT_S)
        return [float(self.draw[(k0 + i) % SLOTS_A_DAY]) for i in range(n)]


def _schedule_wh(tank: TankParams) -> np.ndarray:
    """The tank's daily draws as heat per half hour (Wh at the tap's 40 degC)."""
    t = Tank(tank)
    out = np.zeros(SLOTS_A_DAY)
    for s in range(0, 86400, 10):
        litres = t.draw_l_per_s(float(s)) * 10.0
        out[s // SLOT_S] += litres * J_PER_L_K * (TAP_DEGC - tank.cold_water_degc) / 3600.0
    return out


def draw_wh_now(tank: Tank, t_s: float, dt_s: float = 1.0) -> float:
    """The hot water drawn in this second, as a flow meter would see it (Wh of heat)."""
    litres = tank.draw_l_per_s(t_s) * dt_s
    return litres * J_PER_L_K * (TAP_DEGC - tank.p.cold_water_degc) / 3600.0


def house_params(sc: Scenario) -> HeatPumpParams:
    return dataclasses.replace(sc.params.heat_pump, day_of_year=sc.params.start_day_of_year)


def pv_rmse_pct(sc: Scenario, days: int) -> float:
    """The PV forecast's half-hourly RMSE over `days`, in % of the mean daytime PV, against
    the weather's own PV (the forecast's error statistics, checked without a run)."""
    fc = PvForecast(sc)
    err, total, n = 0.0, 0.0, 0
    for d in range(days):
        actual = np.asarray(fc.weather._compute_day(d)).reshape(SLOTS_A_DAY, SLOT_S).mean(axis=1)
        f = fc.day(d)
        day = (actual > 10.0) | (f > 10.0)
        err += float(((f - actual)[day] ** 2).sum())
        total += float(actual[day].sum())
        n += int(day.sum())
    return 100.0 * float(np.sqrt(err / n)) / (total / n) if n else 0.0
