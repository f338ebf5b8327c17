"""From a solved plan to what the core is allowed to do, slot by slot (PlannedSlot), and
the checks a plan must pass before it is used. Pure.

Each slot's action, from its planned means (W; the forecast's PV and load):
- GRID_CHARGE: the battery charges more than the PV surplus the forecast leaves, by over
  ACTION_W: charge at the planned power up to the slot's planned end SOC;
- EXPORT: it discharges more than the house's deficit, by over ACTION_W, and the house
  exports: discharge at the planned power down to the slot's end SOC;
- HOLD: it is kept from covering a deficit (planned discharge under ACTION_W);
- SELF_CONSUMPTION otherwise, allowed down to the slot's end SOC less SOC_MARGIN_PCT
  (the plan keeps the rest for later).
The tank heats from the grid where the plan heats it beyond the surplus left; the heat
pump is asked to pre-heat (preheat) over the whole of a planned rise of the house above
its normal band (RECOMMEND, or FORCE where the rise goes above RECOMMEND's top), to run
where the plan runs it on PV with the battery full (RECOMMEND), either as FORCE from a
house RECOMMEND would not start, and is kept from the core's surplus boost where the
plan leaves it a PV surplus (NORMAL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge.core.model import PlanBattery, PlannedSlot, SgState
from edge.planner.model import Plan, PlanInputs

ACTION_W = 100.0  # a planned power this far past what self-consumption would do is an action
SOC_MARGIN_PCT = 2.0  # a self-consumption slot may go this far below its planned end SOC
TANK_GRID_W = 200.0
KEEP_MARGIN = 0.15  # two conversions at 95 % and the wear, roughly
FULL_PCT = 95.0  # a battery this full has no room for the surplus the heat pump takes
RISING_K = 0.05  # the house planned this much warmer by a slot's end: a pre-heat
PREHEAT_ABOVE_K = 0.25  # a rise peaking this far above the normal band is a pre-heat
FLOOR_MARGIN_K = 0.02  # a planned house this close to the floor is at it (the LP's tolerance)


@dataclass(frozen=True)
class HeatPumpBands:
    """Where the house's normal band ends and SG-Ready RECOMMEND's begins (degC): the
    heat pump's own setpoint + hysteresis, and its RECOMMEND raise; and where RECOMMEND
    starts a stopped heat pump (its raised setpoint - hysteresis: above it, RECOMMEND
    leaves a stopped heat pump stopped)."""

    normal_top_degc: float = 20.5
    recommend_top_degc: float = 22.5
    recommend_on_degc: float = 21.5
    floor_degc: float = 19.5  # where NORMAL starts it (its setpoint - hysteresis)

    @classmethod
    def of(cls, setpoint_degc: float, hysteresis_k: float, raise_k: float) -> HeatPumpBands:
        """The bands of a heat pump with this setpoint, hysteresis (each side) and
        RECOMMEND's raise of the setpoint."""
        return cls(
            normal_top_degc=setpoint_degc + hysteresis_k,
            recommend_top_degc=setpoint_degc + raise_k + hysteresis_k,
            recommend_on_degc=setpoint_degc + raise_k - hysteresis_k,
            floor_degc=setpoint_degc - hysteresis_k,
        )


def worth_keeping(prices: tuple[float, ...] | None, i: int) -> bool:
    """Whether energy kept in slot i (in the battery or the house) can be worth more
    later: a later import price above this one by more than KEEP_MARGIN (the losses
    and the wear of keeping it). Without prices, assume so. On a flat tariff it never is,
    and the plan leaves the core to plain self-consumption."""
    if prices is None or i + 1 >= len(prices):
        return prices is None
    return prices[i] < (1.0 - KEEP_MARGIN) * max(prices[i + 1 :])


