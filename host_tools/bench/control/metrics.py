"""Metrics of one run (loads-baseline-s2.md §5.5), from its 1 s trace.

Signs as everywhere: grid + = import, battery + = discharge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.sim.battery import PackParams
from edge.sim.heatpump import HeatPumpParams
from edge.sim.house import FED_EPS_W
from host_tools.bench.control import prices
from host_tools.bench.control.scenarios import Trace

# Tariffs (£/kWh): prices.py. Export pays less than the gas a diverted kWh saves (6 p/kWh
# gas at 90 % boiler efficiency), so heating water with surplus beats exporting it.
TANK_HEAT_VALUE = 0.06 / 0.9  # £ per kWh into the tank: the gas it displaces
# The house the heat pump heats: every controller's objective (and the optimum's) pays
# for time below the heat pump's own lower switching point, and for the house's heat at
# the end against its start (assumptions): heat missing costs the electricity to put it
# back at a COP of 3; heat to spare is worth no more than the export it could have been
# at the best COP (5), so storing summer surplus in a warm house earns nothing over
# exporting it.
HOUSE = HeatPumpParams()
HOUSE_FLOOR_DEGC = HOUSE.setpoint_degc - HOUSE.hysteresis_k
HOUSE_COLD_COST = 0.50  # £ per K·h below the floor: far above the ~2 p heating it costs
HOUSE_HEAT_COP = 3.0
HOUSE_SURPLUS_COP = 5.0
# What the JSON holds for every scenario and controller, at least.
REQUIRED = (
    "leak_wh",
    "flip_export_wh",
    "self_consumption_pct",
    "import_kwh",
    "export_kwh",
    "cost_flat",
    "cost_e7",
)
LOAD_STEP_W = 500.0  # a household load change this large starts a flip window
DEAD_TIME_S, RAMP_W_PER_S = 5.0, 1000.0  # the inverter's τ_b and r_b (§5.6 defaults)
# Above this SOC the pack's BMS tapers the charge (edge/sim/battery.py): export then is
# surplus the battery could not take, not the loop's doing.
FULL_SOC_PCT = PackParams().taper_high_pct


def import_price(tariff: str, t_s: np.ndarray) -> np.ndarray:
    """£/kWh at each time (prices.py: flat, e7, go, agile)."""
    return prices.import_prices(tariff, t_s)


def export_price(tariff: str, t_s: np.ndarray) -> np.ndarray:
    return prices.export_prices(tariff, t_s)


@dataclass(frozen=True)
class Flows:
    """The energy flows of a run, kWh, for the balance check."""

    pv: float
    load: float
    heater: float
    hp: float
    imported: float
    exported: float
    battery_out: float  # discharged minus charged, AC


def flows(tr: Trace) -> Flows:
    h = 1.0 / 3.6e6  # W x 1 s -> kWh
    return Flows(
        pv=float(tr.pv_w.sum() * h),
        load=float(tr.load_w.sum() * h),
        heater=float(tr.heater_w.sum() * h),
        hp=float(tr.hp_w.sum() * h),
        imported=float(np.clip(tr.grid_w, 0, None).sum() * h),
        exported=float(np.clip(-tr.grid_w, 0, None).sum() * h),
        battery_out=float(tr.battery_w.sum() * h),
    )


def leak_wh(tr: Trace) -> float:
    """Battery energy into the tank (§5.5): min(B_dis, H) where PV does not cover the load
    and the heater (and the heat pump, when it runs), from the trace."""
    covered = tr.load_w + tr.heater_w + tr.hp_w - FED_EPS_W  # exactly PV-fed is not a leak
    mask = (tr.battery_w > 0) & (tr.heater_w > 0) & (tr.pv_w < covered)
    return float(np.minimum(tr.battery_w, tr.heater_w)[mask].sum() / 3600.0)


def leak_wh_flow(tr: Trace) -> float:
    """The same leak by flow attribution, a second, independent way: PV first meets the
    household and the heat pump; the heater power it leaves uncovered is met by the
    battery's discharge as far as that goes."""
    pv_left = np.maximum(0.0, tr.pv_w - tr.load_w - tr.hp_w)
    uncovered = np.maximum(0.0, tr.heater_w - pv_left)
    return float(np.minimum(np.clip(tr.battery_w, 0.0, None), uncovered).sum() / 3600.0)


