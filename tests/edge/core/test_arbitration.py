"""core.decide with the flexible loads: requests, BMS, diverter, anti-flip, heat pump."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core import (
    BmsReading,
    CoreConfig,
    CoreState,
    InverterMode,
    InverterReading,
    LoadsReading,
    ProcessImage,
    Requests,
    Sample,
    SgState,
    decide,
)
from edge.core.decide import DISCHARGE_GATE_W

CFG = CoreConfig(
    max_charge_w=3000,
    max_discharge_w=3000,
    reserve_soc_pct=20,
    max_soc_pct=100,
    inverter_stale_after_s=5,
    dab_enabled=False,
    dab_max_charge_current_a=5.0,
    dab_stale_after_s=5,
    bms_required=True,
    hp_enabled=True,
)
BMS = BmsReading(charge_limit_w=3000.0, discharge_limit_w=3000.0)


def image(
    grid=0.0,
    batt=0.0,
    soc=50.0,
    heater=0.0,
    hp=0.0,
    tank=45.0,
    t=1000.0,
    bms=BMS,
    bms_age=0.5,
    requests=None,
):
    inv = Sample(InverterReading(grid, batt, soc, 400.0, 2000.0), 0.5)
    return ProcessImage(
        t_s=t,
        inverter=inv,
        dab=None,
        bms=None if bms is None else Sample(bms, bms_age),
        loads=Sample(LoadsReading(heater, hp, tank), 0.5),
        requests=requests or Requests(),
    )


def test_emergency_stop_idles_everything():
    stop = Requests(emergency_stop=True)
    state = CoreState(hp_state=SgState.RECOMMEND)
    sp, new = decide(image(-2000.0, 0.0, heater=1000.0, requests=stop), CFG, state)
    assert sp.inverter.mode is InverterMode.PASSIVE and sp.inverter.battery_power_w == 0.0
    assert sp.diverter_w == 0.0 and sp.sg_ready is SgState.NORMAL
    assert sp.reason.startswith("emergency stop") and new.hp_state is SgState.NORMAL


@pytest.mark.parametrize(
    ("bms", "age", "why"), [(None, 0.0, "no BMS data yet"), (BMS, 10.5, "BMS data 10.5 s old")]
)
def test_missing_or_stale_bms_data_means_safe_state(bms, age, why):
    sp, _ = decide(image(-2000.0, heater=500.0, bms=bms, bms_age=age), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.SELF_USE
    assert sp.diverter_w == 0.0 and sp.sg_ready is SgState.NORMAL
    assert sp.reason == f"safe state: {why}"
    # ...and back by itself when the BMS answers again.
    sp, _ = decide(image(-2000.0, heater=500.0), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.PASSIVE


def test_the_bms_limits_narrow_the_window():
    bms = BmsReading(charge_limit_w=800.0, discharge_limit_w=1200.0)
    sp, _ = decide(image(-2000.0, bms=bms), CFG, CoreState())
    assert sp.inverter.battery_power_w == -800.0 and "BMS charge limit" in sp.reason
    sp, _ = decide(image(2000.0, bms=bms), CFG, CoreState())
    assert sp.inverter.battery_power_w == 1200.0 and "BMS discharge limit" in sp.reason


# grid, battery, heater, tank degC -> battery command, diverter, reason fragment
TANK_CYCLES = [
    # 2000 W exported, battery idle: the battery takes it all, nothing left for the tank.
    (-2000.0, 0.0, 0.0, 45.0, -2000.0, 0.0, "self-consumption"),
    # 4000 W exported: the battery at its 3000 W limit, 1000 W to the tank.
    (-4000.0, 0.0, 0.0, 45.0, -3000.0, 1000.0, "surplus to the tank"),
    # The heater already takes 1000 W of a 4000 W surplus: the balance is unchanged.
    (-3000.0, 0.0, 1000.0, 45.0, -3000.0, 1000.0, "surplus to the tank"),
    # Tank hot: the surplus stays with the grid.
    (-4000.0, 0.0, 0.0, 60.0, -3000.0, 0.0, "power limit"),
    # Kettle-off: the battery still discharges 2500 W while 3000 W are exported. The
    # heater's draw is no load for the battery to feed; the tank waits for the ramp.
    (-3000.0, 2500.0, 0.0, 45.0, -500.0, 0.0, "self-consumption"),
    # The status quo's steady leak (grid 0, battery discharging into a 1500 W heater):
    # the battery stops and charges with what the heater took.
    (0.0, 1500.0, 1500.0, 45.0, 0.0, 0.0, "self-consumption"),
]


@pytest.mark.parametrize(("grid", "batt", "heater", "tank", "cmd", "div", "why"), TANK_CYCLES)
def test_tank_cycle_table(grid, batt, heater, tank, cmd, div, why):
    sp, _ = decide(image(grid, batt, heater=heater, tank=tank), CFG, CoreState())
    assert sp.inverter.battery_power_w == pytest.approx(cmd)
    assert sp.diverter_w == pytest.approx(div)
    assert why in sp.reason


def test_no_flip_inside_the_hold_time_unless_the_error_is_large():
    charging = CoreState(battery_sign=-1, last_flip_s=990.0)
    sp, state = decide(image(300.0, 0.0, t=1000.0), CFG, charging)  # small deficit
    assert sp.inverter.battery_power_w == 0.0 and "no flip" in sp.reason
    assert state.battery_sign == -1  # idle is not a reversal
    sp, _ = decide(image(300.0, 0.0, t=1051.0), CFG, charging)  # the hold has passed
    assert sp.inverter.battery_power_w == 300.0
    sp, state = decide(image(2500.0, 0.0, t=1000.0), CFG, charging)  # the kettle: large
    assert sp.inverter.battery_power_w == 2500.0
    assert state.battery_sign == 1 and state.last_flip_s == 1000.0


def test_requests_act_until_their_expiry_only():
    standby = Requests(mode="standby", mode_until_s=2000.0)
    sp, _ = decide(image(800.0, requests=standby, t=1999.0), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.PASSIVE and sp.inverter.battery_power_w == 0.0
    sp, _ = decide(image(800.0, requests=standby, t=2000.0), CFG, CoreState())
    assert sp.inverter.battery_power_w == 800.0  # expired: back to auto
    own = Requests(mode="self_use", mode_until_s=2000.0)
    sp, _ = decide(image(800.0, requests=own), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.SELF_USE
    force = Requests(force_charge_w=2000.0, force_charge_until_s=1500.0)
    sp, _ = decide(image(800.0, requests=force), CFG, CoreState())
    assert sp.inverter.battery_power_w == -2000.0 and "force charge" in sp.reason
    sp, _ = decide(image(-2500.0, requests=force), CFG, CoreState())
    assert sp.inverter.battery_power_w == -2500.0  # more surplus than asked: take it
    sp, _ = decide(image(800.0, requests=force, t=1500.0), CFG, CoreState())
    assert sp.inverter.battery_power_w == 800.0


def test_boost_hot_water_is_not_funded_by_the_battery_unless_allowed():
    boost = Requests(boost_hot_water_until_s=1500.0)
    # 400 W house deficit; the heater takes 3000 W on the boost.
    sp, _ = decide(image(3400.0, 0.0, heater=3000.0, requests=boost), CFG, CoreState())
    assert sp.diverter_w == 3000.0 and "boost hot water" in sp.reason
    assert sp.inverter.battery_power_w == pytest.approx(400.0)  # the house, not the tank
    allowed = dataclasses.replace(boost, allow_battery_to_heat_water=True)
    sp, _ = decide(image(3400.0, 0.0, heater=3000.0, requests=allowed), CFG, CoreState())
    assert sp.inverter.battery_power_w == 3000.0  # the battery's limit
    disabled = dataclasses.replace(boost, diverter_enabled=False)
    sp, _ = decide(image(3400.0, 0.0, heater=3000.0, requests=disabled), CFG, CoreState())
    assert sp.diverter_w == 0.0


def hp_run(surplus_w, seconds, state, t0=1000.0, hp_w=0.0):
    """decide once a second with the tank hot: of surplus_w (what would be exported with
    the battery and heat pump idle) the battery takes 3000 W, the heat pump the rest."""
    for k in range(seconds):
        running = hp_w if state.hp_state is SgState.RECOMMEND else 0.0
        grid_w = -(surplus_w - 3000.0) + running
        sp, state = decide(image(grid_w, -3000.0, hp=running, tank=60.0, t=t0 + k), CFG, state)
    return sp, state


def test_the_heat_pump_runs_on_a_confirmed_surplus_within_its_timers():
    # 3000 W to the battery, 1500 W left over: RECOMMEND after hp_confirm_s.
    sp, st1 = hp_run(4500.0, int(CFG.hp_confirm_s), CoreState())
    assert sp.sg_ready is SgState.NORMAL
    sp, st1 = hp_run(4500.0, 2, st1, t0=1000.0 + CFG.hp_confirm_s)
    assert sp.sg_ready is SgState.RECOMMEND and "heat pump" in sp.reason
    on_s = st1.hp_changed_s
    # The surplus goes; the heat pump stays on for its minimum on time...
    t1 = on_s + 1
    sp, st2 = hp_run(3000.0, int(CFG.hp_min_on_s) - 2, st1, t0=t1, hp_w=1400.0)
    assert sp.sg_ready is SgState.RECOMMEND
    # ...then is released.
    sp, st2 = hp_run(3000.0, 5, st2, t0=on_s + CFG.hp_min_on_s, hp_w=1400.0)
    assert sp.sg_ready is SgState.NORMAL
    # It is not asked again within its minimum off time, however large the surplus.
    off_s = st2.hp_changed_s
    sp, _ = hp_run(6000.0, int(CFG.hp_min_off_s) - 5, st2, t0=off_s + 1)
    assert sp.sg_ready is SgState.NORMAL


def test_the_heat_pump_starts_at_most_max_starts_per_hour():
    state = CoreState(hp_starts_s=(100.0, 200.0, 300.0), hp_surplus_since_s=0.0)
    sp, _ = decide(image(-4500.0, -3000.0, tank=60.0, t=3000.0), CFG, state)
    assert sp.sg_ready is SgState.NORMAL
    sp, new = decide(image(-4500.0, -3000.0, tank=60.0, t=3700.0), CFG, state)  # 1 h later
    # 100 s has left the hour: two starts remain, a third is allowed.
    assert sp.sg_ready is SgState.RECOMMEND and new.hp_starts_s == (200.0, 300.0, 3700.0)


powers = st.floats(min_value=-20000, max_value=20000, allow_nan=False)
limits = st.floats(min_value=0, max_value=5000, allow_nan=False)


@given(
    grid=powers,
    batt=powers,
    soc=st.floats(min_value=0, max_value=100),
    heater=st.floats(min_value=0, max_value=3000),
    hp=st.floats(min_value=0, max_value=3000),
    tank=st.floats(min_value=10, max_value=80),
    charge=limits,
    discharge=limits,
    sign=st.sampled_from([-1, 0, 1]),
    hp_state=st.sampled_from([SgState.NORMAL, SgState.RECOMMEND]),
    boost=st.booleans(),
    allow=st.booleans(),
)
def test_properties(
    grid, batt, soc, heater, hp, tank, charge, discharge, sign, hp_state, boost, allow
):
    req = Requests(
        boost_hot_water_until_s=2000.0 if boost else 0.0, allow_battery_to_heat_water=allow
    )
    img = image(grid, batt, soc, heater, hp, tank, bms=BmsReading(charge, discharge), requests=req)
    state = CoreState(battery_sign=sign, last_flip_s=990.0, hp_state=hp_state)
    sp, _ = decide(img, CFG, state)
    p = sp.inverter.battery_power_w
    # Inside every limit: configuration, BMS, reserve.
    assert -min(CFG.max_charge_w, charge) <= p <= min(CFG.max_discharge_w, discharge)
    if soc <= CFG.reserve_soc_pct:
        assert p <= 0.0
    assert 0.0 <= sp.diverter_w <= CFG.diverter_element_w
    if tank >= CFG.tank_max_degc:
        assert sp.diverter_w == 0.0
    # No battery energy into the tank: the diverter runs on surplus only while the battery
    # neither discharges now nor is told to, and a boost is funded by the battery only
    # when the user allows it (the battery then covers at most the house and the element).
    if sp.diverter_w > 0 and not boost:
        assert p <= 0.0 and batt <= DISCHARGE_GATE_W
    if boost and not allow:
        house_deficit_w = grid + batt - heater - (hp if hp_state is SgState.RECOMMEND else 0)
        assert p <= max(0.0, house_deficit_w) + 1e-6


def test_an_element_refusing_its_setpoint_passes_the_surplus_to_the_heat_pump():
    """The tank's thermostat has opened below tank_max_degc (the probe reads 58 degC): the
    element draws nothing though told 2000 W. After tank_refuse_s the surplus goes on to
    the heat pump; the tank is offered it again after tank_retry_s."""
    full = BmsReading(charge_limit_w=0.0, discharge_limit_w=3000.0)  # battery full
    state = CoreState()
    # Surplus 2000 W; the element first takes it.
    sp, state = decide(image(-2000.0, soc=100.0, tank=58.0, bms=full, t=0.0), CFG, state)
    assert sp.diverter_w == pytest.approx(2000.0)
    hp_seen = []
    for t in range(1, 400):
        # The thermostat is open: the heater draws 0 W, and the 2 kW go out to the grid.
        sp, state = decide(
            image(-2000.0, soc=100.0, heater=0.0, tank=58.0, bms=full, t=float(t)), CFG, state
        )
        hp_seen.append(sp.sg_ready)
        if t < CFG.tank_refuse_s:
            assert sp.diverter_w == pytest.approx(2000.0), t
    assert sp.diverter_w == 0.0 and "tank full (its thermostat is open)" in sp.reason
    # The heat pump, no longer starved, is asked to run after its confirm time.
    first = hp_seen.index(SgState.RECOMMEND) + 1
    assert CFG.tank_refuse_s + CFG.hp_confirm_s <= first <= CFG.tank_refuse_s + CFG.hp_confirm_s + 2
    # The tank is offered the surplus again once the retry time has passed.
    retry = CFG.tank_refuse_s + CFG.tank_retry_s + 1
    sp, _ = decide(image(-2000.0, soc=100.0, tank=58.0, bms=full, t=retry), CFG, state)
    assert sp.diverter_w > 0.0


def test_an_element_drawing_its_setpoint_is_never_taken_for_full():
    state = CoreState()
    for t in range(100):
        heater = 0.0 if t == 0 else 1500.0
        sp, state = decide(
            image(
                -1500.0 + heater, heater=heater, t=float(t), soc=100.0, bms=BmsReading(0.0, 3000.0)
            ),
            CFG,
            state,
        )
        assert sp.diverter_w == pytest.approx(1500.0), t
