"""The perfect-foresight optimum (loads-baseline-s2.md §5.4): an LP solved with HiGHS over
the same PV and load traces, at the scenario's lp_dt_s.

Per step: battery charge and discharge (AC, η each way, the configured power limit and
the reserve), the element's power (0 to its rating), the heat pump's electrical power,
grid import and export, the battery's energy, the tank's heat and the house's
temperature. The tank loses heat in proportion to its temperature and its draws take
their energy out (a draw from a cold tank takes what there is). The house is the
simulated heat pump's one thermal node (1R1C: internal gain and the heat pump's heat in,
UA x (T_in - T_out) out), heated at the COP of each step's outside temperature. The
objective is metrics.objective: the bill, less the tank's heat at the gas it saves, less
the battery energy and the house's heat left above the start, plus the cold house's cost.
Hot-water comfort is not in the objective, for any controller: all of them heat the tank
from electricity the same way, and the comfort misses of the simulated runs are reported
beside it.

Relaxations, each of which can only lower the optimum, so it stays a bound on every
controller (up to the tank's and the house's discretisation at the LP's step):
- the heat pump's on/off compressor is a continuous power from 0 to its running power
  (`solve(on_off=True)` is §5.4's MILP with binaries and min-up/down; the benchmark runs
  it on the day runs to show what the relaxation gives away);
- the BMS's taper near full is not modelled (it may charge at full power to 100 %);
- PV and load are averaged over each LP step;
- each run may start anywhere in `Starts`: the range of the controllers' own start states
  (a point for a scenario; for a day of the year, the span of where the controllers' days
  began), so every controller's day is one of the LP's feasible days.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import highspy
import numpy as np

from edge.planner.highs import QuietHighs
from edge.sim.heatpump import HeatPump, HeatPumpParams, cop
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


@dataclass(frozen=True)
class Starts:
    """Where the optimum's run may begin: (low, high) of SOC (%), tank and house (degC)."""

    soc_pct: tuple[float, float]
    tank_degc: tuple[float, float]
    house_degc: tuple[float, float]

    @classmethod
    def of(cls, traces: list[Trace]) -> Starts:
        return cls.of_points([(t.soc0_pct, t.tank0_degc, t.house0_degc) for t in traces])

    @classmethod
    def of_points(cls, points: list[tuple[float, float, float]]) -> Starts:
        """The span of (SOC, tank, house) start points."""
        soc, tank, house = zip(*points, strict=True)
        return cls((min(soc), max(soc)), (min(tank), max(tank)), (min(house), max(house)))


@dataclass
class Warm:
    """A chain of LPs of one size (the days of a year under one tariff): each solve
    starts from the last one's final basis (HiGHS's setBasis, a warm start), and leaves
    its own here. The day before's basis is near the next day's optimum: a day's LP takes
    a fifth of the cold solve's CPU, to the same objective (a degenerate LP may end at
    another vertex of the same cost). A basis of another size is not used: that solve
    starts cold."""

    basis: highspy.HighsBasis | None = None
    iterations: int = 0  # the last solve's simplex iterations


HP_BLOCK_S = 300.0  # the MILP's heat pump decides on or off for blocks this long
MILP_TIME_LIMIT_S = 120.0


