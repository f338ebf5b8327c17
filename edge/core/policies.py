"""The core's policies, one small pure function each, in the order decide() applies them.

Powers in W; battery + = discharge; a surplus + = what would be exported. A policy that
hands out part of the surplus returns what it takes; decide() keeps the balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from edge.core.model import (
    CoreConfig,
    CoreState,
    DabReading,
    InverterCommand,
    InverterMode,
    InverterReading,
    LoadKind,
    LoadsReading,
    ProcessImage,
    RequestMode,
    Requests,
    Setpoints,
    SgState,
    evolve,
)

# A battery that still discharges more than this (W, AC side) keeps the diverter off, so
# the tank never takes battery energy while a discharge ramps down.
DISCHARGE_GATE_W = 20.0
HOUR_S = 3600.0
TANK_PROBE_W = 200.0  # a diverter setpoint at least this large tells whether the tank takes it
# Enum members read every cycle, as module constants: under CPython 3.11 reading a member
# off its class (SgState.NORMAL) costs about 0.3 µs, ten times a global's, and a cycle
# reads a dozen. They are the same objects, so `is` compares as before.
_NORMAL, _RECOMMEND = SgState.NORMAL, SgState.RECOMMEND
_SELF_USE, _STANDBY = RequestMode.SELF_USE, RequestMode.STANDBY
_TANK, _HEAT_PUMP = LoadKind.TANK, LoadKind.HEAT_PUMP


class Window(NamedTuple):
    """Allowed battery power: lo_w <= p <= hi_w (+ = discharge), and what set each bound.
    A NamedTuple rather than a frozen dataclass: one is made every cycle, and a tuple is
    made three times faster."""

    lo_w: float
    hi_w: float
    lo_why: str = "battery at its power limit"
    hi_why: str = "battery at its power limit"

    def clamp(self, p_w: float) -> float:
        return max(self.lo_w, min(self.hi_w, p_w))

    def why(self, p_w: float) -> str:
        """What stops the battery at p_w, or "" when it is inside the window."""
        return self.lo_why if p_w < self.lo_w else self.hi_why if p_w > self.hi_w else ""


def _since(holds: bool, since_s: float | None, t_s: float) -> float | None:
    """Since when a condition has held: since_s if it already held, t_s if it starts now,
    None if it does not hold."""
    if not holds:
        return None
    return t_s if since_s is None else since_s


# Off the core's loop: the emergency stop, the safe state, a self-use request.


def requested_mode(req: Requests, t_s: float) -> RequestMode:
    """The mode in force: the user's until its expiry, AUTO after it."""
    return req.mode if t_s < req.mode_until_s else RequestMode.AUTO


def stale_data(image: ProcessImage, cfg: CoreConfig) -> str | None:
    """Why the system must be in the safe state (data missing or too old), or None."""
    inv = image.inverter
    if inv is None:
        return "no inverter data yet"
    if inv.age_s > cfg.inverter_stale_after_s:
        return f"inverter data {inv.age_s:.1f} s old"
    if cfg.bms_required:
        if image.bms is None:
            return "no BMS data yet"
        if image.bms.age_s > cfg.bms_stale_after_s:
            return f"BMS data {image.bms.age_s:.1f} s old"
    if cfg.dab_enabled:
        if image.dab is None:
            return "no DAB board data yet"
        if image.dab.age_s > cfg.dab_stale_after_s:
            return f"DAB board data {image.dab.age_s:.1f} s old"
    return None


def off_the_loop(image: ProcessImage, cfg: CoreConfig, mode: RequestMode) -> Setpoints | None:
    """The setpoints when the core gives up the battery, or None when it keeps it: an
    emergency stop idles everything (the inverter passive at 0 W); stale data, then a
    self-use request, hand the battery to the inverter's own self-use loop. Either way the
    DAB string, the diverter and the heat pump's boost are off."""
    if image.requests.emergency_stop:
        stop = InverterCommand(InverterMode.PASSIVE, 0.0)
        return Setpoints(stop, 0.0, "emergency stop: everything idle")
    why = stale_data(image, cfg)
    if why is not None:
        return Setpoints(InverterCommand(InverterMode.SELF_USE), 0.0, f"safe state: {why}")
    if mode is _SELF_USE:
        own_loop = InverterCommand(InverterMode.SELF_USE)
        return Setpoints(own_loop, 0.0, "requested: the inverter's own self-use")
    return None


