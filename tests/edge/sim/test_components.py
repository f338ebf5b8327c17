"""The inverter's self-use loop, the tank, the diverters and the heat pump, one by one."""

from __future__ import annotations

import pytest

from edge.sim.diverter import EddiLike, Mk2Bucket
from edge.sim.heatpump import HeatPump, HeatPumpParams, SgReady, cop
from edge.sim.inverter import InverterModel, InverterParams
from edge.sim.tank import Tank, TankParams

LIMITS = dict(soc_pct=50.0, max_charge_w=5000.0, max_discharge_w=5000.0)


def test_self_use_acts_after_the_dead_time_and_ramps():
    inv = InverterModel(
        InverterParams(dead_time_s=5.0, ramp_w_per_s=1000.0, meter_period_s=0.5), t_s=0.0
    )
    out = [inv.step(t * 0.5, 0.5, 2000.0 - inv.output_w, **LIMITS) for t in range(30)]
    first = next(k for k, w in enumerate(out) if w > 0)
    assert first * 0.5 == pytest.approx(5.0)  # nothing before the dead time
    assert out[first] == pytest.approx(500.0)  # 1 kW/s x 0.5 s
    assert out[-1] == pytest.approx(2000.0)


def test_a_reversal_passes_through_the_check_state():
    inv = InverterModel(InverterParams(flip_check_s=2.0, ramp_w_per_s=10000.0), t_s=0.0)
    inv.command_passive(1000.0, 0.0)
    inv.step(0.0, 1.0, 0.0, **LIMITS)
    assert inv.output_w == 1000.0
    inv.command_passive(-1000.0, 1.0)
    assert [inv.step(t, 1.0, 0.0, **LIMITS) for t in (1.0, 2.0, 3.0)] == [0.0, 0.0, -1000.0]
    assert inv.flips == 1


def test_inside_the_deadband_self_use_does_nothing():
    inv = InverterModel(InverterParams(deadband_w=50.0, dead_time_s=0.0), t_s=0.0)
    for t in range(20):
        inv.step(float(t), 1.0, 40.0, **LIMITS)
    assert inv.output_w == 0.0


def test_self_use_keeps_the_eps_reserve():
    inv = InverterModel(InverterParams(eps_reserve_soc_pct=10.0, dead_time_s=0.0), t_s=0.0)
    for t in range(10):
        inv.step(float(t), 1.0, 1000.0, soc_pct=9.0, max_charge_w=5000.0, max_discharge_w=5000.0)
    assert inv.output_w == 0.0


def test_tank_thermostat_standing_loss_and_draws():
    tank = Tank(TankParams(t0_degc=59.5, thermostat_degc=60.0, thermostat_hysteresis_k=4.0))
    temps, heating = [], []
    for t in range(4 * 3600):
        heating.append(tank.accept(3000.0) > 0)
        tank.step(12 * 3600.0 + t, 1.0)
        temps.append(tank.temp_degc)
    # The cut-out opens at 60 degC and closes 4 K lower: the tank cycles in that band.
    assert max(temps) < 60.01 and min(temps) > 55.9
    assert True in heating and False in heating
    cold = Tank(TankParams(t0_degc=30.0))
    q = sum(cold.step(7 * 3600.0 + t, 1.0) for t in range(600))  # the morning shower
    assert q > 0 and cold.comfort_misses > 0  # below 40 degC at the tap
    idle = Tank(TankParams(t0_degc=60.0, loss_w_per_k=2.0))
    for t in range(3600):
        idle.step(3 * 3600.0 + t, 1.0)  # no draws at 3 am
    # 2 W/K x 42 K for an hour out of 180 l: about 0.4 K.
    assert 60.0 - idle.temp_degc == pytest.approx(2 * 42 * 3600 / (180 * 4186), rel=0.02)


