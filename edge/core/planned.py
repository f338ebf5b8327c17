"""The planner's slot as a policy: it narrows the battery's window (and asks for the
tank and the heat pump), after the safety rules, the BMS, the reserve and the user's
requests, never around them. Powers in W, battery + = discharge, surplus + = export."""

from __future__ import annotations

from edge.core.model import CoreConfig, CoreState, PlanBattery, PlannedSlot, ProcessImage, Requests
from edge.core.policies import Window, self_consumption


def plan_in_force(image: ProcessImage, cfg: CoreConfig) -> tuple[PlannedSlot | None, str]:
    """The planned slot that holds now, or None and why not ("" without a planner): no
    plan, a stale plan or no slot for now leave the core to today's self-consumption."""
    if not cfg.planner_enabled:
        return None, ""
    slot, t = image.plan, image.t_s
    if slot is None:
        return None, "no plan: self-consumption"
    age_s = t - slot.made_s
    if age_s > cfg.plan_max_age_s:
        return None, f"plan {age_s:.0f} s old: self-consumption"
    if not slot.start_s <= t < slot.end_s:
        return None, "no planned slot for now: self-consumption"
    return slot, ""


def held(window: Window, why: str) -> Window:
    """The window with no discharge left in it."""
    return Window(window.lo_w, min(window.hi_w, 0.0), window.lo_why, why)


def planned_battery(
    slot: PlannedSlot,
    soc_pct: float,
    surplus_w: float,
    tank_boosting: bool,
    window: Window,
    req: Requests,
    t_s: float,
    cfg: CoreConfig,
    state: CoreState,
) -> tuple[float, str]:
    """The battery's power and why, inside the window (BMS, reserve, maximum SOC) that
    the plan narrows: a grid charge charges at least its power up to its SOC; an export
    discharges at least its power down to its SOC; otherwise self-consumption, with no
    discharge when the slot holds, heats the tank from the grid, or is at its SOC."""
    action, target = slot.battery, slot.target_soc_pct
    if action is PlanBattery.GRID_CHARGE and soc_pct < target:
        want_w = min(-slot.power_w, -surplus_w)
        why = f"plan: grid charge {slot.power_w:.0f} W to {target:.0f} %"
        return window.clamp(want_w), ", ".join(w for w in (why, window.why(want_w)) if w)
    if action is PlanBattery.EXPORT and soc_pct > target:
        want_w = max(slot.power_w, -surplus_w)
        why = f"plan: export {slot.power_w:.0f} W down to {target:.0f} %"
        return window.clamp(want_w), ", ".join(w for w in (why, window.why(want_w)) if w)
    if action is PlanBattery.HOLD or action is PlanBattery.GRID_CHARGE:
        window = held(window, "plan: hold (no discharge)")
    elif slot.tank_from_grid:
        window = held(window, "plan: hold while the tank heats from the grid")
    elif soc_pct <= target:
        window = held(window, f"plan: kept at {target:.0f} % for later")
    return self_consumption(surplus_w, tank_boosting, window, req, t_s, cfg, state)