def left_the_loop(sp: Setpoints, t_s: float, state: CoreState) -> CoreState:
    """The state the core keeps while off its loop: no battery direction, no diverter
    setpoint, no tank refusal under way, and the heat pump back to NORMAL (its timers
    restart: a change of state now, no surplus counted)."""
    hp_changed_s = t_s if state.hp_state is not SgState.NORMAL else state.hp_changed_s
    return evolve(
        state,
        reason=sp.reason,
        battery_sign=0,
        hp_state=SgState.NORMAL,
        hp_changed_s=hp_changed_s,
        hp_surplus_since_s=None,
        diverter_w=0.0,
        tank_refused_since_s=None,
    )


# The balance every share is taken from.


def usable_dab(image: ProcessImage, cfg: CoreConfig) -> DabReading | None:
    """The DAB board's reading if its string may be charged: fitted, fresh, not tripped."""
    dab = image.dab
    if cfg.dab_enabled and dab is not None and dab.age_s <= cfg.dab_stale_after_s:
        return None if dab.value.tripped else dab.value
    return None


def usable_loads(image: ProcessImage, cfg: CoreConfig) -> LoadsReading | None:
    """The flexible loads' reading if it is fresh enough to act on."""
    loads = image.loads
    return loads.value if loads is not None and loads.age_s <= cfg.loads_stale_after_s else None


def surplus(
    inverter: InverterReading, dab: DabReading | None, loads: LoadsReading | None, hp: SgState
) -> float:
    """What storage and the flexible loads can share (+ = would be exported if they all
    stopped): the grid and the battery with the DAB string's, the element's and a boosted
    heat pump's present draw taken back out, so the battery never feeds them."""
    dab_now_w = dab.charge_current_a * dab.string_voltage_v if dab is not None else 0.0
    heater_now_w = loads.heater_w if loads is not None else 0.0
    boosted = hp in SG_RUNS  # RECOMMEND or FORCE
    hp_now_w = loads.heat_pump_w if loads is not None and boosted else 0.0
    return -(inverter.grid_power_w + inverter.battery_power_w - dab_now_w - heater_now_w - hp_now_w)


# The battery: its window, the requests that set it, self-consumption.


def battery_window(image: ProcessImage, soc_pct: float, cfg: CoreConfig) -> Window:
    """The battery's window from the hardware's side: configured limits, live BMS limits,
    the reserve (the user's setting if any) and the maximum SOC."""
    lo, hi = -cfg.max_charge_w, cfg.max_discharge_w
    lo_why = hi_why = "battery at its power limit"
    bms = image.bms
    if bms is not None and bms.age_s <= cfg.bms_stale_after_s:
        if bms.value.charge_limit_w < -lo:
            lo, lo_why = -max(0.0, bms.value.charge_limit_w), "BMS charge limit"
        if bms.value.discharge_limit_w < hi:
            hi, hi_why = max(0.0, bms.value.discharge_limit_w), "BMS discharge limit"
    reserve = image.requests.reserve_soc_pct
    reserve = cfg.reserve_soc_pct if reserve is None else reserve
    if soc_pct <= reserve:
        hi, hi_why = 0.0, f"reserve SOC {reserve:g} % reached: no discharge"
    if soc_pct >= cfg.max_soc_pct:
        lo, lo_why = 0.0, f"battery at {cfg.max_soc_pct:g} %: no charge"
    return Window(lo, hi, lo_why, hi_why)


def requested_battery(
    req: Requests, mode: RequestMode, t_s: float, window: Window, surplus_w: float
) -> tuple[float, str] | None:
    """The battery's power and why, when a request sets it: standby idles it; a force
    charge charges at least the requested power, more if the surplus offers more, inside
    the window. None when no request sets it."""
    if mode is _STANDBY:
        return 0.0, "requested: standby"
    if t_s < req.force_charge_until_s and req.force_charge_w > 0:
        battery_w = min(window.clamp(-req.force_charge_w), window.clamp(-surplus_w))
        return battery_w, f"requested: force charge {req.force_charge_w:g} W"
    return None