def slot_action(
    plan: Plan, i: int, bands: HeatPumpBands | None, prices: tuple[float, ...] | None = None
) -> PlannedSlot:
    """Slot i of the plan as the core's PlannedSlot (prices: the import price a slot,
    for worth_keeping)."""
    start = plan.t0_s + i * plan.slot_s
    surplus_w = plan.pv_w[i] - plan.load_w[i] - plan.hp_w[i]  # the core counts the heat pump
    ch, dis, soc = plan.charge_w[i], plan.discharge_w[i], plan.soc_pct[i]
    tank_w = plan.tank_w[i]
    left_w = max(0.0, surplus_w - ch + dis)  # the PV left after the battery's share
    from_grid = tank_w > left_w + TANK_GRID_W
    if ch > max(0.0, surplus_w) + ACTION_W and plan.grid_w[i] > ACTION_W:
        action, power, target = PlanBattery.GRID_CHARGE, ch, soc
    elif dis > max(0.0, -surplus_w) + ACTION_W and plan.grid_w[i] < -ACTION_W:
        action, power, target = PlanBattery.EXPORT, dis, soc
    elif not worth_keeping(prices, i):
        action, power, target = PlanBattery.SELF_CONSUMPTION, 0.0, 0.0
    elif surplus_w < -ACTION_W and dis < ACTION_W:
        action, power, target = PlanBattery.HOLD, 0.0, soc
    else:
        action, power, target = PlanBattery.SELF_CONSUMPTION, 0.0, soc - SOC_MARGIN_PCT
    return PlannedSlot(
        start_s=start,
        end_s=start + plan.slot_s,
        made_s=plan.t0_s,
        battery=action,
        power_w=power,
        target_soc_pct=max(0.0, min(100.0, target)),
        tank_from_grid=from_grid,
        heat_pump=preheat(plan, i, bands, prices) if bands is not None else None,
    )


def preheat(
    plan: Plan, i: int, bands: HeatPumpBands, prices: tuple[float, ...] | None = None
) -> SgState | None:
    """The SG-Ready request for slot i: where the plan runs the heat pump and the house
    rises to a peak above the thermostat's normal top by more than PREHEAT_ABOVE_K, the
    whole rise asks for RECOMMEND (FORCE where the peak is above RECOMMEND's top, or
    where the plan runs it from a house already above where RECOMMEND starts it). Where
    the plan runs the heat pump on PV (the forecast surplus covers its draw) with the
    battery full (FULL_PCT), RECOMMEND too, or FORCE from a house already above where
    RECOMMEND starts it (recommend_on_degc): otherwise the core gives that surplus to the
    tank first, at the gas it saves, and the house needs the heat later from the grid
    (with room in the battery, the battery takes it, worth about as much as the heat,
    without RECOMMEND's overshoot). Where the plan does not run it and keeps the house
    above the floor without it, LOCK: the thermostat's run would heat a whole band at
    this slot's price. Where the plan does not run it and leaves a PV surplus (the house
    near its floor), NORMAL: the core's surplus rule would boost it on that surplus (in
    summer, heat the house does not need, instead of the export). Else None, and the
    heat pump's own thermostat (and the core's surplus rule) decide.

    The whole rise, not only its end: in NORMAL the thermostat does not start until the
    house is below its bottom, so a pre-heat asked for only near its peak never starts
    in time (the plan, re-made from the house as it is, pushes the rise later each time).
    RECOMMEND heats to its top whatever the plan wanted, but only while a slot asks for
    it; at about 0.4 K an hour at full power, a slot over-heats by little. A rise is asked
    for only where keeping energy pays (worth_keeping), on a PV surplus the battery has
    no room for, or from the battery: without any of them, the plan's pre-heat gains only
    a better COP in the evening, and RECOMMEND's overshoot cost more than that (£0.58 on
    a winter day, flat tariff; with PV the battery could have stored, £0.13 on the next
    day)."""
    house, n = plan.house_degc, len(plan.house_degc)
    before = house[i - 1] if i else plan.house0_degc
    peak = -math.inf
    # Heat stored for a later price, from PV the battery has no room for, or from the
    # battery's energy.
    surplus_w = plan.pv_w[i] - plan.load_w[i]
    full = plan.soc_pct[i] >= FULL_PCT
    stores = worth_keeping(prices, i) or (surplus_w > 0 and full) or plan.discharge_w[i] > ACTION_W
    if plan.hp_w[i] > 0 and house[i] > before + RISING_K and stores:
        peak = house[i]
        for j in range(i + 1, n):
            if house[j] <= house[j - 1]:
                break
            peak = house[j]
    # RECOMMEND starts a stopped heat pump only below recommend_on_degc: where the plan
    # runs it from a house already above that, only FORCE starts it (and it stops when
    # the slots stop asking). Left to RECOMMEND, the run never began and the PV went to
    # the tank (winter, Economy 7: 1.3 kWh a day, heat the house then bought at 30 p).
    above = before >= bands.recommend_on_degc and plan.hp_w[i] > ACTION_W
    if peak > bands.recommend_top_degc:
        return SgState.FORCE
    if peak > bands.normal_top_degc + PREHEAT_ABOVE_K:
        # A rise from above that point too: with RECOMMEND the heat pump stayed stopped
        # and the rise's PV went to the tank (15 January, Economy 7: 1.0 kWh).
        return SgState.FORCE if above else SgState.RECOMMEND
    if plan.hp_w[i] > ACTION_W and surplus_w >= plan.hp_w[i] and full:
        # From the PV: its heat is worth more than the tank's.
        return SgState.FORCE if above else SgState.RECOMMEND
    if plan.hp_w[i] <= 0 and min(before, house[i]) >= bands.floor_degc - FLOOR_MARGIN_K:
        # The plan keeps the house above the floor without it: the thermostat's run
        # now would heat to its top (twice the hysteresis over the floor) at this slot's
        # price, heat the plan holds back for a cheaper hour or the PV (and no surplus
        # boost either).
        return SgState.LOCK
    if plan.hp_w[i] <= 0 and surplus_w > ACTION_W:
        return SgState.NORMAL  # the surplus is not the heat pump's: no boost on it
    return None