def flip_windows(tr: Trace) -> np.ndarray:
    """Steps where export is caused by the battery's loop (§5.5): the battery discharging,
    the inverter in its CHECK state, or within τ_b + ΔL/r_b of a load step while the
    battery could still take charge (a full battery's export is surplus, not control)."""
    window = (tr.battery_w > 0) | tr.check
    steps = np.abs(np.diff(tr.load_w, prepend=tr.load_w[:1]))
    after_step = np.zeros_like(window)
    for k in np.nonzero(steps >= LOAD_STEP_W)[0]:
        span = round(DEAD_TIME_S + steps[k] / RAMP_W_PER_S)
        after_step[k : k + span + 1] = True
    window |= after_step & (tr.soc_pct < FULL_SOC_PCT)
    return np.asarray(window, dtype=bool)


def flips(tr: Trace, floor_w: float = 50.0) -> int:
    """Charge/discharge reversals: sign changes of the battery power beyond floor_w."""
    sign = np.sign(np.where(np.abs(tr.battery_w) > floor_w, tr.battery_w, 0.0))
    nz = sign[sign != 0]
    return int(np.count_nonzero(np.diff(nz)))


def cost(tr: Trace, tariff: str) -> float:
    imp = np.clip(tr.grid_w, 0, None) / 3.6e6
    exp = np.clip(-tr.grid_w, 0, None) / 3.6e6
    paid = (imp * import_price(tariff, tr.t_s)).sum()
    return float(paid - (exp * export_price(tariff, tr.t_s)).sum())


def metrics(tr: Trace) -> dict[str, Any]:
    f = flows(tr)
    days = len(tr.t_s) / 86400.0
    exported = np.clip(-tr.grid_w, 0, None)
    window = flip_windows(tr)
    return {
        "leak_wh": round(leak_wh(tr), 2),
        "leak_wh_flow": round(leak_wh_flow(tr), 2),
        "leak_wh_house": round(tr.leak_wh_house, 2),
        "flip_export_wh": round(float(exported[window].sum() / 3600.0), 2),
        "flip_import_wh": round(float(np.clip(tr.grid_w, 0, None)[window].sum() / 3600.0), 2),
        "import_kwh": round(f.imported, 4),
        "export_kwh": round(f.exported, 4),
        "self_consumption_pct": round(100.0 * (1 - f.exported / f.pv), 2) if f.pv > 0 else None,
        "flips_per_day": round(flips(tr) / days, 1),
        "battery_throughput_kwh": round(float(np.abs(tr.battery_w).sum() / 3.6e6), 4),
        "heater_kwh": round(f.heater, 4),
        "hp_starts": int(np.count_nonzero((tr.hp_w[1:] > 0) & (tr.hp_w[:-1] <= 0))),
        "comfort_misses_s": tr.comfort_misses,
        "house_cold_kh": round(house_cold_kh(tr), 4),
        "cost_flat": round(cost(tr, "flat"), 4),
        "cost_e7": round(cost(tr, "e7"), 4),
        "soc_end_pct": round(float(tr.soc_pct[-1]), 2),
        "balance_error_kwh": round(balance_error(f), 6),
    }


def balance_error(f: Flows) -> float:
    """Grid = load + heater + heat pump - PV - battery, summed: what does not close."""
    return f.imported - f.exported - (f.load + f.heater + f.hp - f.pv - f.battery_out)