def anti_flip(battery_w: float, t_s: float, cfg: CoreConfig, state: CoreState) -> float:
    """No reversal of the battery's direction within hold_s of the last one unless the
    error exceeds flip_threshold_w: a small reversal idles the battery instead."""
    sign = (battery_w > 0) - (battery_w < 0)
    reversing = sign != 0 and state.battery_sign != 0 and sign != state.battery_sign
    if reversing and t_s - state.last_flip_s < cfg.hold_s and abs(battery_w) < cfg.flip_threshold_w:
        return 0.0
    return battery_w


def self_consumption(
    surplus_w: float,
    tank_boosting: bool,
    window: Window,
    req: Requests,
    t_s: float,
    cfg: CoreConfig,
    state: CoreState,
) -> tuple[float, str]:
    """The battery's power and why: it takes the surplus (covers the deficit) so the grid
    goes to zero, plus the element's power for a boost if the user lets the battery heat
    water; inside the window, at most the user's maximum charge, and held idle rather
    than reversed inside the hold time (anti_flip)."""
    want_w = -surplus_w
    if req.allow_battery_to_heat_water and tank_boosting:
        want_w += cfg.diverter_element_w
    target_w = window.clamp(want_w)
    user_max = req.max_charge_w
    capped = False
    if user_max is not None and target_w < -user_max:
        target_w, capped = -user_max, True
    battery_w = anti_flip(target_w, t_s, cfg, state)
    if battery_w == 0.0 and target_w != 0.0:
        return battery_w, "self-consumption, held: no flip inside the hold time"
    limit = f"the user's maximum charge {user_max:g} W" if capped else window.why(want_w)
    return battery_w, f"self-consumption, {limit}" if limit else "self-consumption"


def battery_direction(battery_w: float, t_s: float, state: CoreState) -> tuple[int, float]:
    """The battery's direction for the next cycle's anti_flip (idle keeps the last one)
    and when it last changed (now, if battery_w starts or reverses a direction)."""
    sign = (battery_w > 0) - (battery_w < 0)
    flip_s = t_s if sign != 0 and sign != state.battery_sign else state.last_flip_s
    return sign or state.battery_sign, flip_s


# What the battery cannot take: the DAB string, then the flexible loads.


def dab_share(left_w: float, dab: DabReading | None, cfg: CoreConfig) -> tuple[float, float, str]:
    """The DAB string's charge current (A), the power it takes and why: the surplus the
    battery leaves, up to the string's maximum current. It stores electricity, so it
    comes before the loads' heat. Nothing without a usable board or a surplus."""
    if dab is not None and left_w > 0 and dab.string_voltage_v > 0:
        current_a = min(cfg.dab_max_charge_current_a, left_w / dab.string_voltage_v)
        return current_a, current_a * dab.string_voltage_v, "surplus to the DAB string"
    return 0.0, 0.0, ""


def tank_may_heat(req: Requests, loads: LoadsReading | None, cfg: CoreConfig) -> bool:
    """Whether the diverter may drive the element at all: the site has one, the user has
    it switched on, the loads' reading is usable, and the tank is below its maximum (an
    unknown temperature does not stop it)."""
    if not (cfg.tank_enabled and req.diverter_enabled and loads is not None):
        return False
    return loads.tank_temp_degc is None or loads.tank_temp_degc < cfg.tank_max_degc


def tank_refusal(
    t_s: float, loads: LoadsReading | None, cfg: CoreConfig, state: CoreState
) -> tuple[float | None, float]:
    """Since when the element has refused its last setpoint (drawn under a tenth of a
    setpoint of at least TANK_PROBE_W), and until when the tank counts as full: a refusal
    lasting tank_refuse_s means its thermostat is open, whatever the probe says, and the
    tank is offered nothing for tank_retry_s."""
    refusing = (
        loads is not None
        and state.diverter_w >= TANK_PROBE_W
        and loads.heater_w < 0.1 * state.diverter_w
    )
    refused_since = _since(refusing, state.tank_refused_since_s, t_s)
    if refused_since is not None and t_s - refused_since >= cfg.tank_refuse_s:
        return None, t_s + cfg.tank_retry_s
    return refused_since, state.tank_full_until_s


