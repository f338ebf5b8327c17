"""firmware_c/src/chem.c and plant.c: chemistry data and the averaged plant."""

from __future__ import annotations

import itertools

import pytest

from edge._core import ffi, lib
from edge.ccore import Chemistry, Command, Sim


def test_chemistry_limits_follow_table_ii():
    lfp = lib.edge_chem(Chemistry.LIFEPO4)
    pb = lib.edge_chem(Chemistry.LEAD_ACID)
    # Table II: LiFePO4 3.2 V nominal, CC to 3.65 V; Pb-acid 2 V, fast charge 2.45-2.5 V.
    assert lfp.v_nominal_V == pytest.approx(3.2)
    assert lfp.v_charge_max_V == pytest.approx(3.65)
    assert pb.v_nominal_V == pytest.approx(2.0)
    assert 2.45 <= pb.v_charge_max_V + 1e-6 <= 2.5
    assert lib.edge_chem(99) == ffi.NULL


@pytest.mark.parametrize("chem", list(Chemistry))
def test_ocv_tables_rise_with_soc_and_interpolate(chem):
    c = lib.edge_chem(chem)
    table = [c.ocv_V[k] for k in range(11)]
    assert all(b > a for a, b in itertools.pairwise(table))
    mid = lib.edge_chem_ocv_V(c, 0.55)
    assert mid == pytest.approx((table[5] + table[6]) / 2, rel=1e-6)
    assert lib.edge_chem_ocv_V(c, -1.0) == table[0]  # clamped
    assert lib.edge_chem_ocv_V(c, 2.0) == table[10]


def string(chem=Chemistry.LIFEPO4, n=4, ah=25.0, soc=0.5):
    p = ffi.new("edge_string_params_t *")
    s = ffi.new("edge_string_state_t *")
    lib.edge_string_defaults(p, chem, n, ah)
    lib.edge_string_init(p, s, soc, 25.0)
    return p, s


def test_string_totals_scale_with_cells_and_capacity():
    p, _ = string(n=4, ah=25.0)
    assert p.r0_ohm == pytest.approx(4 * 0.003)
    assert p.capacity_As == pytest.approx(25 * 3600)
    p50, _ = string(n=4, ah=50.0)
    assert p50.r0_ohm == pytest.approx(p.r0_ohm / 2)  # twice the cell area


def test_terminal_voltage_is_ocv_plus_ir_and_power_balances():
    p, s = string()
    lib.edge_string_fast(p, s, 65.0)
    assert s.v_V * s.i_A == pytest.approx(65.0, rel=1e-5)
    assert s.v_V == pytest.approx(s.ocv_V + s.i_A * p.r0_ohm, rel=1e-6)


def test_coulomb_count_and_rc_pair():
    p, s = string(soc=0.5)
    tau = p.r1_ohm * p.c1_F
    for _ in range(int(tau * 1000)):  # one time constant at 1 kHz
        lib.edge_string_fast(p, s, 5.0 * s.v_V)
        lib.edge_string_slow(p, s, 1e-3)
    # After one tau the RC pair holds (1 - 1/e) of I*R1.
    assert s.v_rc_V == pytest.approx(s.i_A * p.r1_ohm * (1 - 0.367879), rel=0.01)
    assert s.soc == pytest.approx(0.5 + s.i_A * tau / p.capacity_As, abs=1e-4)


def test_cell_imbalance_and_temperature():
    p, s = string(soc=0.5)
    p.soc_offset[2] = 0.1
    lib.edge_string_slow(p, s, 1e-3)
    assert s.cell_max_V == pytest.approx(s.cell_V[2])
    assert s.cell_max_V > s.cell_min_V
    t0 = s.temp_degC
    for _ in range(20_000):  # 20 s at 8 A
        lib.edge_string_fast(p, s, 8.0 * s.v_V)
        lib.edge_string_slow(p, s, 1e-3)
    # I^2 R heats the string: 64 A^2 * 12 mOhm * 20 s / 3600 J/K = 4.3 mK (losses negligible).
    heated_k = s.temp_degC - t0 + s.heat_acc_J / p.c_th_J_per_K
    assert heated_k == pytest.approx(64 * p.r0_ohm * 20 / p.c_th_J_per_K, rel=0.02)


def test_an_internal_short_collapses_one_cell():
    p, s = string(soc=0.5)
    s.cell_short_ohm = p.r0_ohm / 4  # as low as the cell's own resistance
    lib.edge_string_slow(p, s, 1e-3)
    assert s.cell_V[0] == pytest.approx(s.cell_V[1] / 2, rel=0.01)


def test_bus_is_held_by_the_front_end_and_sags_under_a_load_without_it():
    sim = Sim(n_units=1)
    sim.run_s(0.01)
    assert sim.bus_voltage_v == pytest.approx(24.0, abs=0.01)

    def no_source(p):
        p.bus.r_src_ohm = 0.0

    sim = Sim(n_units=1, configure=no_source)
    sim.params.unit[0].board.prot.watchdog_enabled = 0
    sim.set_bus_load_w(75.0)
    sim.run(100)
    assert sim.bus_voltage_v < 24.0 - 1.0  # nobody feeds the bus
    sim.units[0].command(Command.V_BUS, 8.0, 24.0)
    sim.run_s(0.2)
    assert sim.bus_voltage_v == pytest.approx(24.0, abs=0.01)