def test_eddi_like_diverts_the_surplus_minus_the_margin_after_its_delay():
    d = EddiLike(export_margin_w=100.0, response_delay_s=3.0)
    assert [d.offer_w(-1500.0, 0.0, 1.0) for _ in range(3)] == [0.0, 0.0, 1400.0]
    assert d.offer_w(200.0, 1400.0, 1.0) == pytest.approx(1100.0)  # import: it backs off
    assert d.offer_w(500.0, 0.0, 1.0) == 0.0 and not d.diverting


def test_mk2_starts_at_its_bucket_level():
    std, delayed = Mk2Bucket.standard(), Mk2Bucket.delayed_1290()
    # 3 kW of export: the standard bucket reaches 0.5 Wh in 0.6 s, the _1290 one 7.5 Wh in 9 s.
    t_std = next(k for k in range(100) if std.offer_w(-3000.0, 0.0, 0.1) > 0) * 0.1
    t_del = next(k for k in range(200) if delayed.offer_w(-3000.0, 0.0, 0.1) > 0) * 0.1
    assert t_std == pytest.approx(0.5, abs=0.11)
    assert t_del == pytest.approx(8.9, abs=0.11)
    # A 14 400 J bucket starts at 12 600 J (4.2 s at 3 kW); a start delay Z adds to that.
    mid = Mk2Bucket.sized(14400.0)
    assert (mid.start_j, mid.stop_j) == (12600.0, 10800.0)
    late = Mk2Bucket.sized(3600.0)
    late.start_delay_s = 10.0
    t_late = next(k for k in range(300) if late.offer_w(-3000.0, 0.0, 0.1) > 0) * 0.1
    assert t_late == pytest.approx(0.5 + 10.0, abs=0.11)


def test_eddi_avoid_drain_never_takes_what_the_battery_discharges():
    plain, guarded = EddiLike(), EddiLike(avoid_drain=True)
    for d in (plain, guarded):
        assert d.offer_w(-1000.0, 0.0, 1.0) == 1000.0  # PV surplus: both divert it
    # The battery now discharges 800 W to hold the grid at 0 while the element runs:
    # without a battery CT the eddi keeps the element on it; with one it backs off.
    assert plain.offer_w(0.0, 1000.0, 1.0, battery_w=800.0) == 1000.0
    assert guarded.offer_w(0.0, 1000.0, 1.0, battery_w=800.0) == pytest.approx(200.0)
    assert guarded.offer_w(0.0, 200.0, 1.0, battery_w=1500.0) == 0.0 and not guarded.diverting


def test_heat_pump_min_times_starts_and_sg_ready():
    p = HeatPumpParams(day_of_year=15, t_in0_degc=18.0)  # January, a cold house
    hp = HeatPump(p, t_s=0.0)
    powers = [hp.step(float(t), 1.0) for t in range(3600)]
    assert powers[0] > 0  # it wants heat and starts
    assert hp.starts <= 3
    on_runs = []
    run = 0
    for w in powers:
        if w > 0:
            run += 1
        elif run:
            on_runs.append(run)
            run = 0
    assert all(r >= p.min_on_s for r in on_runs)
    hp.set_state(SgReady.LOCK, 3600.0)
    assert all(hp.step(3600.0 + t, 1.0) == 0.0 for t in range(601, 1200))  # locked
    assert cop(7.0) == pytest.approx(3.5) and cop(-20.0) == 1.8


def test_recommend_raises_the_setpoint_and_force_runs():
    p = HeatPumpParams(day_of_year=172, t_in0_degc=20.2)  # summer: no heat wanted
    normal = HeatPump(p, 0.0)
    assert all(normal.step(float(t), 1.0) == 0.0 for t in range(600))
    forced = HeatPump(p, 0.0)
    forced.set_state(SgReady.FORCE, 0.0)
    assert forced.step(0.0, 1.0) > 0
    rec = HeatPump(p, 0.0)
    rec.set_state(SgReady.RECOMMEND, 0.0)
    assert rec.step(0.0, 1.0) > 0  # 20.2 degC < 20 + 2 - 0.5
