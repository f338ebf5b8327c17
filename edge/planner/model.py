"""The planning model: one HiGHS solve over a rolling horizon of slots, battery, tank and
heat pump together. A pure function of its inputs: `solve(PlanInputs) -> Plan | None`.

Per slot i (powers are the slot's mean, W; energies at the slot's end, Wh):
- battery charge ch and discharge dis (AC side, efficiency `efficiency` each way), its
  energy e; SOC below the reserve or above the maximum only through slacks that cost
  `soc_slack_gbp_per_kwh`, so a SOC already outside its band still gives a plan;
- grid import imp and export exp, at most what the house consumes and generates (the
  meter nets them; this keeps negative prices from making the model unbounded);
- the tank's element h (0 to its rating), its heat q above the cold feed (1 node: a loss
  in proportion to its temperature, the draws' heat out; a draw the tank cannot give is
  u, a comfort penalty), at most its maximum temperature (or where it starts, if above);
- the heat pump's electrical power hp, zero or a running share of the slot of at least
  min_on_s (a semi-continuous column: the one integer decision), heating the house's one
  thermal node (1R1C: the heat pump's heat at each slot's COP and a fixed internal gain
  in, UA x (T - T_out) out), with comfort slacks below the band's floor and above its
  ceiling costing `comfort_gbp_per_kh`;
- with a previous plan, its battery power per slot: moving away from it costs
  `hysteresis_gbp_per_kwh` a kWh, so a new plan changes a slot only for a gain above that.
Balance: imp - exp + dis - ch - h - hp = load - pv.

Objective, £: the bill (each slot's import and export price) + the battery's wear per kWh
of throughput - the tank's heat at what it displaces + the comfort penalties - the value
of the energy left at the horizon's end (the battery's at the horizon's mean import price
after the discharge loss, the house's heat above its start at the export price it could
have been at the best COP, and heat short at the battery's value at a COP of 3), and a
tie-break: each kWh held an hour earns TIE_GBP_PER_KWH_H, so among slots of one price the
battery charges in the first (full early: a later re-plan on worse news finds it full) and
discharges in the last. HiGHS gets the costs x COST_SCALE: in £ a Wh the tie-break is
under its dual tolerance (1e-7) and it would not see it.

A re-plan starts from the last plan's simplex basis, its slots moved on (a warm start,
Basis): the same plan in a few iterations instead of hundreds.

A plan made part-way into its first slot (first_slot_s) plans that slot's part left:
its energies, the tank's losses and draws and the house's cooling over that part only.

Relaxations stated: the heat pump's starts per hour are not modelled inside a slot (with
30-minute slots and a 10-minute minimum run, at most one start a slot: 2 an hour, under
the usual 3); the BMS's taper near full is not modelled.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import highspy
import numpy as np

from edge.planner.highs import QuietHighs

WATER_WH_PER_L_K = 1.163
TAP_DEGC = 40.0
COST_SCALE = 1000.0
TIE_GBP_PER_KWH_H = 1e-5  # per kWh stored an hour: 0.05 p/kWh over 48 h


@dataclass(frozen=True)
class BatteryModel:
    capacity_wh: float
    max_charge_w: float  # AC
    max_discharge_w: float  # AC
    efficiency: float = 0.95  # one way
    reserve_soc_pct: float = 20.0
    max_soc_pct: float = 100.0
    wear_gbp_per_kwh: float = 0.01  # per kWh in or out (AC)


@dataclass(frozen=True)
class TankModel:
    volume_l: float = 180.0
    element_w: float = 3000.0
    max_degc: float = 60.0
    cold_water_degc: float = 10.0
    ambient_degc: float = 18.0
    loss_w_per_k: float = 2.0
    heat_value_gbp_per_kwh: float = 0.0  # what a kWh into the tank displaces (gas), if any
    short_gbp_per_kwh: float = 0.5  # a draw's heat the tank cannot give


@dataclass(frozen=True)
class HouseModel:
    """The heat pump and the house it heats (the simulated house's model, with its COP
    curve: cop = clip(cop_at_7c + cop_per_k x (T_out - 7), cop_min, cop_max))."""

    heat_w: float = 5000.0  # thermal output when running
    c_j_per_k: float = 20e6
    ua_w_per_k: float = 150.0
    internal_gain_w: float = 300.0
    floor_degc: float = 19.5  # the comfort band
    ceiling_degc: float = 23.0
    min_on_s: float = 600.0
    comfort_gbp_per_kh: float = 0.5  # per K·h outside the band
    cop_at_7c: float = 3.5
    cop_per_k: float = 0.08
    cop_min: float = 1.8
    cop_max: float = 5.0

    def cop(self, t_out_degc: float) -> float:
        raw = self.cop_at_7c + self.cop_per_k * (t_out_degc - 7.0)
        return max(self.cop_min, min(self.cop_max, raw))


@dataclass(frozen=True)
class Forecast:
    """Per slot from t0_s: the means of PV, household load (appliances, not the tank or
    the heat pump), the outside temperature, and the hot water drawn (Wh of heat at the
    tap's 40 degC)."""

    t0_s: float
    slot_s: float
    pv_w: tuple[float, ...]
    load_w: tuple[float, ...]
    t_out_degc: tuple[float, ...]
    draw_wh: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.pv_w)


