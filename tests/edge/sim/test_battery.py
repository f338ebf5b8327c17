"""The Pylontech-style pack: cells, spread, BMS limits, temperature."""

from __future__ import annotations

import pytest

from edge.sim.battery import CELLS, PackParams, PylontechPack


def test_cells_spread_around_the_reported_soc_and_are_seeded():
    pack = PylontechPack(PackParams(modules=2), 50.0, seed=3)
    socs = pack.cell_socs()
    assert len(socs) == 2 and all(len(m) == CELLS for m in socs)
    assert pack.min_cell_soc_pct < pack.soc_pct < pack.max_cell_soc_pct
    assert pack.soc_pct == pytest.approx(50.0, abs=1.0)
    assert PylontechPack(PackParams(modules=2), 50.0, seed=3).cell_socs() == socs
    assert PylontechPack(PackParams(modules=2), 50.0, seed=4).cell_socs() != socs
    volts = [v for m in pack.cell_voltages_v() for v in m]
    assert all(3.2 < v < 3.4 for v in volts)  # LiFePO4 plateau at mid SOC
    assert 46.0 < pack.voltage_v < 52.0  # 15 cells in series


def test_charge_moves_every_cell_by_its_own_capacity():
    pack = PylontechPack(PackParams(modules=2, module_ah=50.0), 50.0, seed=1)
    before = pack.soc_pct
    for _ in range(360):  # 10 A into each of two modules for 6 min = 1 Ah each
        pack.step(20.0 * 48.0, 10.0)
    gained = pack.soc_pct - before
    assert gained == pytest.approx(100.0 * pack.charge_as / (50.0 * 3600.0), rel=0.03)
    assert pack.current_a > 0


def test_bms_limits_follow_the_extreme_cells_and_the_temperature():
    full = PylontechPack(PackParams(), 99.0, seed=1)
    assert full.limits_a()[0] < 0.3 * 100.0  # near full: the charge limit is tapered
    empty = PylontechPack(PackParams(), 5.0, seed=1)
    assert empty.limits_a()[1] < 0.1 * 100.0  # at the cut-off: (almost) no discharge
    mid = PylontechPack(PackParams(), 50.0, seed=1)
    assert mid.limits_a() == (100.0, 100.0)
    mid.temp_degc = -5.0
    assert mid.limits_a() == (0.0, 100.0)  # no charging below 0 degC
    mid.temp_degc = 55.0
    assert mid.limits_a() == (0.0, 0.0)


def test_current_heats_the_pack():
    pack = PylontechPack(PackParams(), 50.0, seed=1)
    t0 = pack.temp_degc
    for _ in range(1800):
        pack.step(-4800.0, 1.0)  # 100 A out of the pack
    assert pack.temp_degc > t0 + 0.5