def end_value(tariff: str, t_s: np.ndarray, efficiency: float) -> float:
    """£ per kWh left in the battery at the end: the mean import price it will save,
    after the discharge loss."""
    return float(import_price(tariff, t_s).mean()) * efficiency


def house_cold_kh(tr: Trace) -> float:
    """Time the house spent below the floor, weighted by how far: K·h."""
    return float(np.clip(HOUSE_FLOOR_DEGC - tr.house_degc, 0.0, None).sum() / 3600.0)


def house_heat_kwh(tr: Trace) -> float:
    """The house's heat at the end above its start, kWh (thermal)."""
    return (float(tr.house_degc[-1]) - tr.house0_degc) * HOUSE.house_c_j_per_k / 3.6e6


def objective(tr: Trace, tariff: str, efficiency: float) -> float:
    """What the optimum minimises, for any run: the bill, less the heat put into the
    tank at the gas it saves, less the battery energy and the house's heat left above the
    start (a run may end fuller or emptier than it began), plus the cold house's cost."""
    heat = float(tr.heater_w.sum() / 3.6e6)
    left = stock(tr, tariff, efficiency)
    house = left.house_credit(tariff) - house_cold_kh(tr) * HOUSE_COLD_COST
    return float(cost(tr, tariff) - heat * TANK_HEAT_VALUE - left.battery_kwh * left.value - house)


@dataclass(frozen=True)
class Stock:
    """What a run leaves above where it began, which its objective credits: the
    battery's energy (kWh) at `value` £ a kWh (end_value) and the house's heat (kWh,
    thermal) at house_heat_prices."""

    battery_kwh: float
    house_kwh: float
    value: float

    def credit(self, tariff: str) -> float:
        """£ the objective takes off for this stock."""
        return self.battery_kwh * self.value + self.house_credit(tariff)

    def house_credit(self, tariff: str) -> float:
        """£ of it for the house's heat."""
        worth = house_heat_prices(tariff, self.value)[0 if self.house_kwh > 0 else 1]
        return self.house_kwh * worth


def stock(tr: Trace, tariff: str, efficiency: float) -> Stock:
    """The run's stock, as objective() credits it."""
    return Stock(
        (tr.soc_pct[-1] - tr.soc0_pct) / 100.0 * tr.capacity_wh / 1000.0,
        house_heat_kwh(tr),
        end_value(tariff, tr.t_s, efficiency),
    )


def as_one_run(objectives: list[float], stocks: list[Stock], tariff: str) -> float:
    """A chained run's objective scored as one run, from its days' (each day beginning
    where the day before ended, all of one length): each day's objective with its stock's
    credit given back, less the credit of the run's stock as a whole (the battery's at the
    days' mean value, as end_value over the run has it). It is objective() of the run's
    whole trace. The days' sum is not: the house's heat to spare earns less than heat
    missing costs, so each midnight that heat moves over costs a chained run again in
    the days' sum, though it is the same heat; and where the price changes from day to
    day (Agile-like), the battery's energy carried over midnight is valued at each day's
    mean, not once."""
    whole = Stock(
        math.fsum(s.battery_kwh for s in stocks),
        math.fsum(s.house_kwh for s in stocks),
        math.fsum(s.value for s in stocks) / len(stocks),
    )
    days = math.fsum(o + s.credit(tariff) for o, s in zip(objectives, stocks, strict=True))
    return days - whole.credit(tariff)


def house_heat_prices(tariff: str, battery_value: float) -> tuple[float, float]:
    """£ per kWh of the house's heat at the end: (to spare, missing). Heat missing costs
    at least what heat to spare earns: else an LP that may keep both (optimum.solve) gains
    without end by adding as much of each (a run whose prices average near 0)."""
    export = prices.tariff(tariff).export_rates.daily.default_gbp_per_kwh  # its mean
    spare = export / HOUSE_SURPLUS_COP
    return (spare, max(battery_value / HOUSE_HEAT_COP, spare))