@dataclass(frozen=True)
class PlanState:
    soc_pct: float
    tank_degc: float
    house_degc: float
    hp_running: bool = False


@dataclass(frozen=True)
class PlanInputs:
    forecast: Forecast
    import_gbp_per_kwh: tuple[float, ...]
    export_gbp_per_kwh: tuple[float, ...]
    state: PlanState
    battery: BatteryModel
    tank: TankModel | None = None
    house: HouseModel | None = None
    previous_battery_w: tuple[float | None, ...] | None = None  # per slot, + = discharge
    hysteresis_gbp_per_kwh: float = 0.0
    soc_slack_gbp_per_kwh: float = 2.0
    terminal_gbp_per_kwh: float | None = None  # None: the horizon's mean import x efficiency
    time_limit_s: float = 1.0
    # A plan made part-way into its first slot: that slot's length from now (s), so its
    # energies are the part left; None: a whole slot.
    first_slot_s: float | None = None
    # The heat pump's on/off: "round" solves the LP, fixes each slot on (at least its
    # minimum run) or off from it, and solves again (fast; feasible, not proven optimal);
    # "milp" has HiGHS branch on it (semi-continuous columns) to mip_rel_gap or the time
    # limit; "relaxed" leaves the duty continuous from 0.
    hp_on_off: str = "round"
    mip_rel_gap: float = 0.01
    # The last plan's basis (Plan.basis): the first LP starts from it, its slots moved on to
    # this horizon (a warm start); None: from scratch.
    start: Basis | None = None


@dataclass(frozen=True)
class Plan:
    """The solve's result, per slot (powers W, + = discharge for the battery)."""

    t0_s: float
    slot_s: float
    battery_w: tuple[float, ...]
    charge_w: tuple[float, ...]
    discharge_w: tuple[float, ...]
    grid_w: tuple[float, ...]  # + = import
    soc_pct: tuple[float, ...]  # at each slot's end
    tank_w: tuple[float, ...]
    tank_degc: tuple[float, ...]
    hp_w: tuple[float, ...]
    house_degc: tuple[float, ...]
    house0_degc: float  # where the house began (the state's)
    pv_w: tuple[float, ...]
    load_w: tuple[float, ...]
    cost_gbp: float  # the objective
    bill_gbp: float  # import less export over the horizon
    solve_s: float  # HiGHS's own run time
    status: str  # "optimal" or "time limit" (the best found)
    # The first LP's simplex iterations, and its final basis for the next re-plan's warm
    # start (PlanInputs.start).
    iterations: int = 0
    basis: Basis | None = field(default=None, compare=False, repr=False)

    @property
    def end_s(self) -> float:
        return self.t0_s + self.slot_s * len(self.battery_w)


