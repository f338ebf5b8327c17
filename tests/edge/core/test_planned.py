"""The planner's slot as a policy: it narrows the core inside every safety rule."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from edge.core import (
    BmsReading,
    CoreState,
    InverterMode,
    InverterReading,
    LoadsReading,
    PlanBattery,
    PlannedSlot,
    ProcessImage,
    Requests,
    Sample,
    SgState,
    decide,
)
from tests.edge.core.test_arbitration import BMS
from tests.edge.core.test_arbitration import CFG as ARBITRATION_CFG

# The arbitration tests' house and BMS, with the planner on.
CFG = dataclasses.replace(ARBITRATION_CFG, planner_enabled=True, plan_max_age_s=3600.0)
T = 10_000.0


def slot(battery=PlanBattery.SELF_CONSUMPTION, power=0.0, target=0.0, **kw):
    made = kw.pop("made", T - 60.0)
    return PlannedSlot(T - 600.0, T + 1200.0, made, battery, power, target, **kw)


def image(grid=0.0, batt=0.0, soc=50.0, heater=0.0, plan=None, bms=BMS, requests=None, age=0.5):
    inv = Sample(InverterReading(grid, batt, soc, 400.0, 0.0), age)
    return ProcessImage(
        t_s=T,
        inverter=inv,
        dab=None,
        bms=Sample(bms, 0.5),
        loads=Sample(LoadsReading(heater, 0.0, 45.0), 0.5),
        requests=requests or Requests(),
        plan=plan,
    )


def test_no_plan_is_self_consumption_and_says_so():
    sp, _ = decide(image(800.0), CFG, CoreState())
    assert sp.inverter.battery_power_w == 800.0
    assert "no plan: self-consumption" in sp.reason


def test_a_stale_plan_is_self_consumption_and_says_so():
    sp, _ = decide(image(800.0, plan=slot(PlanBattery.HOLD, made=T - 4000.0)), CFG, CoreState())
    assert sp.inverter.battery_power_w == 800.0
    assert "plan 4000 s old: self-consumption" in sp.reason


def test_a_slot_not_covering_now_is_self_consumption():
    later = PlannedSlot(T + 10.0, T + 1800.0, T - 60.0, PlanBattery.HOLD)
    sp, _ = decide(image(800.0, plan=later), CFG, CoreState())
    assert sp.inverter.battery_power_w == 800.0 and "no planned slot" in sp.reason


def test_without_a_planner_the_reasons_are_as_before():
    cfg = dataclasses.replace(CFG, planner_enabled=False)
    sp, _ = decide(image(800.0, plan=slot(PlanBattery.HOLD)), cfg, CoreState())
    assert sp.inverter.battery_power_w == 800.0 and sp.reason == "self-consumption"


def test_hold_keeps_the_battery_from_the_deficit_but_takes_surplus():
    sp, _ = decide(image(800.0, plan=slot(PlanBattery.HOLD, target=50.0)), CFG, CoreState())
    assert sp.inverter.battery_power_w == 0.0 and "plan: hold" in sp.reason
    sp, _ = decide(image(-900.0, plan=slot(PlanBattery.HOLD, target=50.0)), CFG, CoreState())
    assert sp.inverter.battery_power_w == -900.0


def test_grid_charge_to_its_target_then_hold():
    plan = slot(PlanBattery.GRID_CHARGE, 2000.0, 80.0)
    sp, _ = decide(image(300.0, soc=40.0, plan=plan), CFG, CoreState())
    assert sp.inverter.battery_power_w == -2000.0 and "plan: grid charge" in sp.reason
    sp, _ = decide(image(-2500.0, soc=40.0, plan=plan), CFG, CoreState())  # more on surplus
    assert sp.inverter.battery_power_w == -2500.0
    sp, _ = decide(image(300.0, soc=80.0, plan=plan), CFG, CoreState())  # reached
    assert sp.inverter.battery_power_w == 0.0 and "hold" in sp.reason


def test_grid_charge_stays_inside_the_bms_limit_and_the_maximum_soc():
    plan = slot(PlanBattery.GRID_CHARGE, 3000.0, 100.0)
    bms = BmsReading(charge_limit_w=700.0, discharge_limit_w=3000.0)
    sp, _ = decide(image(300.0, soc=40.0, plan=plan, bms=bms), CFG, CoreState())
    assert sp.inverter.battery_power_w == -700.0
    full = dataclasses.replace(CFG, max_soc_pct=90.0)
    sp, _ = decide(image(300.0, soc=90.0, plan=plan), full, CoreState())
    assert sp.inverter.battery_power_w == 0.0


def test_export_down_to_its_target_never_past_the_reserve():
    plan = slot(PlanBattery.EXPORT, 2500.0, 10.0)  # the plan asks below the reserve
    sp, _ = decide(image(300.0, soc=60.0, plan=plan), CFG, CoreState())
    assert sp.inverter.battery_power_w == 2500.0 and "plan: export" in sp.reason
    sp, _ = decide(image(300.0, soc=20.0, plan=plan), CFG, CoreState())
    assert sp.inverter.battery_power_w == 0.0 and "reserve" in sp.reason
    plan = slot(PlanBattery.EXPORT, 2500.0, 40.0)
    sp, _ = decide(image(300.0, soc=40.0, plan=plan), CFG, CoreState())  # at its target
    assert sp.inverter.battery_power_w == 0.0


def test_self_consumption_down_to_the_planned_soc():
    plan = slot(PlanBattery.SELF_CONSUMPTION, target=45.0)
    sp, _ = decide(image(800.0, soc=50.0, plan=plan), CFG, CoreState())
    assert sp.inverter.battery_power_w == 800.0
    sp, _ = decide(image(800.0, soc=45.0, plan=plan), CFG, CoreState())
    assert sp.inverter.battery_power_w == 0.0 and "kept at 45 %" in sp.reason


def test_the_user_and_the_safety_rules_come_before_the_plan():
    plan = slot(PlanBattery.GRID_CHARGE, 2000.0, 90.0)
    sp, _ = decide(
        image(300.0, plan=plan, requests=Requests(emergency_stop=True)), CFG, CoreState()
    )
    assert sp.inverter.battery_power_w == 0.0 and sp.reason.startswith("emergency stop")
    sp, _ = decide(image(300.0, plan=plan, age=9.0), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.SELF_USE
    standby = Requests(mode="standby", mode_until_s=T + 100)
    sp, _ = decide(image(300.0, plan=plan, requests=standby), CFG, CoreState())
    assert sp.inverter.battery_power_w == 0.0 and "standby" in sp.reason


def test_tank_from_the_grid_holds_the_battery():
    plan = slot(tank_from_grid=True, target=20.0)
    sp, _ = decide(image(500.0, plan=plan), CFG, CoreState())
    assert sp.diverter_w == 3000.0 and sp.inverter.battery_power_w == 0.0
    assert "tank from the grid" in sp.reason


def test_kettle_off_during_a_planned_grid_heat_leaks_nothing():
    """The battery still ramps down from a discharge: the tank waits (no battery energy
    into it), exactly as without a plan."""
    plan = slot(tank_from_grid=True, target=20.0)
    sp, _ = decide(image(-1500.0, batt=2500.0, plan=plan), CFG, CoreState())
    assert sp.diverter_w == 0.0


def test_the_plans_heat_pump_keeps_the_minimum_off_time_and_starts():
    plan = slot(heat_pump=SgState.FORCE)
    just_off = CoreState(hp_changed_s=T - 100.0)
    sp, _ = decide(image(0.0, plan=plan), CFG, just_off)
    assert sp.sg_ready is SgState.NORMAL
    rested = CoreState(hp_changed_s=T - 400.0)
    sp, state = decide(image(0.0, plan=plan), CFG, rested)
    assert sp.sg_ready is SgState.FORCE and state.hp_starts_s == (T,)
    busy = CoreState(hp_changed_s=T - 400.0, hp_starts_s=(T - 3000, T - 2000, T - 1000))
    sp, _ = decide(image(0.0, plan=plan), CFG, busy)
    assert sp.sg_ready is SgState.NORMAL


@given(
    grid=st.floats(-6000, 6000),
    batt=st.floats(-3000, 3000),
    soc=st.floats(0, 100),
    heater=st.floats(0, 3000),
    action=st.sampled_from(list(PlanBattery)),
    power=st.floats(0, 5000),
    target=st.floats(0, 100),
    from_grid=st.booleans(),
)
def test_a_plan_never_has_the_battery_feed_the_tank(
    grid, batt, soc, heater, action, power, target, from_grid
):
    plan = slot(action, power, target, tank_from_grid=from_grid)
    sp, _ = decide(image(grid, batt, soc, heater, plan=plan), CFG, CoreState())
    cmd = sp.inverter.battery_power_w
    assert not (sp.diverter_w > 0 and (cmd > 0 or batt > 20.0))
    assert -3000.0 <= cmd <= 3000.0
    if soc <= 20.0:
        assert cmd <= 0.0  # the reserve holds whatever the plan says
