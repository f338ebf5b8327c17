"""The decision: policies in priority order, each narrowing the battery power window.

1. emergency stop: battery idle, DAB, diverter and heat-pump boost off;
2. safety: stale or missing inverter data (or BMS or DAB board data, where fitted)
   -> the inverter's own self-use (safe state), diverter off, heat pump normal;
3. BMS and SOC limits: the BMS's live limits, no discharge at or below the reserve SOC,
   no charge at the maximum;
4. user requests, each with an expiry: mode (self-use, standby), force charge, boost hot
   water; and the user's settings: reserve SOC, maximum charge power, export limit (what
   would go out beyond it goes into the battery, even past the user's cap or a standby);
5. self-consumption: the battery takes the house's net power so the grid goes to zero,
   with no charge/discharge reversal inside the hold time unless the error is large;
6. what the battery cannot take goes to the DAB string (storage first), then to the
   flexible loads in the configured priority (the tank through the diverter, the heat pump
   through SG-Ready).

One balance decides them all, so nothing chases anything else. The flexible loads'
present draw is taken back out of the balance before the battery's share is fixed, so the
battery never sees the heater as a load to feed: it never discharges into the tank unless
the user allows it (loads-baseline-s2.md §5.3, the forum's kettle-off case).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from edge.core.model import (
    CoreConfig,
    CoreState,
    InverterCommand,
    InverterMode,
    LoadKind,
    ProcessImage,
    RequestMode,
    Setpoints,
    SgState,
)

# A battery that still discharges more than this (W, AC side) keeps the diverter off, so
# the tank never takes battery energy while a discharge ramps down.
DISCHARGE_GATE_W = 20.0
HOUR_S = 3600.0
TANK_PROBE_W = 200.0  # a diverter setpoint at least this large tells whether the tank takes it


@dataclass(frozen=True)
class Window:
    """Allowed battery power: lo_w <= p <= hi_w (+ = discharge), and what set each bound."""

    lo_w: float
    hi_w: float
    lo_why: str = "battery at its power limit"
    hi_why: str = "battery at its power limit"

    def clamp(self, p_w: float) -> float:
        return max(self.lo_w, min(self.hi_w, p_w))

    def why(self, p_w: float) -> str:
        """What stops the battery at p_w, or "" when it is inside the window."""
        return self.lo_why if p_w < self.lo_w else self.hi_why if p_w > self.hi_w else ""


def _battery_window(image: ProcessImage, soc_pct: float, cfg: CoreConfig) -> Window:
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


def _stale(image: ProcessImage, cfg: CoreConfig) -> str | None:
    """Why the system must be in the safe state, or None."""
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


def _safe(reason: str, mode: InverterCommand | None = None) -> Setpoints:
    """Battery to the inverter's own loop (or the given command), everything else off."""
    return Setpoints(mode or InverterCommand(InverterMode.SELF_USE), 0.0, reason)


def _anti_flip(battery_w: float, t_s: float, cfg: CoreConfig, state: CoreState) -> float:
    """No reversal of the battery's direction within hold_s of the last one unless the
    error exceeds flip_threshold_w: a small reversal idles the battery instead."""
    sign = (battery_w > 0) - (battery_w < 0)
    reversing = sign != 0 and state.battery_sign != 0 and sign != state.battery_sign
    if reversing and t_s - state.last_flip_s < cfg.hold_s and abs(battery_w) < cfg.flip_threshold_w:
        return 0.0
    return battery_w