Status = highspy.HighsBasisStatus
# Where a block's columns or rows are in the model (a block: those of one name): their
# slots (-1: one for the horizon) and their positions, in the same order.
Layout = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Basis:
    """A solve's final simplex basis and where each block's columns and rows were, so the
    next re-plan's model, its slots moved on by the time passed, can start from it."""

    t0_s: float
    slot_s: float
    col_status: np.ndarray = field(compare=False)  # of Status
    row_status: np.ndarray = field(compare=False)
    cols: Layout = field(compare=False)
    rows: Layout = field(compare=False)

    @classmethod
    def of(cls, t0_s: float, slot_s: float, b: _Builder, basis: highspy.HighsBasis) -> Basis:
        return cls(
            t0_s,
            slot_s,
            np.array(basis.col_status, dtype=object),
            np.array(basis.row_status, dtype=object),
            b.col_at,
            b.row_at,
        )

    def moved(self, t0_s: float, b: _Builder) -> highspy.HighsBasis:
        """This basis for the model b from t0_s: slot i takes the status of the slot that
        was i + k (k slots have passed; past the old horizon its last slot's), a column or
        row new to the model its lower bound (columns) or basic (rows). An alien basis:
        HiGHS makes it square and factorable before it starts."""
        k = max(0, round((t0_s - self.t0_s) / self.slot_s))
        out = highspy.HighsBasis()
        out.col_status = _moved(self.col_status, self.cols, b.col_at, k, Status.kLower)
        out.row_status = _moved(self.row_status, self.rows, b.row_at, k, Status.kBasic)
        out.alien = True
        return out


def _moved(status: np.ndarray, old: Layout, new: Layout, k: int, fresh: Status) -> list[Status]:
    n = sum(len(pos) for _, pos in new.values())
    out = np.full(n, fresh, dtype=object)
    for name, (slots, pos) in new.items():
        old_slots, old_pos = old.get(name, (np.zeros(0, dtype=int), np.zeros(0, dtype=int)))
        if not len(old_slots) or not len(slots):
            continue
        at = np.full(max(int(old_slots.max()), 0) + 1, -1)  # old position by slot
        at[np.maximum(old_slots, 0)] = old_pos
        want = np.where(slots < 0, 0, np.minimum(slots + k, len(at) - 1))
        got = at[want]
        ok = got >= 0
        out[pos[ok]] = status[got[ok]]
    return list(out)


# A block of rows, slot by slot: its name, lower and upper bounds, and entries (a column
# and a coefficient each, per slot; column -1: none in that slot's row).
_Entry = tuple[np.ndarray, object]
_Block = tuple[str, object, object, list[_Entry]]


class _Builder:
    """Columns and rows for one model, as HiGHS takes them (rows in compressed row form),
    each block's where (Layout)."""

    def __init__(self) -> None:
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.cost: list[np.ndarray] = []
        self.n_cols = 0
        self.n_rows = 0
        self.col_at: Layout = {}
        self.row_at: Layout = {}
        self._rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def cols(self, name: str, n: int, lb: object, ub: object, cost: object = 0.0) -> np.ndarray:
        """n columns, one a slot."""
        for to, x in ((self.lb, lb), (self.ub, ub), (self.cost, cost)):
            to.append(np.broadcast_to(np.asarray(x, dtype=float), (n,)))
        out = np.arange(self.n_cols, self.n_cols + n)
        self.col_at[name] = (np.arange(n), out)
        self.n_cols += n
        return out

    def col(self, name: str, lb: float, ub: float, cost: float) -> int:
        """One column for the horizon."""
        at = int(self.cols(name, 1, lb, ub, cost)[0])
        self.col_at[name] = (np.array([-1]), np.array([at]))
        return at

    def rows(self, slots: np.ndarray, *blocks: _Block) -> None:
        """For each of these slots (-1: one for the horizon) in turn, a row of each block."""
        ns, k = len(slots), len(blocks)
        m = max(len(entries) for *_, entries in blocks)
        lo, hi = np.empty((ns, k)), np.empty((ns, k))
        idx, val = np.full((ns, k, m), -1, dtype=np.int64), np.zeros((ns, k, m))
        for j, (name, low, high, entries) in enumerate(blocks):
            lo[:, j], hi[:, j] = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
            for q, (column, coeff) in enumerate(entries):
                idx[:, j, q], val[:, j, q] = column, np.asarray(coeff, dtype=float)
            self.row_at[name] = (np.asarray(slots), self.n_rows + np.arange(ns) * k + j)
        self.n_rows += ns * k
        self._rows.append((lo.ravel(), hi.ravel(), idx.reshape(-1, m), val.reshape(-1, m)))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """lb, ub, cost; the rows' lower and upper bounds, starts, indices and values."""
        m = max(idx.shape[1] for _, _, idx, _ in self._rows)

        def wide(x: np.ndarray, fill: float) -> np.ndarray:
            return np.pad(x, [(0, 0), (0, m - x.shape[1])], constant_values=fill)

        idx = np.vstack([wide(i, -1) for _, _, i, _ in self._rows])
        val = np.vstack([wide(v, 0.0) for *_, v in self._rows])
        has = idx >= 0
        starts = np.concatenate(([0], np.cumsum(has.sum(axis=1))[:-1]))
        return (
            np.concatenate(self.lb),
            np.concatenate(self.ub),
            np.concatenate(self.cost),
            np.concatenate([lo for lo, *_ in self._rows]),
            np.concatenate([hi for _, hi, *_ in self._rows]),
            starts.astype(np.int32),
            idx[has].astype(np.int32),
            val[has],
        )


