"""The perfect-foresight optimum (loads-baseline-s2.md §5.4): an LP solved with HiGHS over
the same PV and load traces, at the scenario's lp_dt_s.

Per step: battery charge and discharge (AC, η each way, the configured power limit and
the reserve), the element's power (0 to its rating), grid import and export, the battery's
energy and the tank's heat. The tank loses heat in proportion to its temperature and its
draws take their energy out (a draw from a cold tank takes what there is). The objective is
metrics.objective: the bill, less the tank's heat at the gas it saves, less the battery
energy left above the start. Hot-water comfort is not in the objective, for any
controller: all of them heat the tank from electricity the same way, and the comfort
misses of the simulated runs are reported beside it.

Simplifications, stated: the heat pump's power is taken from the trace (the LP does not
plan it); the BMS's taper near full is not modelled (the optimum may charge at full power
to 100 %); PV and load are averaged over each LP step, which can only help the optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from edge.sim.tank import TankParams
from host_tools.bench.control import metrics as m
from host_tools.bench.control.scenarios import Scenario, Trace

WATER_WH_PER_L_K = 1.163
TAP_DEGC = 40.0
THROUGHPUT_COST = 0.001  # £/kWh: breaks ties against needless cycling


@dataclass(frozen=True)
class Limits:
    battery_w: float  # AC, each way
    efficiency: float  # one way
    reserve_pct: float
    max_soc_pct: float


def _draw_wh(tank: TankParams, t_s: np.ndarray, dt_s: float) -> np.ndarray:
    """Heat taken by the draws in each step (40 degC at the tap, mixed from the tank)."""
    out = np.zeros(len(t_s))
    h = (t_s % 86400.0) / 3600.0
    for hour, litres, minutes in tank.draws:
        per_s = litres * WATER_WH_PER_L_K * (TAP_DEGC - tank.cold_water_degc) / (minutes * 60)
        inside = (h >= hour) & (h < hour + minutes / 60.0)
        out[inside] += per_s * dt_s
    return out


def solve(sc: Scenario, tr: Trace, tariff: str, limits: Limits) -> Trace:
    """The optimum for scenario `sc` on the PV, load and heat-pump power of trace `tr`:
    its trace (at 1 s, each LP step repeated)."""
    dt = sc.lp_dt_s
    per = round(dt)
    n = len(tr.t_s) // per
    span = n * per

    def avg(x: np.ndarray) -> np.ndarray:
        return np.asarray(x[:span].reshape(n, per).mean(axis=1), dtype=float)

    pv, load, hp = avg(tr.pv_w), avg(tr.load_w), avg(tr.hp_w)
    t = tr.t_s[:span:per]
    tank = sc.params.tank
    cap_k = tank.volume_l * WATER_WH_PER_L_K  # Wh per K
    q0 = cap_k * (tr.tank0_degc - tank.cold_water_degc)
    q_max = cap_k * (tank.thermostat_degc - tank.cold_water_degc)
    loss_k = tank.loss_w_per_k * dt / 3600.0 / cap_k  # share of q lost per step
    loss_const = tank.loss_w_per_k * (tank.cold_water_degc - tank.ambient_degc) * dt / 3600.0
    draw = _draw_wh(tank, t, dt)
    cap = tr.capacity_wh
    e0 = tr.soc0_pct / 100.0 * cap
    eta = limits.efficiency
    price = m.import_price(tariff, t)
    export_price = m.TARIFFS[tariff]["export"]
    value_end = m.end_value(tariff, tr.t_s, eta)

    # Columns: ch, dis, h, imp, exp, e, q, and u (draw heat the tank could not give).
    names = ("ch", "dis", "h", "imp", "exp", "e", "q", "u")
    col = {name: np.arange(n) + k * n for k, name in enumerate(names)}
    inf = highspy.kHighsInf
    lb = np.zeros(len(names) * n)
    ub = np.full(len(names) * n, inf)
    ub[col["ch"]] = ub[col["dis"]] = limits.battery_w
    ub[col["h"]] = tank.element_w
    lb[col["e"]] = limits.reserve_pct / 100.0 * cap
    ub[col["e"]] = limits.max_soc_pct / 100.0 * cap
    ub[col["q"]] = q_max
    ub[col["u"]] = draw
    kwh = dt / 3.6e6
    cost = np.zeros(len(names) * n)
    cost[col["imp"]] = price * kwh
    cost[col["exp"]] = -export_price * kwh
    cost[col["h"]] = -m.TANK_HEAT_VALUE * kwh
    cost[col["ch"]] = cost[col["dis"]] = THROUGHPUT_COST * kwh
    cost[col["u"]] = 1e-9  # serve the draws when the heat is there
    cost[col["e"][-1]] = -value_end / 1000.0

    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.addVars(len(lb), lb, ub)
    h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
    rows: list[tuple[float, float, list[int], list[float]]] = []
    for i in range(n):
        # Balance: imp - exp - h + dis - ch = load + hp - pv.
        rhs = load[i] + hp[i] - pv[i]
        rows.append(
            (
                rhs,
                rhs,
                [col["imp"][i], col["exp"][i], col["h"][i], col["dis"][i], col["ch"][i]],
                [1.0, -1.0, -1.0, 1.0, -1.0],
            )
        )
        # Battery: e_i - e_{i-1} - eta ch dt + dis / eta dt = 0.
        prev_e = e0 if i == 0 else 0.0
        idx = [col["e"][i], col["ch"][i], col["dis"][i]]
        val = [1.0, -eta * dt / 3600.0, dt / 3600.0 / eta]
        if i > 0:
            idx.append(col["e"][i - 1])
            val.append(-1.0)
        rows.append((prev_e, prev_e, idx, val))
        # Tank: q_i - (1 - loss_k) q_{i-1} - h dt - u = -draw - loss_const.
        rhs_q = -draw[i] - loss_const + ((1.0 - loss_k) * q0 if i == 0 else 0.0)
        idx = [col["q"][i], col["h"][i], col["u"][i]]
        val = [1.0, -dt / 3600.0, -1.0]
        if i > 0:
            idx.append(col["q"][i - 1])
            val.append(-(1.0 - loss_k))
        rows.append((rhs_q, rhs_q, idx, val))
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    lower: list[float] = []
    upper: list[float] = []
    for lo, hi, idx, val in rows:
        starts.append(len(index))
        index += idx
        value += val
        lower.append(lo)
        upper.append(hi)
    h.addRows(
        len(rows),
        np.array(lower),
        np.array(upper),
        len(index),
        np.array(starts, dtype=np.int32),
        np.array(index, dtype=np.int32),
        np.array(value),
    )
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"the optimum's LP for {sc.name}: {h.getModelStatus()}")
    x = np.array(h.getSolution().col_value)

    def series(name: str) -> np.ndarray:
        return np.repeat(x[col[name]], per)

    battery = series("dis") - series("ch")
    grid = series("imp") - series("exp")
    soc = np.repeat(x[col["e"]] / cap * 100.0, per)
    temp = np.repeat(tank.cold_water_degc + x[col["q"]] / cap_k, per)
    trace = Trace(
        t_s=tr.t_s[:span],
        pv_w=np.repeat(pv, per),
        load_w=np.repeat(load, per),
        heater_w=series("h"),
        hp_w=np.repeat(hp, per),
        battery_w=battery,
        grid_w=grid,
        soc_pct=soc,
        tank_degc=temp,
        check=np.zeros(span, dtype=bool),
        leak_wh_house=0.0,
        comfort_misses=int(np.count_nonzero(x[col["u"]] > 1e-6) * per),
        soc0_pct=tr.soc0_pct,
        tank0_degc=tr.tank0_degc,
        capacity_wh=cap,
    )
    trace.leak_wh_house = m.leak_wh(trace)  # no plant of its own: the trace's integral
    return trace