def _heat_pump(
    avail_w: float, t_s: float, cfg: CoreConfig, state: CoreState
) -> tuple[SgState, CoreState]:
    """SG-Ready RECOMMEND on a confirmed surplus, back to NORMAL on a confirmed deficit,
    within the minimum on/off times and the starts per hour (loads-baseline-s2.md §2.3).
    avail_w: surplus offered to the heat pump, as if it were not boosted."""
    if not cfg.hp_enabled:
        return SgState.NORMAL, state
    starts = tuple(s for s in state.hp_starts_s if t_s - s < HOUR_S)
    enough = avail_w >= cfg.hp_power_w
    short = avail_w < 0.5 * cfg.hp_power_w
    surplus_since = (
        (state.hp_surplus_since_s if state.hp_surplus_since_s is not None else t_s)
        if enough
        else None
    )
    deficit_since = (
        (state.hp_deficit_since_s if state.hp_deficit_since_s is not None else t_s)
        if short
        else None
    )
    hp = state.hp_state
    changed = state.hp_changed_s
    if hp is SgState.NORMAL:
        if (
            surplus_since is not None
            and t_s - surplus_since >= cfg.hp_confirm_s
            and t_s - changed >= cfg.hp_min_off_s
            and len(starts) < cfg.hp_max_starts_per_h
        ):
            hp, changed, starts = SgState.RECOMMEND, t_s, (*starts, t_s)
    elif (
        deficit_since is not None
        and t_s - deficit_since >= cfg.hp_release_s
        and t_s - changed >= cfg.hp_min_on_s
    ):
        hp, changed = SgState.NORMAL, t_s
    return hp, replace(
        state,
        hp_state=hp,
        hp_changed_s=changed,
        hp_starts_s=starts,
        hp_surplus_since_s=surplus_since,
        hp_deficit_since_s=deficit_since,
    )


