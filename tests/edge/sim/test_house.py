"""The first simulated house: energy balance, determinism, the inverter's own behaviour."""

from __future__ import annotations

import pytest

from edge.sim.house import House, HouseParams, InverterMode

NOON_S = 12 * 3600.0


def run(house: House, seconds: int, dab_w: float = 0.0) -> None:
    for _ in range(seconds):
        house.set_dab_power(dab_w)
        house.step(1.0)


def test_energy_balance_closes_every_step():
    h = House(HouseParams(), start_s=NOON_S)
    for k in range(1800):
        if k == 300:
            h.command_passive(-1500.0)
        if k == 900:
            h.command_passive(800.0)
        h.set_dab_power(60.0 if k % 2 else 0.0)
        before = dict(h.state.energy_wh)
        h.step(1.0)
        d = {key: h.state.energy_wh[key] - before[key] for key in before}
        supply = d["pv"] + d["import"] + d["battery_discharge"]
        demand = d["load"] + d["dab"] + d["battery_charge"] + d["export"]
        assert supply == pytest.approx(demand, rel=1e-3, abs=1e-9)


def test_same_seed_gives_an_identical_run_and_another_seed_does_not():
    def trace(seed: int) -> list[tuple[float, float]]:
        h = House(HouseParams(seed=seed), start_s=NOON_S)
        out = []
        for _ in range(600):
            h.step(1.0)
            out.append((h.state.grid_w, h.state.soc_pct))
        return out

    assert trace(7) == trace(7)
    assert trace(7) != trace(8)


def test_the_kettle_is_a_3_kw_step_for_150_s():
    p = HouseParams(load_noise_w=0.0, kettle_starts_s=(NOON_S + 10,))
    h = House(p, start_s=NOON_S)
    loads = []
    for _ in range(200):
        h.step(1.0)
        loads.append(h.state.load_w)
    on = [w for w in loads if w > p.base_load_w + 1]
    assert len(on) == 150
    assert on[0] == pytest.approx(p.base_load_w + 3000.0)


def test_self_use_covers_the_house_and_passive_follows_the_command():
    h = House(HouseParams(pv_kwp=2.0), start_s=NOON_S)  # surplus within the 3 kW limit
    run(h, 5)
    assert h.state.mode is InverterMode.AUTO
    assert h.state.grid_w == pytest.approx(0.0, abs=1e-6)
    h = House(HouseParams(pv_kwp=6.0), start_s=NOON_S)  # beyond it: the rest is exported
    run(h, 5)
    assert h.state.battery_w == -3000.0
    assert h.state.grid_w < -500.0
    h.command_passive(-500.0)
    run(h, 5)
    assert h.state.battery_w == -500.0


def test_passive_mode_falls_back_to_self_use_when_the_heartbeat_stops():
    h = House(HouseParams(heartbeat_timeout_s=60.0), start_s=NOON_S)
    h.command_passive(2000.0)
    run(h, 50)
    assert h.state.mode is InverterMode.PASSIVE
    h.heartbeat()
    run(h, 59)
    assert h.state.mode is InverterMode.PASSIVE
    run(h, 2)
    assert h.state.mode is InverterMode.AUTO


def test_bms_stops_discharge_when_empty_and_charge_when_full():
    h = House(HouseParams(battery_soc0_pct=5.0), start_s=NOON_S)
    h.command_passive(3000.0)
    run(h, 3)
    assert h.state.battery_w == 0.0
    h = House(HouseParams(battery_soc0_pct=100.0), start_s=NOON_S)
    h.command_passive(-3000.0)
    run(h, 3)
    assert h.state.battery_w == 0.0