def slots(
    plan: Plan, bands: HeatPumpBands | None = None, prices: tuple[float, ...] | None = None
) -> tuple[PlannedSlot, ...]:
    return tuple(slot_action(plan, i, bands, prices) for i in range(len(plan.battery_w)))


def slot_at(plan_slots: tuple[PlannedSlot, ...], t_s: float) -> PlannedSlot | None:
    """The slot that covers t_s, if any."""
    for s in plan_slots:
        if s.start_s <= t_s < s.end_s:
            return s
    return None


TOLERANCE_W = 1.0


def problems(plan: Plan, inp: PlanInputs) -> list[str]:
    """Why a plan must be discarded (empty: it may be used): every number finite, every
    power inside its limit, the SOC between 0 and 100 %, the energy balanced."""
    bat, out = inp.battery, []
    series = {
        "charge_w": plan.charge_w,
        "discharge_w": plan.discharge_w,
        "grid_w": plan.grid_w,
        "soc_pct": plan.soc_pct,
        "tank_w": plan.tank_w,
        "hp_w": plan.hp_w,
        "house_degc": plan.house_degc,
    }
    for name, xs in series.items():
        if not all(math.isfinite(x) for x in xs):
            out.append(f"{name}: not finite")
    if out:
        return out
    if max(plan.charge_w) > bat.max_charge_w + TOLERANCE_W:
        out.append(f"charge {max(plan.charge_w):.0f} W over {bat.max_charge_w:.0f} W")
    if max(plan.discharge_w) > bat.max_discharge_w + TOLERANCE_W:
        out.append(f"discharge {max(plan.discharge_w):.0f} W over {bat.max_discharge_w:.0f} W")
    if min(plan.soc_pct) < -0.01 or max(plan.soc_pct) > 100.01:
        out.append(f"SOC from {min(plan.soc_pct):.1f} to {max(plan.soc_pct):.1f} %")
    element = inp.tank.element_w if inp.tank is not None else 0.0
    if max(plan.tank_w) > element + TOLERANCE_W:
        out.append(f"tank {max(plan.tank_w):.0f} W over its element's {element:.0f} W")
    for i in range(len(plan.grid_w)):
        used = plan.load_w[i] + plan.tank_w[i] + plan.hp_w[i] + plan.charge_w[i]
        made = plan.pv_w[i] + plan.discharge_w[i] + plan.grid_w[i]
        if abs(used - made) > TOLERANCE_W:
            out.append(f"slot {i}: the balance is off by {used - made:.0f} W")
            break
    return out


def off_plan(
    plan: Plan,
    t_s: float,
    soc_pct: float,
    band_pct: float = 10.0,
    start: tuple[float, float] | None = None,
) -> bool:
    """Whether the battery has left the plan's band (a re-plan is due): its SOC further
    than band_pct from the SOC planned for now (interpolated across the slot). start:
    when the plan was made and the SOC it started from (t_s's clock, %), so the first
    slot, which a plan made mid-slot joins part-way, is measured from there; without it
    the first slot's planned end SOC holds from its start."""
    k = math.floor((t_s - plan.t0_s) / plan.slot_s)
    if not 0 <= k < len(plan.soc_pct):
        return True
    slot_start_s = plan.t0_s + k * plan.slot_s
    if k > 0:
        from_s, from_pct = slot_start_s, plan.soc_pct[k - 1]
    elif start is not None:
        from_s, from_pct = start
    else:
        from_s, from_pct = slot_start_s, plan.soc_pct[0]
    span_s = slot_start_s + plan.slot_s - from_s
    share = min(1.0, max(0.0, (t_s - from_s) / span_s)) if span_s > 0 else 1.0
    expected = from_pct + share * (plan.soc_pct[k] - from_pct)
    return abs(soc_pct - expected) > band_pct