@dataclass
class _Cols:
    ch: np.ndarray
    dis: np.ndarray
    imp: np.ndarray
    exp: np.ndarray
    e: np.ndarray
    heater: np.ndarray | None
    q: np.ndarray | None
    hp: np.ndarray | None
    temp: np.ndarray | None


def _check(inp: PlanInputs) -> None:
    fc, n = inp.forecast, inp.forecast.n
    series = {
        "load_w": fc.load_w,
        "t_out_degc": fc.t_out_degc,
        "draw_wh": fc.draw_wh,
        "import_gbp_per_kwh": inp.import_gbp_per_kwh,
        "export_gbp_per_kwh": inp.export_gbp_per_kwh,
    }
    if n == 0:
        raise ValueError("the forecast has no slots")
    for name, xs in series.items():
        if len(xs) != n:
            raise ValueError(f"{name}: {len(xs)} values for {n} slots")
    for name, xs in {"pv_w": fc.pv_w, **series}.items():
        if not all(math.isfinite(x) for x in xs):
            raise ValueError(f"{name}: not every value is a finite number")
    s = inp.state
    if not all(math.isfinite(x) for x in (s.soc_pct, s.tank_degc, s.house_degc)):
        raise ValueError(f"state {s}: not every value is a finite number")


def slot_lengths_s(inp: PlanInputs) -> np.ndarray:
    """Each slot's length (s): slot_s, the first one first_slot_s where given."""
    fc = inp.forecast
    dts = np.full(fc.n, float(fc.slot_s))
    if inp.first_slot_s is not None:
        dts[0] = min(float(fc.slot_s), max(1.0, float(inp.first_slot_s)))
    return dts


NET_MARGIN_GBP_PER_KWH = 1e-4  # an export is paid at least this under the import price

# HiGHS's simplex (its option simplex_strategy): the first LP by the primal simplex (4),
# the re-solve after the heat pump's bounds change by the dual (1), which starts from the
# first's basis, now primal infeasible. Measured on the control benchmark's 192 re-plans of
# a winter day under Economy 7 and the Agile-like tariff (96 slots, battery, tank and
# heat pump), three runs each: 2.86 to 3.01 s of CPU for the 192 solves against 3.52 to
# 3.75 s with HiGHS's default, the dual for both (880 iterations a first LP at the
# median, the primal 764; the re-solve 7 by the dual, 116 by the primal); the same plans
# to 1e-10 W.
SIMPLEX_FIRST, SIMPLEX_AFTER = 4, 1
# With the last plan's basis (PlanInputs.start, a warm start) the first LP by the dual.
# Measured on the same winter day's re-plans (96 under Economy 7, 96 under the Agile-like
# tariff), three runs each: 1.95 to 2.17 s and 1.39 to 1.50 s of CPU from scratch, 0.89 to
# 0.97 s and 0.70 to 0.75 s warm (the primal warm: 1.09 and 0.93 s); the first LP's
# iterations at the median 933 and 707 from scratch, 3 and 4 warm; the same plans to
# 5e-10 W. What is left is about half HiGHS's run and half the Python around it.
SIMPLEX_WARM = 1