@dataclass(frozen=True)
class Tank:
    """The tank this cycle, when the diverter may drive its element (tank_may_heat)."""

    boost: bool  # the user's boost is on
    battery_discharging: bool  # the battery still discharges, beyond DISCHARGE_GATE_W
    full: bool  # its thermostat was found open (tank_refusal) and it is not retried yet
    from_grid: bool = False  # the plan heats it from the grid (the battery is held)


def tank_share(left_w: float, tank: Tank, cfg: CoreConfig) -> tuple[float, str]:
    """The diverter's setpoint (W) and why: the whole element for a boost; else the
    surplus still left, up to the element's power, unless the battery still discharges
    (the tank never takes battery energy) or the tank is full."""
    if tank.boost:
        return cfg.diverter_element_w, "boost hot water"
    if tank.from_grid and not tank.battery_discharging and not tank.full:
        return cfg.diverter_element_w, "plan: the tank from the grid"
    if left_w > 0 and not tank.battery_discharging:
        if tank.full:
            return 0.0, "tank full (its thermostat is open)"
        return min(cfg.diverter_element_w, left_w), "surplus to the tank"
    return 0.0, ""


def heat_pump(
    avail_w: float, t_s: float, cfg: CoreConfig, state: CoreState
) -> tuple[SgState, CoreState]:
    """SG-Ready RECOMMEND on a confirmed surplus, back to NORMAL on a confirmed deficit,
    within the minimum on/off times and the starts per hour (loads-baseline-s2.md §2.3).
    avail_w: surplus offered to the heat pump, as if it were not boosted."""
    if not cfg.hp_enabled:
        return SgState.NORMAL, state
    starts = state.hp_starts_s
    if starts:  # most cycles have none to filter
        starts = tuple(s for s in starts if t_s - s < HOUR_S)
    surplus_since = _since(avail_w >= cfg.hp_power_w, state.hp_surplus_since_s, t_s)
    deficit_since = _since(avail_w < 0.5 * cfg.hp_power_w, state.hp_deficit_since_s, t_s)
    hp, changed = state.hp_state, state.hp_changed_s
    if hp is _NORMAL:
        if (
            surplus_since is not None
            and t_s - surplus_since >= cfg.hp_confirm_s
            and t_s - changed >= cfg.hp_min_off_s
            and len(starts) < cfg.hp_max_starts_per_h
        ):
            hp, changed, starts = _RECOMMEND, t_s, (*starts, t_s)
    elif (
        deficit_since is not None
        and t_s - deficit_since >= cfg.hp_release_s
        and t_s - changed >= cfg.hp_min_on_s
    ):
        hp, changed = _NORMAL, t_s
    if (
        hp is state.hp_state
        and changed is state.hp_changed_s
        and starts is state.hp_starts_s
        and surplus_since is state.hp_surplus_since_s
        and deficit_since is state.hp_deficit_since_s
    ):
        return hp, state  # most cycles change nothing here: the same values, not a copy
    return hp, evolve(
        state,
        hp_state=hp,
        hp_changed_s=changed,
        hp_starts_s=starts,
        hp_surplus_since_s=surplus_since,
        hp_deficit_since_s=deficit_since,
    )


SG_RUNS = (SgState.RECOMMEND, SgState.FORCE)  # the states that run the compressor


def requested_heat_pump(req: Requests, t_s: float) -> SgState | None:
    """The SG-Ready state a timed request (a CEM, MQTT) asks for now; None: none."""
    if req.heat_pump_sg is None or t_s >= req.heat_pump_sg_until_s:
        return None
    return SgState(req.heat_pump_sg)


def export_limit_in_force(req: Requests, t_s: float) -> float | None:
    """The export limit now: the user's, tightened by a timed cap while it lasts."""
    cap = req.export_cap_w if t_s < req.export_cap_until_s else None
    if cap is None or (req.export_limit_w is not None and req.export_limit_w <= cap):
        return req.export_limit_w
    return cap