def _on_off_rows(
    col: dict[str, np.ndarray], n: int, per_block: int, hp: HeatPumpParams, run_w: np.ndarray
) -> list[tuple[float, float, list[int], list[float]]]:
    """§5.4's heat-pump constraints, on blocks of per_block steps: its power = on x its
    running power; a start where it goes from off to on; minimum on and off times; at most
    so many starts an hour."""
    inf = highspy.kHighsInf
    on, start = col["on"], col["start"]
    blocks = len(on)
    up = max(1, math.ceil(hp.min_on_s / HP_BLOCK_S))
    down = max(1, math.ceil(hp.min_off_s / HP_BLOCK_S))
    hour = max(1, round(3600.0 / HP_BLOCK_S))
    rows: list[tuple[float, float, list[int], list[float]]] = []
    for i in range(n):
        rows.append((0.0, 0.0, [col["hp"][i], on[i // per_block]], [1.0, -float(run_w[i])]))
    for b in range(blocks):
        if b == 0:
            rows.append((0.0, inf, [start[0], on[0]], [1.0, -1.0]))
        else:
            rows.append((0.0, inf, [start[b], on[b], on[b - 1]], [1.0, -1.0, 1.0]))
        # Started within the last `up` blocks: still on.
        window = list(start[max(0, b - up + 1) : b + 1])
        rows.append((-inf, 0.0, [*window, on[b]], [1.0] * len(window) + [-1.0]))
        # Started within the last `down` blocks: it was off before them.
        if b >= down:
            window = list(start[b - down + 1 : b + 1])
            rows.append((-inf, 1.0, [*window, on[b - down]], [1.0] * (len(window) + 1)))
        window = list(start[max(0, b - hour + 1) : b + 1])
        rows.append((-inf, float(hp.max_starts_per_h), window, [1.0] * len(window)))
    return rows


def _fits(basis: highspy.HighsBasis, cols: int, rows: int) -> bool:
    return bool(basis.valid) and (len(basis.col_status), len(basis.row_status)) == (cols, rows)


def _draw_wh(tank: TankParams, t_s: np.ndarray, dt_s: float) -> np.ndarray:
    """Heat taken by the draws in each step (40 degC at the tap, mixed from the tank)."""
    out = np.zeros(len(t_s))
    h = (t_s % 86400.0) / 3600.0
    for hour, litres, minutes in tank.draws:
        per_s = litres * WATER_WH_PER_L_K * (TAP_DEGC - tank.cold_water_degc) / (minutes * 60)
        inside = (h >= hour) & (h < hour + minutes / 60.0)
        out[inside] += per_s * dt_s
    return out


def solve(
    sc: Scenario,
    tr: Trace,
    tariff: str,
    limits: Limits,
    starts: Starts | None = None,
    on_off: bool = False,
    warm: Warm | None = None,
) -> Trace:
    """The optimum for scenario `sc` on the PV and load of trace `tr` (every controller's
    are the same), from `starts` (default: where `tr` began): its trace (at 1 s, each LP
    step repeated).

    on_off: §5.4's MILP instead: the heat pump on or off at its running power, with its
    minimum on and off times and starts per hour (off before the run), deciding per
    HP_BLOCK_S block; solved to a 0.1 % gap or for MILP_TIME_LIMIT_S, whichever comes
    first (the trace's mip_gap says which). Tighter, but no longer a strict bound: a
    controller's heat pump switches inside a block, which the MILP's cannot.

    warm: start from its basis, and leave this solve's there (the LP only)."""
    dt = sc.lp_dt_s
    per = round(dt)
    n = len(tr.t_s) // per
    span = n * per
    starts = starts or Starts.of([tr])

    def avg(x: np.ndarray) -> np.ndarray:
        return np.asarray(x[:span].reshape(n, per).mean(axis=1), dtype=float)

    pv, load = avg(tr.pv_w), avg(tr.load_w)
    t = tr.t_s[:span:per]
    tank = sc.params.tank
    cap_k = tank.volume_l * WATER_WH_PER_L_K  # Wh per K
    q_max = cap_k * (tank.thermostat_degc - tank.cold_water_degc)
    loss_k = tank.loss_w_per_k * dt / 3600.0 / cap_k  # share of q lost per step
    loss_const = tank.loss_w_per_k * (tank.cold_water_degc - tank.ambient_degc) * dt / 3600.0
    draw = _draw_wh(tank, t, dt)
    hp = dataclasses.replace(sc.params.heat_pump, day_of_year=sc.params.start_day_of_year)
    house = (hp.house_c_j_per_k, hp.setpoint_degc, hp.hysteresis_k)
    if house != (m.HOUSE.house_c_j_per_k, m.HOUSE.setpoint_degc, m.HOUSE.hysteresis_k):
        raise ValueError(
            f"{sc.name}: metrics.objective values the default house (C, setpoint,"
            f" hysteresis = {m.HOUSE.house_c_j_per_k}, {m.HOUSE.setpoint_degc},"
            f" {m.HOUSE.hysteresis_k}); this scenario's is {house}"
        )
    t_out = np.array([HeatPump(hp, 0.0).t_out_degc(float(ti)) for ti in t])
    cops = np.array([cop(x) for x in t_out])
    house_a = hp.house_ua_w_per_k * dt / hp.house_c_j_per_k  # share of (T - T_out) lost
    house_b = dt / hp.house_c_j_per_k  # K per W of heat over a step
    house_wh_per_k = hp.house_c_j_per_k / 3600.0
    cap = tr.capacity_wh
    eta = limits.efficiency
    price = m.import_price(tariff, t)
    # One meter nets a step's flows: importing and exporting at once earns nothing. Where
    # export pays more than import costs (the Agile-like series at a negative wholesale
    # price: import 2.2 W, export 0.95 W), the LP would buy and sell at once without end
    # (HiGHS: unbounded); there it is paid the import price for an export. The trace's
    # net flow is then scored at the real prices (metrics.objective).
    export_price = np.minimum(m.export_price(tariff, t), price)
    value_end = m.end_value(tariff, tr.t_s, eta)

    # Columns, n each: ch, dis, h, imp, exp, e, q, u (draw heat the tank could not give),
    # hp (the heat pump's electrical power), T (the house), cold (K below the floor);
    # then the three start states and the house's heat at the end above (spare) and
    # below (short) its start, kWh.
    names = ("ch", "dis", "h", "imp", "exp", "e", "q", "u", "hp", "T", "cold")
    col = {name: np.arange(n) + k * n for k, name in enumerate(names)}
    e_init, q_init, t_init, spare, short = (len(names) * n + k for k in range(5))
    size = len(names) * n + 5
    per_block = max(1, round(HP_BLOCK_S / dt))
    if on_off:
        # Per block: the compressor running; it started in this block.
        blocks = -(-n // per_block)
        col["on"] = size + np.arange(blocks)
        col["start"] = size + blocks + np.arange(blocks)
        size += 2 * blocks
    inf = highspy.kHighsInf
    lb = np.zeros(size)
    ub = np.full(size, inf)
    ub[col["ch"]] = ub[col["dis"]] = limits.battery_w
    ub[col["h"]] = tank.element_w
    lb[col["e"]] = limits.reserve_pct / 100.0 * cap
    ub[col["e"]] = limits.max_soc_pct / 100.0 * cap
    ub[col["q"]] = q_max
    ub[col["u"]] = draw
    ub[col["hp"]] = hp.heat_w / cops
    # What the house can draw and give: its load, the element, the heat pump and the
    # battery's charge; its PV and the battery's discharge.
    ub[col["imp"]] = load + tank.element_w + ub[col["hp"]] + limits.battery_w
    ub[col["exp"]] = pv + limits.battery_w
    if on_off:
        ub[col["on"]] = ub[col["start"]] = 1.0
    lb[col["T"]] = -inf
    ub[col["T"]] = hp.setpoint_degc + hp.force_limit_k + 0.5  # SG-Ready FORCE's ceiling
    lb[e_init], ub[e_init] = (x / 100.0 * cap for x in starts.soc_pct)
    lb[q_init], ub[q_init] = (cap_k * (x - tank.cold_water_degc) for x in starts.tank_degc)
    lb[t_init], ub[t_init] = starts.house_degc
    kwh = dt / 3.6e6
    cost = np.zeros(size)
    cost[col["imp"]] = price * kwh
    cost[col["exp"]] = -export_price * kwh
    cost[col["h"]] = -m.TANK_HEAT_VALUE * kwh
    cost[col["ch"]] = cost[col["dis"]] = THROUGHPUT_COST * kwh
    cost[col["u"]] = 1e-9  # serve the draws when the heat is there
    cost[col["cold"]] = m.HOUSE_COLD_COST * dt / 3600.0
    cost[col["e"][-1]] = -value_end / 1000.0
    cost[e_init] = value_end / 1000.0
    spare_price, short_price = m.house_heat_prices(tariff, value_end)
    cost[spare] = -spare_price
    cost[short] = short_price

    h = QuietHighs()  # no banner in the benchmark's output (edge/planner/highs.py)
    h.addVars(len(lb), lb, ub)
    h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
    rows: list[tuple[float, float, list[int], list[float]]] = []

    def prev(name: str, i: int, init: int) -> int:
        return int(col[name][i - 1]) if i > 0 else init

    for i in range(n):
        # Balance: imp - exp - h - hp + dis - ch = load - pv.
        rhs = load[i] - pv[i]
        rows.append(
            (
                rhs,
                rhs,
                [col[c][i] for c in ("imp", "exp", "h", "hp", "dis", "ch")],
                [1.0, -1.0, -1.0, -1.0, 1.0, -1.0],
            )
        )
        # Battery: e_i - e_{i-1} - eta ch dt + dis / eta dt = 0.
        rows.append(
            (
                0.0,
                0.0,
                [col["e"][i], col["ch"][i], col["dis"][i], prev("e", i, e_init)],
                [1.0, -eta * dt / 3600.0, dt / 3600.0 / eta, -1.0],
            )
        )
        # Tank: q_i - (1 - loss_k) q_{i-1} - h dt - u = -draw - loss_const.
        rhs_q = -draw[i] - loss_const
        rows.append(
            (
                rhs_q,
                rhs_q,
                [col["q"][i], col["h"][i], col["u"][i], prev("q", i, q_init)],
                [1.0, -dt / 3600.0, -1.0, -(1.0 - loss_k)],
            )
        )
        # House: T_i - (1 - a) T_{i-1} - b COP hp_i = b (gain + UA T_out).
        rhs_t = house_b * (hp.internal_gain_w + hp.house_ua_w_per_k * t_out[i])
        rows.append(
            (
                rhs_t,
                rhs_t,
                [col["T"][i], col["hp"][i], prev("T", i, t_init)],
                [1.0, -house_b * cops[i], -(1.0 - house_a)],
            )
        )
        # Cold: cold_i + T_i >= the floor.
        rows.append((m.HOUSE_FLOOR_DEGC, inf, [col["cold"][i], col["T"][i]], [1.0, 1.0]))
    if on_off:
        rows += _on_off_rows(col, n, per_block, hp, hp.heat_w / cops)
    # The house's heat kept: spare - short = (T_end - T_init) x its capacity.
    kwh_per_k = house_wh_per_k / 1000.0
    rows.append(
        (0.0, 0.0, [spare, short, int(col["T"][-1]), t_init], [1.0, -1.0, -kwh_per_k, kwh_per_k])
    )
    row_starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    lower: list[float] = []
    upper: list[float] = []
    for lo, hi, idx, val in rows:
        row_starts.append(len(index))
        index += idx
        value += val
        lower.append(lo)
        upper.append(hi)
    h.addRows(
        len(rows),
        np.array(lower),
        np.array(upper),
        len(index),
        np.array(row_starts, dtype=np.int32),
        np.array(index, dtype=np.int32),
        np.array(value),
    )
    if on_off:
        on = col["on"].astype(np.int32)
        kinds = np.full(len(on), highspy.HighsVarType.kInteger)
        h.changeColsIntegrality(len(on), on, kinds)
        h.setOptionValue("mip_rel_gap", 1e-3)
        h.setOptionValue("time_limit", MILP_TIME_LIMIT_S)
    elif warm is not None and warm.basis is not None and _fits(warm.basis, size, len(rows)):
        h.setBasis(warm.basis)
    h.run()
    status = h.getModelStatus()
    found = status == highspy.HighsModelStatus.kTimeLimit and h.getInfo().primal_solution_status
    if status != highspy.HighsModelStatus.kOptimal and not (on_off and found):
        raise RuntimeError(f"the optimum's LP for {sc.name}: {h.getModelStatus()}")
    x = np.array(h.getSolution().col_value)
    if warm is not None and not on_off:
        warm.basis = h.getBasis()
        warm.iterations = int(h.getInfo().simplex_iteration_count)

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
        hp_w=series("hp"),
        battery_w=battery,
        grid_w=grid,
        soc_pct=soc,
        tank_degc=temp,
        house_degc=series("T"),
        check=np.zeros(span, dtype=bool),
        leak_wh_house=0.0,
        comfort_misses=int(np.count_nonzero(x[col["u"]] > 1e-6) * per),
        soc0_pct=float(x[e_init] / cap * 100.0),
        tank0_degc=float(tank.cold_water_degc + x[q_init] / cap_k),
        house0_degc=float(x[t_init]),
        capacity_wh=cap,
    )
    if on_off:
        trace.mip_gap = float(h.getInfo().mip_gap)
    trace.leak_wh_house = m.leak_wh(trace)  # no plant of its own: the trace's integral
    return trace