def solve(inp: PlanInputs) -> Plan | None:
    """The plan for these inputs, or None if HiGHS finds none in the time limit. Raises
    ValueError naming the input when the inputs are malformed (lengths, nan)."""
    _check(inp)
    fc, bat = inp.forecast, inp.battery
    n = fc.n
    dts = slot_lengths_s(inp)
    h_per = dts / 3600.0  # hours a slot
    kwh = dts / 3.6e6  # kWh per W over a slot
    pv = np.maximum(0.0, np.asarray(fc.pv_w))
    load = np.maximum(0.0, np.asarray(fc.load_w))
    price = np.asarray(inp.import_gbp_per_kwh)
    export_price = np.asarray(inp.export_gbp_per_kwh)
    eta = bat.efficiency
    value_end = (
        inp.terminal_gbp_per_kwh
        if inp.terminal_gbp_per_kwh is not None
        else float(price.mean()) * eta
    )
    inf = highspy.kHighsInf
    b = _Builder()
    tank, house = inp.tank, inp.house
    element_w = tank.element_w if tank is not None else 0.0
    hp_max = (
        np.array([house.heat_w / house.cop(t) for t in fc.t_out_degc])
        if house is not None
        else np.zeros(n)
    )
    use_max = load + element_w + hp_max + bat.max_charge_w  # what the house can draw
    ch = b.cols("ch", n, 0.0, bat.max_charge_w, bat.wear_gbp_per_kwh * kwh)
    dis = b.cols("dis", n, 0.0, bat.max_discharge_w, bat.wear_gbp_per_kwh * kwh)
    imp = b.cols("imp", n, 0.0, use_max, price * kwh)
    # One meter nets a slot's flows: where export would pay at least what import costs
    # (an Agile import price below Agile Outgoing's, at a negative wholesale price), buying
    # and selling at once would look like a gain. There an export is paid a little under
    # the import price, so the plan never does both; its bill is still at the real prices.
    exp_paid = np.minimum(export_price, price - NET_MARGIN_GBP_PER_KWH)
    exp = b.cols("exp", n, 0.0, pv + bat.max_discharge_w, -exp_paid * kwh)
    cap = bat.capacity_wh
    # Energy held earns a tie-break (far under any price step or the wear): among slots of
    # one price the battery charges in the first and discharges in the last, not anywhere.
    held = -TIE_GBP_PER_KWH_H / 1000.0 * h_per
    held[-1] -= value_end / 1000.0
    e = b.cols("e", n, 0.0, cap, held)
    slack = inp.soc_slack_gbp_per_kwh / 1000.0
    low, high = b.cols("low", n, 0.0, inf, slack), b.cols("high", n, 0.0, inf, slack)
    e0 = max(0.0, min(100.0, inp.state.soc_pct)) / 100.0 * cap
    every = np.arange(n)
    first = np.zeros(n)
    first[0] = 1.0

    def before(cols: np.ndarray) -> np.ndarray:
        """Each slot's column of the slot before (none for the first)."""
        return np.concatenate(([-1], cols[:-1]))

    b.rows(
        every,
        (
            "energy",
            e0 * first,
            e0 * first,
            [(e, 1.0), (ch, -eta * h_per), (dis, h_per / eta), (before(e), -1.0)],
        ),
        ("reserve", bat.reserve_soc_pct / 100.0 * cap, inf, [(e, 1.0), (low, 1.0)]),
        ("max_soc", -inf, bat.max_soc_pct / 100.0 * cap, [(e, 1.0), (high, -1.0)]),
    )
    balance: list[_Entry] = [(imp, 1.0), (exp, -1.0), (dis, 1.0), (ch, -1.0)]
    # The tank: q (Wh above the cold feed), its element h, draw heat it cannot give u.
    heater = q = None
    if tank is not None:
        cap_k = tank.volume_l * WATER_WH_PER_L_K  # Wh per K
        q_max = cap_k * (tank.max_degc - tank.cold_water_degc)
        q0 = max(0.0, cap_k * (inp.state.tank_degc - tank.cold_water_degc))
        loss_k = tank.loss_w_per_k * h_per / cap_k
        loss_const = tank.loss_w_per_k * (tank.cold_water_degc - tank.ambient_degc) * h_per
        draw = np.maximum(0.0, np.asarray(fc.draw_wh)) * dts / fc.slot_s  # the part left
        heater = b.cols("heater", n, 0.0, tank.element_w, -tank.heat_value_gbp_per_kwh * kwh)
        q = b.cols("q", n, 0.0, max(q_max, q0))
        short = b.cols("short", n, 0.0, draw, tank.short_gbp_per_kwh / 1000.0)
        rhs = -draw - loss_const + q0 * (1.0 - loss_k[0]) * first
        entries = [(q, 1.0), (heater, -h_per), (short, -1.0), (before(q), -(1.0 - loss_k))]
        b.rows(every, ("tank", rhs, rhs, entries))
        balance.append((heater, -1.0))
    # The house: T at each slot's end, the heat pump's electrical power hp.
    hp = temp = hp_lb = None
    if house is not None:
        a = house.ua_w_per_k * dts / house.c_j_per_k
        kb = dts / house.c_j_per_k
        duty = np.minimum(1.0, house.min_on_s / dts)
        hp = b.cols("hp", n, 0.0, hp_max)
        hp_lb = duty * hp_max
        temp = b.cols("temp", n, -inf, inf)
        comfort = house.comfort_gbp_per_kh * h_per
        cold, hot = b.cols("cold", n, 0.0, inf, comfort), b.cols("hot", n, 0.0, inf, comfort)
        t0 = inp.state.house_degc
        t_out = np.asarray(fc.t_out_degc, dtype=float)
        cop = np.array([house.cop(t) for t in fc.t_out_degc])
        rhs = kb * (house.internal_gain_w + house.ua_w_per_k * t_out) + (1.0 - a[0]) * t0 * first
        b.rows(
            every,
            ("house", rhs, rhs, [(temp, 1.0), (hp, -kb * cop), (before(temp), -(1.0 - a))]),
            ("floor", house.floor_degc, inf, [(temp, 1.0), (cold, 1.0)]),
            ("ceiling", -inf, house.ceiling_degc, [(temp, 1.0), (hot, -1.0)]),
        )
        balance.append((hp, -1.0))
        # The house's heat at the end against its start: spare - short = C (T_end - T0).
        kwh_per_k = house.c_j_per_k / 3.6e6
        spare_price = float(export_price.mean()) / house.cop_max
        spare = b.col("spare", 0.0, inf, -spare_price)
        # Heat short costs at least what heat spare earns, or the LP would keep both
        # without end (a horizon whose prices average below 0).
        short_heat = b.col("short_heat", 0.0, inf, max(value_end / 3.0, spare_price))
        b.rows(
            np.array([-1]),  # one row, for the horizon
            (
                "house_end",
                -kwh_per_k * t0,
                -kwh_per_k * t0,
                [(np.array([spare]), 1.0), (np.array([short_heat]), -1.0), (temp[-1:], -kwh_per_k)],
            ),
        )
    b.rows(every, ("balance", load - pv, load - pv, balance))
    # Hysteresis: |(dis - ch) - previous| costs hysteresis_gbp_per_kwh.
    if inp.previous_battery_w is not None and inp.hysteresis_gbp_per_kwh > 0:
        dev = b.cols("dev", n, 0.0, inf, inp.hysteresis_gbp_per_kwh * kwh)
        kept = [(i, w) for i, w in enumerate(inp.previous_battery_w[:n]) if w is not None]
        if kept:
            at = np.array([i for i, _ in kept])
            old = np.array([w for _, w in kept], dtype=float)
            move = [(dis[at], 1.0), (ch[at], -1.0)]
            b.rows(
                at,
                ("hysteresis_down", -inf, old, [*move, (dev[at], -1.0)]),
                ("hysteresis_up", old, inf, [*move, (dev[at], 1.0)]),
            )
    return _run(b, inp, hp_lb, _Cols(ch, dis, imp, exp, e, heater, q, hp, temp))