def planned_heat_pump(
    want: SgState, t_s: float, cfg: CoreConfig, state: CoreState
) -> tuple[SgState, CoreState]:
    """A requested or the plan's SG-Ready state, within the same minimum on/off times and
    starts per hour as the surplus rule (heat_pump); its surplus timers restart. LOCK and
    NORMAL count as off, RECOMMEND and FORCE as running."""
    if not cfg.hp_enabled:
        return SgState.NORMAL, state
    starts = tuple(s for s in state.hp_starts_s if t_s - s < HOUR_S)
    hp, changed = state.hp_state, state.hp_changed_s
    if want is not hp:
        if hp not in SG_RUNS and want in SG_RUNS:  # a start
            if t_s - changed >= cfg.hp_min_off_s and len(starts) < cfg.hp_max_starts_per_h:
                hp, changed, starts = want, t_s, (*starts, t_s)
        elif hp in SG_RUNS and want not in SG_RUNS:  # a stop
            if t_s - changed >= cfg.hp_min_on_s:
                hp, changed = want, t_s
        else:
            hp = want  # RECOMMEND <-> FORCE or NORMAL <-> LOCK: neither starts nor stops
    return hp, evolve(
        state,
        hp_state=hp,
        hp_changed_s=changed,
        hp_starts_s=starts,
        hp_surplus_since_s=None,
        hp_deficit_since_s=None,
    )


class LoadShares(NamedTuple):
    """What the flexible loads get (flexible_loads)."""

    diverter_w: float  # offered to the element
    sg_ready: SgState
    state: CoreState  # with the heat pump's timers
    left_w: float  # the surplus still left after them
    reasons: tuple[str, ...]


def flexible_loads(
    left_w: float,
    tank: Tank | None,
    t_s: float,
    cfg: CoreConfig,
    state: CoreState,
    planned_hp: SgState | None = None,
    hp_by: str = "plan",  # who asked for planned_hp: "plan" or "request"
) -> LoadShares:
    """What each flexible load gets of the surplus left, in the configured priority: the
    tank through the diverter (tank_share; None: it may not heat), the heat pump through
    SG-Ready (heat_pump, offered what is left, and taking its rated power when boosted;
    or the plan's state, planned_heat_pump)."""
    diverter_w, hp = 0.0, _NORMAL
    reasons: list[str] = []
    if planned_hp is not None and LoadKind.HEAT_PUMP in cfg.loads_priority:
        # The plan's pre-heat: its draw is already in the balance (decide), so the tank
        # gets only the surplus it leaves.
        hp, state = planned_heat_pump(planned_hp, t_s, cfg, state)
        if hp is not SgState.NORMAL:
            reasons.append(f"{hp_by}: heat pump {hp.value}")
    for load in cfg.loads_priority:
        if load is _TANK and tank is not None:
            diverter_w, why = tank_share(left_w, tank, cfg)
            left_w -= diverter_w
            if why:
                reasons.append(why)
        elif load is _HEAT_PUMP and planned_hp is None:
            hp, state = heat_pump(max(0.0, left_w), t_s, cfg, state)
            if hp is _RECOMMEND:
                left_w -= cfg.hp_power_w
                reasons.append("surplus to the heat pump")
    return LoadShares(diverter_w, hp, state, left_w, tuple(reasons))


def heat_pump_released(t_s: float, state: CoreState) -> CoreState:
    """Standby: a boosted heat pump goes back to NORMAL now (no surplus counted)."""
    if state.hp_state is SgState.NORMAL:
        return state
    return evolve(state, hp_state=SgState.NORMAL, hp_changed_s=t_s, hp_surplus_since_s=None)


# The export limit, last: it may send more into the battery.


def export_limit(
    left_w: float, battery_w: float, limit_w: float | None, window: Window
) -> tuple[float, float, str]:
    """The battery's power once the export limit holds, the export still over the limit,
    and why: what would go out beyond the limit goes into the battery, past the user's cap
    and a standby if need be (the window still holds). PV cannot be curtailed through
    these inverters: what is left over the limit is reported."""
    over_w, why = 0.0, ""
    if limit_w is not None and left_w > limit_w:
        more_w = window.clamp(battery_w - (left_w - limit_w))
        if more_w < battery_w:
            left_w -= battery_w - more_w
            battery_w = more_w
            why = f"export limit {limit_w:g} W: the battery takes more"
        over_w = max(0.0, left_w - limit_w)
    return battery_w, over_w, why
