"""Timed SG-Ready and export-cap requests (what an S2 CEM's OMBC and PEBC instructions
become): under every safety rule, stronger than a planner's slot, gone at their expiry."""

from __future__ import annotations

from edge.core import CoreState, InverterMode, Requests, SgState, decide
from tests.edge.core.test_planned import CFG, T, image, slot


def sg(state: SgState, left_s: float = 300.0) -> Requests:
    return Requests(heat_pump_sg=state.value, heat_pump_sg_until_s=T + left_s)


RESTED = CoreState(hp_changed_s=T - 400.0)


def test_a_requested_state_is_set_and_ends_at_its_expiry():
    sp, state = decide(image(0.0, requests=sg(SgState.FORCE)), CFG, RESTED)
    assert sp.sg_ready is SgState.FORCE and state.hp_starts_s == (T,)
    assert "request: heat pump force" in sp.reason
    sp, _ = decide(image(0.0, requests=sg(SgState.FORCE, left_s=0.0)), CFG, RESTED)
    assert sp.sg_ready is SgState.NORMAL


def test_a_requested_start_waits_for_the_minimum_off_time_and_the_starts_per_hour():
    just_off = CoreState(hp_changed_s=T - 100.0)  # min_off_s 300
    sp, _ = decide(image(0.0, requests=sg(SgState.RECOMMEND)), CFG, just_off)
    assert sp.sg_ready is SgState.NORMAL
    busy = CoreState(hp_changed_s=T - 400.0, hp_starts_s=(T - 3000, T - 2000, T - 1000))
    sp, _ = decide(image(0.0, requests=sg(SgState.RECOMMEND)), CFG, busy)
    assert sp.sg_ready is SgState.NORMAL


def test_a_requested_stop_or_lock_waits_for_the_minimum_on_time():
    running = CoreState(hp_state=SgState.RECOMMEND, hp_changed_s=T - 100.0)  # min_on_s 600
    for want in (SgState.NORMAL, SgState.LOCK):
        sp, _ = decide(image(0.0, requests=sg(want)), CFG, running)
        assert sp.sg_ready is SgState.RECOMMEND
    long_on = CoreState(hp_state=SgState.RECOMMEND, hp_changed_s=T - 700.0)
    sp, state = decide(image(0.0, requests=sg(SgState.LOCK)), CFG, long_on)
    assert sp.sg_ready is SgState.LOCK and state.hp_changed_s == T


def test_lock_to_normal_is_no_start():
    locked = CoreState(hp_state=SgState.LOCK, hp_changed_s=T - 10.0)
    sp, state = decide(image(0.0, requests=sg(SgState.NORMAL)), CFG, locked)
    assert sp.sg_ready is SgState.NORMAL and state.hp_starts_s == ()


def test_the_request_is_stronger_than_the_plan():
    plan = slot(heat_pump=SgState.FORCE)
    sp, _ = decide(image(0.0, plan=plan, requests=sg(SgState.LOCK)), CFG, RESTED)
    assert sp.sg_ready is SgState.LOCK


def test_the_stop_the_safe_state_and_standby_come_first():
    stop = Requests(emergency_stop=True, heat_pump_sg="force", heat_pump_sg_until_s=T + 300)
    sp, _ = decide(image(0.0, requests=stop), CFG, RESTED)
    assert sp.sg_ready is SgState.NORMAL and sp.reason.startswith("emergency stop")
    sp, _ = decide(image(0.0, requests=sg(SgState.FORCE), age=9.0), CFG, RESTED)
    assert sp.inverter.mode is InverterMode.SELF_USE and sp.sg_ready is SgState.NORMAL
    standby = Requests(
        mode="standby", mode_until_s=T + 100, heat_pump_sg="force", heat_pump_sg_until_s=T + 300
    )
    sp, _ = decide(image(0.0, requests=standby), CFG, RESTED)
    assert sp.sg_ready is SgState.NORMAL


def test_an_export_cap_tightens_the_limit_and_never_loosens_it():
    # 2500 W exported, the battery (at 50 %) may take up to 3000 W
    site = Requests(export_limit_w=2000.0, max_charge_w=0.0, diverter_enabled=False)
    sp, _ = decide(image(-2500.0, requests=site), CFG, CoreState())
    assert sp.inverter.battery_power_w == -500.0
    capped = Requests(
        export_limit_w=2000.0,
        max_charge_w=0.0,
        diverter_enabled=False,
        export_cap_w=1000.0,
        export_cap_until_s=T + 60,
    )
    sp, _ = decide(image(-2500.0, requests=capped), CFG, CoreState())
    assert sp.inverter.battery_power_w == -1500.0
    looser = Requests(
        export_limit_w=2000.0,
        max_charge_w=0.0,
        diverter_enabled=False,
        export_cap_w=2400.0,
        export_cap_until_s=T + 60,
    )
    sp, _ = decide(image(-2500.0, requests=looser), CFG, CoreState())
    assert sp.inverter.battery_power_w == -500.0
    ended = Requests(
        export_limit_w=2000.0,
        max_charge_w=0.0,
        diverter_enabled=False,
        export_cap_w=1000.0,
        export_cap_until_s=T,
    )
    sp, _ = decide(image(-2500.0, requests=ended), CFG, CoreState())
    assert sp.inverter.battery_power_w == -500.0


def test_a_stored_sg_state_that_is_none_is_refused():
    try:
        Requests(heat_pump_sg="turbo")
    except ValueError:
        return
    raise AssertionError("an unknown SG-Ready state was taken")