def _run(b: _Builder, inp: PlanInputs, hp_lb: np.ndarray | None, c: _Cols) -> Plan | None:
    h = QuietHighs()  # no banner on stdout (edge/planner/highs.py)
    h.setOptionValue("time_limit", float(inp.time_limit_s))
    h.setOptionValue("mip_rel_gap", float(inp.mip_rel_gap))
    h.setOptionValue("simplex_strategy", SIMPLEX_FIRST)
    lb, ub, cost, lower, upper, starts, index, value = b.arrays()
    h.addVars(len(lb), lb, ub)
    h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost * COST_SCALE)
    h.addRows(len(lower), lower, upper, len(index), starts, index, value)
    if inp.start is not None:
        h.setOptionValue("simplex_strategy", SIMPLEX_WARM)
        h.setBasis(inp.start.moved(inp.forecast.t0_s, b))
    h.run()  # the LP: the heat pump's duty continuous from 0
    basis = Basis.of(inp.forecast.t0_s, inp.forecast.slot_s, b, h.getBasis())
    iterations = int(h.getInfo().simplex_iteration_count)
    if c.hp is not None and hp_lb is not None and float(hp_lb.max(initial=0.0)) > 0:
        hp = c.hp.astype(np.int32)
        if inp.hp_on_off == "milp":  # semi-continuous: 0, or from hp_lb to its bound
            h.changeColsBounds(len(hp), hp, hp_lb, ub[hp])
            kinds = np.full(len(hp), highspy.HighsVarType.kSemiContinuous)
            h.changeColsIntegrality(len(hp), hp, kinds)
            h.run()
        elif inp.hp_on_off == "round" and h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            on = np.array(h.getSolution().col_value)[hp] >= 0.5 * hp_lb
            h.changeColsBounds(len(hp), hp, np.where(on, hp_lb, 0.0), np.where(on, ub[hp], 0.0))
            h.setOptionValue("simplex_strategy", SIMPLEX_AFTER)
            h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status == highspy.HighsModelStatus.kOptimal:
        word = "optimal"
    elif status == highspy.HighsModelStatus.kTimeLimit and info.primal_solution_status:
        word = "time limit"
    else:
        return None
    x = np.array(h.getSolution().col_value)
    cost_gbp = float(info.objective_function_value) / COST_SCALE
    plan = _plan(x, inp, c, float(h.getRunTime()), word, cost_gbp)
    return dataclasses.replace(plan, iterations=iterations, basis=basis)


