"""core.policies, one at a time: the inputs, and what each policy decides (worked by hand)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edge.core import (
    BmsReading,
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
    Sample,
    Setpoints,
    SgState,
)
from edge.core.policies import (
    Tank,
    Window,
    anti_flip,
    battery_direction,
    battery_window,
    dab_share,
    export_limit,
    flexible_loads,
    heat_pump,
    heat_pump_released,
    left_the_loop,
    off_the_loop,
    requested_battery,
    requested_mode,
    self_consumption,
    stale_data,
    surplus,
    tank_may_heat,
    tank_refusal,
    tank_share,
    usable_dab,
    usable_loads,
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
    hp_enabled=True,
)
INVERTER = InverterReading(-1000.0, -500.0, 50.0, 400.0, 2000.0)
DAB = DabReading(2.0, 13.0, tripped=False)
LOADS = LoadsReading(heater_w=300.0, heat_pump_w=1200.0, tank_temp_degc=45.0)
WINDOW = Window(-3000.0, 2500.0)
NO_TANK_ISSUE = Tank(boost=False, battery_discharging=False, full=False)


def image(
    inverter_age=0.5, dab_age=0.5, bms=None, bms_age=0.5, loads_age=0.5, requests=None, t=1000.0
):
    return ProcessImage(
        t_s=t,
        inverter=None if inverter_age is None else Sample(INVERTER, inverter_age),
        dab=None if dab_age is None else Sample(DAB, dab_age),
        bms=None if bms is None else Sample(bms, bms_age),
        loads=None if loads_age is None else Sample(LOADS, loads_age),
        requests=requests or Requests(),
    )


# Off the core's loop


def test_requested_mode_holds_until_its_expiry_then_auto():
    req = Requests(mode=RequestMode.STANDBY, mode_until_s=100.0)
    assert requested_mode(req, 99.9) is RequestMode.STANDBY
    assert requested_mode(req, 100.0) is RequestMode.AUTO
    assert requested_mode(Requests(), 1e9) is RequestMode.AUTO


def test_stale_data_names_the_first_missing_or_old_source():
    bms_cfg = replace(CFG, bms_required=True)
    assert stale_data(image(inverter_age=None, bms=None), bms_cfg) == "no inverter data yet"
    assert stale_data(image(inverter_age=5.0), CFG) is None  # exactly the limit is fresh
    assert stale_data(image(inverter_age=5.04), CFG) == "inverter data 5.0 s old"
    assert stale_data(image(bms=None), bms_cfg) == "no BMS data yet"
    old_bms = image(bms=BmsReading(3000.0, 3000.0), bms_age=12.0)
    assert stale_data(old_bms, bms_cfg) == "BMS data 12.0 s old"
    assert stale_data(old_bms, CFG) is None  # a BMS that is not required does not count
    assert stale_data(image(dab_age=None), CFG) == "no DAB board data yet"
    assert stale_data(image(dab_age=6.0), CFG) == "DAB board data 6.0 s old"
    assert stale_data(image(dab_age=None), replace(CFG, dab_enabled=False)) is None


def test_off_the_loop_emergency_stop_beats_stale_data():
    img = image(inverter_age=None, requests=Requests(emergency_stop=True))
    sp = off_the_loop(img, CFG, RequestMode.AUTO)
    assert sp is not None
    assert sp.inverter.mode is InverterMode.PASSIVE and sp.inverter.battery_power_w == 0.0
    assert sp.reason == "emergency stop: everything idle"
    assert (sp.dab_charge_current_a, sp.diverter_w, sp.sg_ready) == (0.0, 0.0, SgState.NORMAL)


def test_off_the_loop_stale_data_beats_a_self_use_request():
    sp = off_the_loop(image(inverter_age=None), CFG, RequestMode.SELF_USE)
    assert sp is not None and sp.inverter.mode is InverterMode.SELF_USE
    assert sp.reason == "safe state: no inverter data yet"
    sp = off_the_loop(image(), CFG, RequestMode.SELF_USE)
    assert sp is not None and sp.inverter.mode is InverterMode.SELF_USE
    assert sp.reason == "requested: the inverter's own self-use"
    assert sp.diverter_w == 0.0 and sp.sg_ready is SgState.NORMAL


@pytest.mark.parametrize("mode", [RequestMode.AUTO, RequestMode.STANDBY])
def test_off_the_loop_keeps_the_battery_on_fresh_data(mode):
    assert off_the_loop(image(), CFG, mode) is None


def test_left_the_loop_drops_the_direction_the_diverter_and_the_boost():
    state = CoreState(
        battery_sign=-1,
        last_flip_s=90.0,
        hp_state=SgState.RECOMMEND,
        hp_changed_s=100.0,
        hp_starts_s=(100.0,),
        hp_surplus_since_s=50.0,
        hp_deficit_since_s=70.0,
        diverter_w=1000.0,
        tank_refused_since_s=80.0,
        tank_full_until_s=2000.0,
    )
    sp = Setpoints(InverterCommand(InverterMode.SELF_USE), 0.0, "x")
    new = left_the_loop(sp, 500.0, state)
    assert new == replace(
        state,
        reason="x",
        battery_sign=0,
        hp_state=SgState.NORMAL,
        hp_changed_s=500.0,  # the heat pump changed state now
        hp_surplus_since_s=None,
        diverter_w=0.0,
        tank_refused_since_s=None,
    )
    # A heat pump already at NORMAL keeps its time of change.
    normal = replace(state, hp_state=SgState.NORMAL)
    assert left_the_loop(sp, 500.0, normal).hp_changed_s == 100.0


# The balance


def test_usable_dab_needs_a_fitted_fresh_untripped_board():
    assert usable_dab(image(dab_age=5.0), CFG) == DAB
    assert usable_dab(image(dab_age=5.5), CFG) is None
    assert usable_dab(image(dab_age=None), CFG) is None
    assert usable_dab(image(), replace(CFG, dab_enabled=False)) is None
    tripped = replace(image(), dab=Sample(replace(DAB, tripped=True), 0.5))
    assert usable_dab(tripped, CFG) is None


def test_usable_loads_needs_a_fresh_reading():
    assert usable_loads(image(loads_age=10.0), CFG) == LOADS
    assert usable_loads(image(loads_age=10.5), CFG) is None
    assert usable_loads(image(loads_age=None), CFG) is None


def test_surplus_takes_the_flexible_loads_own_draw_back_out():
    # 1000 W exported, 500 W charging, the DAB 2 A x 13 V = 26 W, the element 300 W:
    # 1000 + 500 + 26 + 300 = 1826 W would go out if all of them stopped.
    assert surplus(INVERTER, DAB, LOADS, SgState.NORMAL) == pytest.approx(1826.0)
    # A boosted heat pump's 1200 W too; unboosted, its draw is the house's own.
    assert surplus(INVERTER, DAB, LOADS, SgState.RECOMMEND) == pytest.approx(3026.0)
    # Without usable DAB or loads readings, only the grid and the battery count.
    assert surplus(INVERTER, None, None, SgState.RECOMMEND) == pytest.approx(1500.0)
    importing = replace(INVERTER, grid_power_w=800.0, battery_power_w=0.0)
    assert surplus(importing, None, None, SgState.NORMAL) == pytest.approx(-800.0)


# The battery


def test_window_clamps_and_says_which_bound_holds():
    w = Window(-800.0, 1200.0, "charge bound", "discharge bound")
    assert (w.clamp(-1000.0), w.clamp(2000.0), w.clamp(100.0)) == (-800.0, 1200.0, 100.0)
    assert (w.why(-1000.0), w.why(2000.0), w.why(100.0)) == ("charge bound", "discharge bound", "")


def test_battery_window_takes_the_configured_and_the_live_bms_limits():
    at = "battery at its power limit"
    assert battery_window(image(), 50.0, CFG) == Window(-3000.0, 2500.0, at, at)
    bms = BmsReading(charge_limit_w=800.0, discharge_limit_w=1200.0)
    assert battery_window(image(bms=bms), 50.0, CFG) == Window(
        -800.0, 1200.0, "BMS charge limit", "BMS discharge limit"
    )
    # Limits above the configured ones, and a stale BMS, change nothing.
    wide = BmsReading(charge_limit_w=4000.0, discharge_limit_w=4000.0)
    assert battery_window(image(bms=wide), 50.0, CFG) == Window(-3000.0, 2500.0, at, at)
    assert battery_window(image(bms=bms, bms_age=10.5), 50.0, CFG) == Window(-3000, 2500, at, at)
    # A negative limit is no limit to reverse: the battery stops.
    stop = BmsReading(charge_limit_w=-100.0, discharge_limit_w=-100.0)
    w = battery_window(image(bms=stop), 50.0, CFG)
    assert (w.lo_w, w.hi_w) == (0.0, 0.0)


def test_battery_window_keeps_the_reserve_and_the_maximum_soc():
    w = battery_window(image(), 20.0, CFG)  # at the reserve: no discharge, charge allowed
    assert (w.lo_w, w.hi_w) == (-3000.0, 0.0)
    assert w.hi_why == "reserve SOC 20 % reached: no discharge"
    assert battery_window(image(), 20.1, CFG).hi_w == 2500.0
    mine = image(requests=Requests(reserve_soc_pct=45.0))  # the user's reserve replaces it
    w = battery_window(mine, 40.0, CFG)
    assert w.hi_w == 0.0 and w.hi_why == "reserve SOC 45 % reached: no discharge"
    w = battery_window(image(), 95.0, CFG)
    assert (w.lo_w, w.hi_w, w.lo_why) == (0.0, 2500.0, "battery at 95 %: no charge")


def test_requested_battery_standby_idles_it_even_against_a_force_charge():
    force = Requests(force_charge_w=2000.0, force_charge_until_s=1500.0)
    got = requested_battery(force, RequestMode.STANDBY, 1000.0, WINDOW, 800.0)
    assert got == (0.0, "requested: standby")


@pytest.mark.parametrize(
    ("surplus_w", "battery_w"),
    [
        (500.0, -2000.0),  # at least the requested 2000 W, from the grid if need be
        (2600.0, -2600.0),  # more when the surplus offers more
        (5000.0, -3000.0),  # never past the window
        (-1000.0, -2000.0),  # a deficit does not reduce it
    ],
)
def test_requested_battery_force_charges_at_least_the_requested_power(surplus_w, battery_w):
    force = Requests(force_charge_w=2000.0, force_charge_until_s=1500.0)
    got = requested_battery(force, RequestMode.AUTO, 1000.0, WINDOW, surplus_w)
    assert got == (battery_w, "requested: force charge 2000 W")


def test_requested_battery_is_none_without_a_request_in_force():
    force = Requests(force_charge_w=2000.0, force_charge_until_s=1500.0)
    assert requested_battery(force, RequestMode.AUTO, 1500.0, WINDOW, 800.0) is None  # expired
    zero = Requests(force_charge_w=0.0, force_charge_until_s=1500.0)
    assert requested_battery(zero, RequestMode.AUTO, 1000.0, WINDOW, 800.0) is None
    assert requested_battery(Requests(), RequestMode.AUTO, 1000.0, WINDOW, 800.0) is None


@pytest.mark.parametrize(
    ("battery_w", "t", "sign", "result"),
    [
        (300.0, 1000.0, -1, 0.0),  # a small reversal 10 s after the last flip: idle
        (600.0, 1000.0, -1, 600.0),  # a large one goes through
        (300.0, 1050.0, -1, 300.0),  # the 60 s hold has passed
        (-300.0, 1000.0, -1, -300.0),  # the same direction is no reversal
        (300.0, 1000.0, 0, 300.0),  # nor is leaving idle
    ],
)
def test_anti_flip_holds_off_a_small_reversal_inside_the_hold_time(battery_w, t, sign, result):
    state = CoreState(battery_sign=sign, last_flip_s=990.0)
    assert anti_flip(battery_w, t, CFG, state) == result


def consume(surplus_w, window=WINDOW, req=None, tank_boosting=False, state=None, t=1000.0):
    req = req or Requests()
    return self_consumption(surplus_w, tank_boosting, window, req, t, CFG, state or CoreState())


def test_self_consumption_zeroes_the_grid_inside_the_window():
    assert consume(1200.0) == (-1200.0, "self-consumption")  # charge with the surplus
    assert consume(-800.0) == (800.0, "self-consumption")  # discharge to cover the deficit
    assert consume(5000.0) == (-3000.0, "self-consumption, battery at its power limit")
    reserve = Window(-3000.0, 0.0, hi_why="reserve SOC 20 % reached: no discharge")
    assert consume(-800.0, reserve) == (
        0.0,
        "self-consumption, reserve SOC 20 % reached: no discharge",
    )


def test_self_consumption_keeps_the_users_maximum_charge():
    capped = Requests(max_charge_w=1000.0)
    assert consume(2500.0, req=capped) == (
        -1000.0,
        "self-consumption, the user's maximum charge 1000 W",
    )
    assert consume(800.0, req=capped) == (-800.0, "self-consumption")  # under the cap


def test_self_consumption_feeds_a_boost_from_the_battery_only_if_allowed():
    allowed = Requests(allow_battery_to_heat_water=True)
    # 1000 W of surplus and a 3000 W element boosting: the battery gives the other 2000 W.
    assert consume(1000.0, req=allowed, tank_boosting=True) == (2000.0, "self-consumption")
    assert consume(1000.0, req=allowed, tank_boosting=False) == (-1000.0, "self-consumption")
    assert consume(1000.0, tank_boosting=True) == (-1000.0, "self-consumption")


def test_self_consumption_says_when_anti_flip_holds_the_battery():
    charging = CoreState(battery_sign=-1, last_flip_s=990.0)
    assert consume(-300.0, state=charging) == (
        0.0,
        "self-consumption, held: no flip inside the hold time",
    )


@pytest.mark.parametrize(
    ("battery_w", "last_sign", "direction"),
    [
        (-100.0, -1, (-1, 10.0)),  # the same direction: the last flip stays
        (100.0, -1, (1, 50.0)),  # a reversal: now
        (0.0, -1, (-1, 10.0)),  # idle keeps the last direction
        (-100.0, 0, (-1, 50.0)),  # starting from idle counts as a change
    ],
)
def test_battery_direction_records_each_change_of_direction(battery_w, last_sign, direction):
    state = CoreState(battery_sign=last_sign, last_flip_s=10.0)
    assert battery_direction(battery_w, 50.0, state) == direction


# The DAB string and the flexible loads


def test_dab_share_takes_what_the_battery_leaves_up_to_its_current():
    current_a, taken_w, why = dab_share(50.0, DAB, CFG)  # 50 W / 13 V
    assert current_a == pytest.approx(50.0 / 13.0) and taken_w == pytest.approx(50.0)
    assert why == "surplus to the DAB string"
    assert dab_share(1000.0, DAB, CFG) == (5.0, 65.0, "surplus to the DAB string")  # 5 A cap


@pytest.mark.parametrize(
    ("left_w", "dab"),
    [(0.0, DAB), (-200.0, DAB), (500.0, None), (500.0, replace(DAB, string_voltage_v=0.0))],
)
def test_dab_share_is_nothing_without_a_surplus_or_a_string(left_w, dab):
    assert dab_share(left_w, dab, CFG) == (0.0, 0.0, "")


def test_tank_may_heat_with_a_diverter_switched_on_and_a_tank_below_its_maximum():
    assert tank_may_heat(Requests(), LOADS, CFG)
    assert tank_may_heat(Requests(), replace(LOADS, tank_temp_degc=59.9), CFG)
    assert tank_may_heat(Requests(), replace(LOADS, tank_temp_degc=None), CFG)  # no probe
    assert not tank_may_heat(Requests(), replace(LOADS, tank_temp_degc=60.0), CFG)
    assert not tank_may_heat(Requests(diverter_enabled=False), LOADS, CFG)
    assert not tank_may_heat(Requests(), LOADS, replace(CFG, tank_enabled=False))
    assert not tank_may_heat(Requests(), None, CFG)  # no usable loads reading


def test_tank_refusal_marks_the_tank_full_after_tank_refuse_s():
    offered = CoreState(diverter_w=1000.0, tank_full_until_s=-1.0)
    refusing = replace(LOADS, heater_w=50.0)  # under a tenth of the 1000 W offered
    assert tank_refusal(100.0, refusing, CFG, offered) == (100.0, -1.0)  # it starts now
    since_95 = replace(offered, tank_refused_since_s=95.0)
    assert tank_refusal(100.0, refusing, CFG, since_95) == (95.0, -1.0)  # 5 s of 10
    since_90 = replace(offered, tank_refused_since_s=90.0)
    assert tank_refusal(100.0, refusing, CFG, since_90) == (None, 1000.0)  # full: 100 + 900


def test_tank_refusal_is_no_refusal_when_the_element_draws_or_was_offered_little():
    since_90 = CoreState(diverter_w=1000.0, tank_refused_since_s=90.0, tank_full_until_s=-1.0)
    drawing = replace(LOADS, heater_w=100.0)  # a tenth of the offer: drawing
    assert tank_refusal(100.0, drawing, CFG, since_90) == (None, -1.0)
    probe = replace(since_90, diverter_w=150.0)  # under the 200 W probe: tells nothing
    assert tank_refusal(100.0, replace(LOADS, heater_w=0.0), CFG, probe) == (None, -1.0)
    assert tank_refusal(100.0, None, CFG, since_90) == (None, -1.0)  # no reading


def test_tank_share_boost_takes_the_whole_element():
    boost = Tank(boost=True, battery_discharging=True, full=True)
    assert tank_share(0.0, boost, CFG) == (3000.0, "boost hot water")


def test_tank_share_takes_the_surplus_left_up_to_the_element():
    assert tank_share(1200.0, NO_TANK_ISSUE, CFG) == (1200.0, "surplus to the tank")
    assert tank_share(5000.0, NO_TANK_ISSUE, CFG) == (3000.0, "surplus to the tank")
    assert tank_share(0.0, NO_TANK_ISSUE, CFG) == (0.0, "")
    full = replace(NO_TANK_ISSUE, full=True)
    assert tank_share(1200.0, full, CFG) == (0.0, "tank full (its thermostat is open)")


def test_tank_share_never_takes_battery_energy():
    discharging = replace(NO_TANK_ISSUE, battery_discharging=True)
    assert tank_share(1200.0, discharging, CFG) == (0.0, "")


def test_heat_pump_recommend_after_a_confirmed_surplus():
    hp, state = heat_pump(1400.0, 1000.0, CFG, CoreState())
    assert hp is SgState.NORMAL and state.hp_surplus_since_s == 1000.0
    hp, later = heat_pump(1400.0, 1239.0, CFG, state)  # 239 s of the 240 s
    assert hp is SgState.NORMAL
    hp, later = heat_pump(1400.0, 1240.0, CFG, state)
    assert hp is SgState.RECOMMEND and later.hp_state is SgState.RECOMMEND
    assert later.hp_changed_s == 1240.0 and later.hp_starts_s == (1240.0,)
    hp, state = heat_pump(1399.0, 1240.0, CFG, state)  # short of its power: the count restarts
    assert hp is SgState.NORMAL and state.hp_surplus_since_s is None


def test_heat_pump_waits_its_minimum_off_time_and_its_starts_per_hour():
    confirmed = CoreState(hp_surplus_since_s=0.0, hp_changed_s=1100.0)
    assert heat_pump(1400.0, 1399.0, CFG, confirmed)[0] is SgState.NORMAL  # 299 s off
    assert heat_pump(1400.0, 1400.0, CFG, confirmed)[0] is SgState.RECOMMEND
    three = replace(confirmed, hp_starts_s=(5000.0, 6000.0, 7000.0))
    assert heat_pump(1400.0, 8000.0, CFG, three)[0] is SgState.NORMAL  # 3 in the hour
    hp, state = heat_pump(1400.0, 8600.0, CFG, three)  # the first is 3600 s old: gone
    assert hp is SgState.RECOMMEND and state.hp_starts_s == (6000.0, 7000.0, 8600.0)


def test_heat_pump_back_to_normal_after_a_confirmed_deficit_and_its_minimum_on_time():
    on = CoreState(hp_state=SgState.RECOMMEND, hp_changed_s=0.0, hp_deficit_since_s=1000.0)
    assert heat_pump(600.0, 1119.0, CFG, on)[0] is SgState.RECOMMEND  # 119 s of 120
    hp, state = heat_pump(600.0, 1120.0, CFG, on)
    assert hp is SgState.NORMAL and state.hp_changed_s == 1120.0
    # 700 W is half its power: not a deficit, the count stops.
    hp, state = heat_pump(700.0, 1120.0, CFG, on)
    assert hp is SgState.RECOMMEND and state.hp_deficit_since_s is None
    recent = replace(on, hp_changed_s=1000.0)  # on for 500 s of its 600 s
    assert heat_pump(600.0, 1500.0, CFG, recent)[0] is SgState.RECOMMEND


def test_heat_pump_disabled_is_left_alone():
    state = CoreState(hp_surplus_since_s=0.0)
    assert heat_pump(5000.0, 1000.0, replace(CFG, hp_enabled=False), state) == (
        SgState.NORMAL,
        state,
    )


READY_HP = CoreState(hp_surplus_since_s=0.0)  # a surplus confirmed long ago, no starts


def test_flexible_loads_tank_first_takes_the_surplus_before_the_heat_pump():
    shares = flexible_loads(2000.0, NO_TANK_ISSUE, 1000.0, CFG, READY_HP)
    assert shares.diverter_w == 2000.0 and shares.sg_ready is SgState.NORMAL
    assert shares.left_w == 0.0 and shares.reasons == ("surplus to the tank",)
    assert shares.state.hp_surplus_since_s is None  # nothing was left for the heat pump


def test_flexible_loads_heat_pump_first_leaves_the_rest_to_the_tank():
    cfg = replace(CFG, loads_priority=(LoadKind.HEAT_PUMP, LoadKind.TANK))
    shares = flexible_loads(2000.0, NO_TANK_ISSUE, 1000.0, cfg, READY_HP)
    assert shares.sg_ready is SgState.RECOMMEND and shares.state.hp_starts_s == (1000.0,)
    assert shares.diverter_w == 600.0 and shares.left_w == 0.0  # 2000 - 1400 to the tank
    assert shares.reasons == ("surplus to the heat pump", "surplus to the tank")


def test_flexible_loads_skip_a_tank_that_may_not_heat_and_a_load_not_listed():
    shares = flexible_loads(2000.0, None, 1000.0, replace(CFG, hp_enabled=False), READY_HP)
    assert (shares.diverter_w, shares.left_w, shares.reasons) == (0.0, 2000.0, ())
    tank_only = replace(CFG, loads_priority=(LoadKind.TANK,))
    shares = flexible_loads(5000.0, NO_TANK_ISSUE, 1000.0, tank_only, READY_HP)
    assert shares.sg_ready is SgState.NORMAL and shares.state == READY_HP
    assert shares.left_w == 2000.0  # 5000 - the 3000 W element


def test_heat_pump_released_in_standby():
    on = CoreState(hp_state=SgState.RECOMMEND, hp_changed_s=10.0, hp_surplus_since_s=5.0)
    assert heat_pump_released(100.0, on) == replace(
        on, hp_state=SgState.NORMAL, hp_changed_s=100.0, hp_surplus_since_s=None
    )
    off = CoreState(hp_changed_s=10.0, hp_surplus_since_s=5.0)
    assert heat_pump_released(100.0, off) is off  # already NORMAL: its timers run on


# The export limit


def test_export_limit_sends_what_would_go_beyond_it_into_the_battery():
    # 1500 W would go out, the battery charges 1000 W: 500 W more keeps the 1000 W limit.
    assert export_limit(1500.0, -1000.0, 1000.0, WINDOW) == (
        -1500.0,
        0.0,
        "export limit 1000 W: the battery takes more",
    )
    # Standby's idle battery too.
    assert export_limit(2500.0, 0.0, 1000.0, WINDOW)[0] == -1500.0


def test_export_limit_reports_what_the_battery_cannot_absorb():
    # 2000 W out, the battery at 2500 W of its 3000 W: 500 W more, 500 W still over.
    assert export_limit(2000.0, -2500.0, 1000.0, WINDOW) == (
        -3000.0,
        500.0,
        "export limit 1000 W: the battery takes more",
    )
    # Already at its limit: nothing more, all 1000 W over the limit reported.
    assert export_limit(2000.0, -3000.0, 1000.0, WINDOW) == (-3000.0, 1000.0, "")


@pytest.mark.parametrize(("left_w", "limit_w"), [(1000.0, 1000.0), (5000.0, None)])
def test_export_limit_changes_nothing_within_it_or_without_one(left_w, limit_w):
    assert export_limit(left_w, -700.0, limit_w, WINDOW) == (-700.0, 0.0, "")
