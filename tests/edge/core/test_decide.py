"""core.decide: cycle tables and properties."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core import (
    CoreConfig,
    CoreState,
    DabReading,
    InverterMode,
    InverterReading,
    ProcessImage,
    Requests,
    Sample,
    decide,
)

CFG = CoreConfig(
    max_charge_w=3000,
    max_discharge_w=2500,
    reserve_soc_pct=20,
    max_soc_pct=95,
    inverter_stale_after_s=5,
    dab_enabled=True,
    dab_max_charge_current_a=5.0,
    dab_stale_after_s=5,
)


def image(grid=0.0, batt=0.0, soc=50.0, age=0.5, dab_a=0.0, dab_v=13.0, tripped=False, dab_age=0.5):
    inv = Sample(InverterReading(grid, batt, soc, 400.0, 1000.0), age)
    dab = None if dab_a is None else Sample(DabReading(dab_a, dab_v, tripped), dab_age)
    return ProcessImage(t_s=0.0, inverter=inv, dab=dab)


# grid, battery, soc -> battery command (+ = discharge), reason fragment
CYCLES = [
    (0.0, 0.0, 50, 0.0, "self-consumption"),
    (800.0, 0.0, 50, 800.0, "self-consumption"),  # importing: discharge to cover it
    (-1200.0, 0.0, 50, -1200.0, "self-consumption"),  # exporting: charge with it
    (300.0, -1000.0, 50, -700.0, "self-consumption"),  # kettle while charging: charge less
    (3000.0, 0.0, 50, 2500.0, "power limit"),  # discharge limit
    (-5000.0, 0.0, 50, -3000.0, "power limit"),  # charge limit
    (800.0, 0.0, 20, 0.0, "reserve SOC"),  # at the reserve: no discharge
    (800.0, 0.0, 19, 0.0, "reserve SOC"),
    (-800.0, 0.0, 20, -800.0, "self-consumption"),  # at the reserve, charging is fine
    (-800.0, 0.0, 95, 0.0, "no charge"),  # at max SOC: no charge
    (800.0, 0.0, 95, 800.0, "self-consumption"),
]


@pytest.mark.parametrize(("grid", "batt", "soc", "cmd", "why"), CYCLES)
def test_cycle_table(grid, batt, soc, cmd, why):
    sp, state = decide(image(grid, batt, soc), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.PASSIVE
    assert sp.inverter.battery_power_w == pytest.approx(cmd)
    assert why in sp.reason
    assert state.reason == sp.reason


@pytest.mark.parametrize("age", [5.01, 60.0])
def test_stale_inverter_data_means_safe_state(age):
    sp, _ = decide(image(800.0, age=age), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.SELF_USE
    assert sp.dab_charge_current_a == 0.0
    assert "safe state" in sp.reason and "old" in sp.reason


def test_a_stale_or_silent_dab_board_means_safe_state_and_recovers():
    sp, _ = decide(image(-800.0, dab_age=5.5), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.SELF_USE and sp.diverter_w == 0.0
    assert sp.reason == "safe state: DAB board data 5.5 s old"
    inv = image(-800.0).inverter
    sp, _ = decide(ProcessImage(0.0, inv, None), CFG, CoreState())
    assert sp.reason == "safe state: no DAB board data yet"
    sp, _ = decide(image(-800.0, dab_age=1.0), CFG, CoreState())  # the board is back
    assert sp.inverter.mode is InverterMode.PASSIVE
    # Without a board fitted its data is not needed.
    sp, _ = decide(ProcessImage(0.0, inv, None), replace(CFG, dab_enabled=False), CoreState())
    assert sp.inverter.mode is InverterMode.PASSIVE


def test_no_inverter_data_yet_means_safe_state():
    sp, _ = decide(ProcessImage(0.0, None, None), CFG, CoreState())
    assert sp.inverter.mode is InverterMode.SELF_USE
    assert sp.reason == "safe state: no inverter data yet"


def test_surplus_beyond_the_battery_goes_to_the_dab_string():
    # 3650 W exported while the battery already charges at its 3000 W limit... plus the
    # DAB's own 13 W draw: surplus = 3650 + 3000 + 13 = 6663 W -> battery 3000 W, DAB 5 A.
    sp, _ = decide(image(-3650.0, -3000.0, 50, dab_a=1.0, dab_v=13.0), CFG, CoreState())
    assert sp.inverter.battery_power_w == -3000.0
    assert sp.dab_charge_current_a == 5.0
    assert "DAB" in sp.reason
    # 3100 W surplus: the battery takes 3000 W, the string the last 100 W = 7.69 A -> 5 A cap;
    # 3050 W: 50 W / 13 V.
    sp, _ = decide(image(-3050.0, 0.0, 50, dab_a=0.0, dab_v=13.0), CFG, CoreState())
    assert sp.dab_charge_current_a == pytest.approx(50.0 / 13.0)


def test_the_dab_string_does_not_take_what_the_battery_can():
    sp, _ = decide(image(-1000.0, 0.0, 50, dab_a=2.0, dab_v=13.0), CFG, CoreState())
    assert sp.dab_charge_current_a == 0.0
    # The string's present 26 W draw is given back to the battery's balance.
    assert sp.inverter.battery_power_w == pytest.approx(-1026.0)


@pytest.mark.parametrize(("tripped", "dab_age"), [(True, 0.5), (False, 30.0)])
def test_a_tripped_or_stale_dab_board_gets_no_current(tripped, dab_age):
    sp, _ = decide(
        image(-6000.0, -3000.0, 50, dab_a=0.0, tripped=tripped, dab_age=dab_age), CFG, CoreState()
    )
    assert sp.dab_charge_current_a == 0.0


powers = st.floats(min_value=-20000, max_value=20000, allow_nan=False)


@given(
    grid=powers,
    batt=powers,
    soc=st.floats(min_value=0, max_value=100),
    dab_a=st.one_of(st.none(), st.floats(min_value=-10, max_value=10)),
    dab_v=st.floats(min_value=0, max_value=20),
    age=st.floats(min_value=0, max_value=100),
)
def test_setpoints_are_always_inside_every_limit(grid, batt, soc, dab_a, dab_v, age):
    sp, _ = decide(image(grid, batt, soc, age=age, dab_a=dab_a, dab_v=dab_v), CFG, CoreState())
    p = sp.inverter.battery_power_w
    assert -CFG.max_charge_w <= p <= CFG.max_discharge_w
    if soc <= CFG.reserve_soc_pct:
        assert p <= 0  # the reserve is never crossed
    if soc >= CFG.max_soc_pct:
        assert p >= 0
    assert 0.0 <= sp.dab_charge_current_a <= CFG.dab_max_charge_current_a
    if age > CFG.inverter_stale_after_s:
        assert sp.inverter.mode is InverterMode.SELF_USE


def with_requests(img: ProcessImage, **req) -> ProcessImage:
    return replace(img, requests=Requests(**req))


def test_the_users_reserve_replaces_the_configured_one():
    # Importing 800 W at 40 % SOC: the configured 20 % reserve lets the battery discharge...
    sp, _ = decide(image(800.0, soc=40), CFG, CoreState())
    assert sp.inverter.battery_power_w == 800.0
    # ...the user's 45 % does not.
    sp, _ = decide(with_requests(image(800.0, soc=40), reserve_soc_pct=45.0), CFG, CoreState())
    assert sp.inverter.battery_power_w == 0.0 and "reserve SOC 45 %" in sp.reason


def test_the_users_maximum_charge_caps_the_battery_and_the_rest_flows_on():
    # 2500 W exported: the user allows 1000 W of charge; the DAB string takes the next 65 W.
    img = with_requests(image(-2500.0, dab_a=0.0), max_charge_w=1000.0)
    sp, _ = decide(img, CFG, CoreState())
    assert sp.inverter.battery_power_w == -1000.0
    assert "the user's maximum charge 1000 W" in sp.reason
    assert sp.dab_charge_current_a == 5.0 and sp.export_over_limit_w == 0.0


def test_standby_idles_the_battery_unless_the_export_limit_needs_it():
    sp, _ = decide(with_requests(image(-2500.0), mode="standby"), CFG, CoreState())
    assert sp.inverter.battery_power_w == 0.0 and sp.diverter_w == 0.0
    assert sp.dab_charge_current_a == 0.0 and sp.reason == "requested: standby"
    img = with_requests(image(-2500.0), mode="standby", export_limit_w=1000.0)
    sp, _ = decide(img, CFG, CoreState())
    assert sp.inverter.battery_power_w == -1500.0  # what would exceed the limit
    assert "export limit 1000 W" in sp.reason and sp.export_over_limit_w == 0.0


def test_the_export_limit_beats_the_users_cap_and_reports_what_it_cannot_absorb():
    img = with_requests(image(-2500.0, dab_a=None), max_charge_w=500.0, export_limit_w=1000.0)
    sp, _ = decide(img, replace(CFG, dab_enabled=False), CoreState())
    assert sp.inverter.battery_power_w == -1500.0
    # 6 kW of surplus, 3 kW of battery: 2 kW over a 1 kW limit with nothing left to take it.
    img = with_requests(image(-6000.0, dab_a=None), export_limit_w=1000.0)
    sp, _ = decide(img, replace(CFG, dab_enabled=False), CoreState())
    assert sp.inverter.battery_power_w == -3000.0
    assert sp.export_over_limit_w == pytest.approx(2000.0)