def _plan(
    x: np.ndarray, inp: PlanInputs, c: _Cols, solve_s: float, status: str, cost: float
) -> Plan:
    fc, bat = inp.forecast, inp.battery
    n = fc.n

    def col(idx: np.ndarray | None) -> tuple[float, ...]:
        return tuple(float(v) for v in x[idx]) if idx is not None else (0.0,) * n

    ch, dis, imp, exp = col(c.ch), col(c.dis), col(c.imp), col(c.exp)
    kwh = slot_lengths_s(inp) / 3.6e6
    bill = sum(
        (i_w * p_i - x_w * p_x) * float(k)
        for i_w, x_w, p_i, p_x, k in zip(
            imp, exp, inp.import_gbp_per_kwh, inp.export_gbp_per_kwh, kwh, strict=True
        )
    )
    tank = inp.tank
    if tank is not None and c.q is not None:
        cap_k = tank.volume_l * WATER_WH_PER_L_K
        tank_degc = tuple(tank.cold_water_degc + v / cap_k for v in col(c.q))
    else:
        tank_degc = (inp.state.tank_degc,) * n
    house = col(c.temp) if c.temp is not None else (inp.state.house_degc,) * n
    return Plan(
        t0_s=fc.t0_s,
        slot_s=fc.slot_s,
        battery_w=tuple(d - g for d, g in zip(dis, ch, strict=True)),
        charge_w=ch,
        discharge_w=dis,
        grid_w=tuple(a - b for a, b in zip(imp, exp, strict=True)),
        soc_pct=tuple(100.0 * v / bat.capacity_wh for v in col(c.e)),
        tank_w=col(c.heater),
        tank_degc=tank_degc,
        hp_w=col(c.hp),
        house_degc=house,
        house0_degc=inp.state.house_degc,
        pv_w=tuple(max(0.0, v) for v in fc.pv_w),
        load_w=tuple(max(0.0, v) for v in fc.load_w),
        cost_gbp=cost,
        bill_gbp=bill,
        solve_s=solve_s,
        status=status,
    )
