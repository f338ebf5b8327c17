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

Each policy is a function in edge/core/policies.py: off_the_loop (1, 2 and a self-use
request), battery_window (3), requested_battery and the export_limit (4),
self_consumption with anti_flip (5), dab_share and flexible_loads: tank_share after
tank_may_heat and tank_refusal, the heat_pump (6). decide() orders them.

A timed SG-Ready request (requested_heat_pump) takes the plan's place for the heat pump,
under the same rules as 6; a timed export cap only tightens the export limit.

A planner's slot (edge/core/planned.py) acts between 4 and 5: after the user's requests,
it narrows the battery's window or sets a grid charge or an export inside it, and asks
for the tank from the grid or the heat pump's pre-heat through the same rules as 6.
"""

from __future__ import annotations

from functools import cache

from edge.core.model import (
    CoreConfig,
    CoreState,
    InverterCommand,
    InverterMode,
    ProcessImage,
    RequestMode,
    Setpoints,
    SgState,
    evolve,
)
from edge.core.planned import plan_in_force, planned_battery
from edge.core.policies import (
    DISCHARGE_GATE_W,
    LoadShares,
    Tank,
    battery_direction,
    battery_window,
    dab_share,
    export_limit,
    export_limit_in_force,
    flexible_loads,
    heat_pump_released,
    left_the_loop,
    off_the_loop,
    requested_battery,
    requested_heat_pump,
    requested_mode,
    self_consumption,
    surplus,
    tank_may_heat,
    tank_refusal,
    usable_dab,
    usable_loads,
)

__all__ = ["DISCHARGE_GATE_W", "decide"]

# Read every cycle: module constants, not class attributes (see policies.py's).
_STANDBY, _PASSIVE = RequestMode.STANDBY, InverterMode.PASSIVE


@cache
def tank_of(boost: bool, discharging: bool, full: bool, from_grid: bool) -> Tank:
    """Tank(...), one frozen instance for each of the 16 combinations of its four flags:
    a frozen dataclass takes a microsecond to make, and every cycle needs one."""
    return Tank(boost, discharging, full, from_grid)


def decide(image: ProcessImage, cfg: CoreConfig, state: CoreState) -> tuple[Setpoints, CoreState]:
    """This cycle's setpoints and the state for the next: the policies, in priority order."""
    t, req = image.t_s, image.requests
    mode = requested_mode(req, t)
    off = off_the_loop(image, cfg, mode)  # 1, 2 and a self-use request
    if off is not None:
        return off, left_the_loop(off, t, state)
    assert image.inverter is not None
    inverter = image.inverter.value
    dab, loads = usable_dab(image, cfg), usable_loads(image, cfg)
    slot, plan_why = plan_in_force(image, cfg)
    # A heat pump the plan runs is a load the battery's share must count (the plan set
    # the battery for it); one boosted on surplus is not.
    asked_hp = requested_heat_pump(req, t)  # a timed request is stronger than the plan
    planned_hp = asked_hp or (slot.heat_pump if slot is not None else None)
    surplus_w = surplus(inverter, dab, loads, SgState.NORMAL if planned_hp else state.hp_state)
    window = battery_window(image, inverter.battery_soc_pct, cfg)  # 3
    refused_since, full_until = tank_refusal(t, loads, cfg, state)
    boost, tank_ok = t < req.boost_hot_water_until_s, tank_may_heat(req, loads, cfg)
    battery = requested_battery(req, mode, t, window, surplus_w)  # 4
    if battery is None and slot is not None:  # the plan, inside the window
        soc = inverter.battery_soc_pct
        battery = planned_battery(
            slot, soc, surplus_w, tank_ok and boost, window, req, t, cfg, state
        )
    battery_w, why = battery or self_consumption(
        surplus_w, tank_ok and boost, window, req, t, cfg, state
    )  # 5
    reasons = [why, plan_why]
    left_w = surplus_w + battery_w  # what is left once the battery has its share
    if mode is _STANDBY:  # everything but the export limit waits
        dab_a = 0.0
        shares = LoadShares(0.0, SgState.NORMAL, heat_pump_released(t, state), left_w, ())
    else:
        dab_a, dab_w, why = dab_share(left_w, dab, cfg)  # 6: storage first, then the loads
        discharging = inverter.battery_power_w > DISCHARGE_GATE_W or battery_w > 0
        from_grid = slot is not None and slot.tank_from_grid
        tank = tank_of(boost, discharging, t < full_until, from_grid) if tank_ok else None
        shares = flexible_loads(
            left_w - dab_w, tank, t, cfg, state, planned_hp, "request" if asked_hp else "plan"
        )
        reasons += [why, *shares.reasons]
    battery_w, over_w, why = export_limit(
        shares.left_w, battery_w, export_limit_in_force(req, t), window
    )
    reason = "; ".join([r for r in (*reasons, why) if r])
    sign, flip_s = battery_direction(battery_w, t, state)
    command = InverterCommand(_PASSIVE, battery_w)
    sp = Setpoints(command, dab_a, reason, shares.diverter_w, shares.sg_ready, over_w)
    kept = shares.state
    if (
        reason == kept.reason
        and sign == kept.battery_sign
        and flip_s is kept.last_flip_s
        and shares.diverter_w == kept.diverter_w  # never -0.0: tank_share's are >= +0.0
        and refused_since is kept.tank_refused_since_s
        and full_until is kept.tank_full_until_s
    ):
        return sp, kept  # a steady cycle: the same values, without a copy
    return sp, evolve(
        shares.state,
        reason=reason,
        battery_sign=sign,
        last_flip_s=flip_s,
        diverter_w=shares.diverter_w,
        tank_refused_since_s=refused_since,
        tank_full_until_s=full_until,
    )