def decide(image: ProcessImage, cfg: CoreConfig, state: CoreState) -> tuple[Setpoints, CoreState]:
    req = image.requests
    t = image.t_s
    sp = None
    mode = req.mode if t < req.mode_until_s else RequestMode.AUTO
    why = _stale(image, cfg)
    if req.emergency_stop:
        sp = _safe("emergency stop: everything idle", InverterCommand(InverterMode.PASSIVE, 0.0))
    elif why is not None:
        sp = _safe(f"safe state: {why}")
    elif mode is RequestMode.SELF_USE:
        sp = _safe("requested: the inverter's own self-use")
    if sp is not None:
        # Off the core's own loop: the heat pump back to NORMAL (its timers restart).
        hp_changed_s = t if state.hp_state is not SgState.NORMAL else state.hp_changed_s
        return sp, replace(
            state,
            reason=sp.reason,
            battery_sign=0,
            hp_state=SgState.NORMAL,
            hp_changed_s=hp_changed_s,
            hp_surplus_since_s=None,
            diverter_w=0.0,
            tank_refused_since_s=None,
        )

    assert image.inverter is not None
    r = image.inverter.value
    dab = image.dab
    dab_ok = (
        cfg.dab_enabled
        and dab is not None
        and dab.age_s <= cfg.dab_stale_after_s
        and not dab.value.tripped
    )
    dab_now_w = (
        dab.value.charge_current_a * dab.value.string_voltage_v
        if dab is not None and dab_ok
        else 0.0
    )
    loads = image.loads
    loads_ok = loads is not None and loads.age_s <= cfg.loads_stale_after_s
    heater_now_w = loads.value.heater_w if loads is not None and loads_ok else 0.0
    hp_now_w = (
        loads.value.heat_pump_w
        if loads is not None and loads_ok and state.hp_state is SgState.RECOMMEND
        else 0.0
    )
    # Surplus available to storage and flexible loads, their own draw taken back out
    # (+ = would be exported if they all stopped).
    surplus_w = -(r.grid_power_w + r.battery_power_w - dab_now_w - heater_now_w - hp_now_w)
    window = _battery_window(image, r.battery_soc_pct, cfg)

    boost = t < req.boost_hot_water_until_s
    tank_ok = (
        cfg.tank_enabled
        and req.diverter_enabled
        and loads is not None
        and loads_ok
        and (loads.value.tank_temp_degc is None or loads.value.tank_temp_degc < cfg.tank_max_degc)
    )
    # The element refusing its setpoint: its thermostat is open.
    refused_since = None
    if loads_ok and state.diverter_w >= TANK_PROBE_W and heater_now_w < 0.1 * state.diverter_w:
        refused_since = state.tank_refused_since_s if state.tank_refused_since_s is not None else t
    full_until = state.tank_full_until_s
    if refused_since is not None and t - refused_since >= cfg.tank_refuse_s:
        full_until, refused_since = t + cfg.tank_retry_s, None
    tank_full = t < full_until
    reasons: list[str] = []
    standby = mode is RequestMode.STANDBY
    if standby:
        battery_w = 0.0
        reasons.append("requested: standby")
    elif t < req.force_charge_until_s and req.force_charge_w > 0:
        # At least the requested charge; more if the surplus offers more.
        battery_w = min(window.clamp(-req.force_charge_w), window.clamp(-surplus_w))
        reasons.append(f"requested: force charge {req.force_charge_w:g} W")
    else:
        want_w = -surplus_w
        if req.allow_battery_to_heat_water and tank_ok and boost:
            want_w += cfg.diverter_element_w  # the user lets the battery feed the boost
        target_w = window.clamp(want_w)
        user_max = req.max_charge_w
        capped = False
        if user_max is not None and target_w < -user_max:
            target_w, capped = -user_max, True  # the user's maximum charge power
        battery_w = _anti_flip(target_w, t, cfg, state)
        if battery_w == 0.0 and target_w != 0.0:
            reasons.append("self-consumption, held: no flip inside the hold time")
        else:
            limit = f"the user's maximum charge {user_max:g} W" if capped else window.why(want_w)
            reasons.append(f"self-consumption, {limit}" if limit else "self-consumption")

    # What is left once the battery has its share (+ = still exported).
    left_w = surplus_w + battery_w
    # The second string stores electricity too: it comes before the loads' heat.
    dab_a = 0.0
    if standby:
        dab_ok = tank_ok = False  # everything but the export limit waits
    if dab_ok and dab is not None and left_w > 0 and dab.value.string_voltage_v > 0:
        dab_a = min(cfg.dab_max_charge_current_a, left_w / dab.value.string_voltage_v)
        left_w -= dab_a * dab.value.string_voltage_v
        reasons.append("surplus to the DAB string")
    diverter_w = 0.0
    new_state = state
    hp = SgState.NORMAL
    battery_discharging = r.battery_power_w > DISCHARGE_GATE_W or battery_w > 0
    for load in cfg.loads_priority:
        if load is LoadKind.TANK and tank_ok:
            if boost:
                diverter_w = cfg.diverter_element_w
                reasons.append("boost hot water")
            elif left_w > 0 and not battery_discharging and tank_full:
                reasons.append("tank full (its thermostat is open)")
            elif left_w > 0 and not battery_discharging:
                diverter_w = min(cfg.diverter_element_w, left_w)
                reasons.append("surplus to the tank")
            left_w -= diverter_w
        elif load is LoadKind.HEAT_PUMP and not standby:
            hp, new_state = _heat_pump(max(0.0, left_w), t, cfg, new_state)
            if hp is SgState.RECOMMEND:
                left_w -= cfg.hp_power_w
                reasons.append("surplus to the heat pump")

    if standby and new_state.hp_state is not SgState.NORMAL:
        new_state = replace(
            new_state, hp_state=SgState.NORMAL, hp_changed_s=t, hp_surplus_since_s=None
        )
    # The export limit: what would still go out beyond it goes into the battery, past the
    # user's cap and a standby request if need be (the hardware window still holds). PV
    # cannot be curtailed through these inverters: what is left is reported.
    over_w = 0.0
    if req.export_limit_w is not None and left_w > req.export_limit_w:
        more_w = window.clamp(battery_w - (left_w - req.export_limit_w))
        if more_w < battery_w:
            left_w -= battery_w - more_w
            battery_w = more_w
            reasons.append(f"export limit {req.export_limit_w:g} W: the battery takes more")
        over_w = max(0.0, left_w - req.export_limit_w)

    reason = "; ".join(reasons)
    sp = Setpoints(
        InverterCommand(InverterMode.PASSIVE, battery_w), dab_a, reason, diverter_w, hp, over_w
    )
    sign = (battery_w > 0) - (battery_w < 0)
    flip_s = t if sign != 0 and sign != state.battery_sign else new_state.last_flip_s
    return sp, CoreState(
        reason=reason,
        battery_sign=sign or state.battery_sign,
        last_flip_s=flip_s,
        hp_state=new_state.hp_state,
        hp_changed_s=new_state.hp_changed_s,
        hp_starts_s=new_state.hp_starts_s,
        hp_surplus_since_s=new_state.hp_surplus_since_s,
        hp_deficit_since_s=new_state.hp_deficit_since_s,
        diverter_w=diverter_w,
        tank_refused_since_s=refused_since,
        tank_full_until_s=full_until,
    )
