"""firmware_c/src/protection.c and prot_table.c: every row trips within its debounce
window and not before; latching, lock-out, clear, actions, and the same-step trip."""

from __future__ import annotations

import math

import pytest

from edge._core import ffi, lib
from edge.ccore import Chemistry, Command, Fault, Sim, protection_table
from tests.firmware_c.conftest import meas

N_CELLS = 4
DT_FAST, DT_SLOW = 1e-5, 1e-3


def prot_params():
    p = ffi.new("edge_prot_params_t *")
    p.i_cont_A, p.v_string_max_V, p.i_abs_max_A = 6.0, 40.0, 50.0
    p.temp_min_degC, p.temp_max_degC = -40.0, 150.0
    p.lockout_slow_steps, p.watchdog_enabled = 500, 1
    return p


def healthy(chem: Chemistry):
    """A measurement inside every row of the chemistry's table."""
    c = lib.edge_chem(chem)
    cell = c.ocv_V[5]
    return dict(v_string=cell * N_CELLS, i=1.0, v_bus=24.0, temp=25.0, cell_min=cell, cell_max=cell)


def faulty(row, chem: Chemistry, state, k: int):
    """Measurement k of a sequence that puts `row`'s signal beyond its threshold (and, for
    derived signals, the state that makes it so from the first sample)."""
    m = healthy(chem)
    thr = row.threshold
    beyond = thr + 0.05 if row.above else thr - 0.05
    sig = row.signal
    if sig == lib.EDGE_SIG_CELL_AVG_V:
        m["v_string"] = beyond * N_CELLS
        m["cell_min"] = m["cell_max"] = beyond
    elif sig == lib.EDGE_SIG_CELL_MAX_V:
        m["cell_max"] = beyond
    elif sig == lib.EDGE_SIG_CELL_MIN_V:
        m["cell_min"] = beyond
    elif sig == lib.EDGE_SIG_ABS_CURRENT_A:
        m["i"] = -beyond  # magnitude counts
    elif sig == lib.EDGE_SIG_I2T_A2S:
        state.i2t_A2s = thr + 10.0
        m["i"] = 6.0  # at i_cont the integral holds
    elif sig == lib.EDGE_SIG_TEMP_DEGC:
        m["temp"] = beyond
    elif sig == lib.EDGE_SIG_BUS_V:
        m["v_bus"] = beyond
    elif sig == lib.EDGE_SIG_NONFINITE:
        m["v_string"] = math.nan
    elif sig == lib.EDGE_SIG_OUT_OF_RANGE:
        m["temp"] = -60.0
    elif sig == lib.EDGE_SIG_STUCK_S:
        state.stuck_s = thr + 1.0
        state.last_v_string_V = m["v_string"]
    elif sig == lib.EDGE_SIG_REFRESH_AGE_S:
        state.refresh_age_s = thr + 1.0
    elif sig == lib.EDGE_SIG_TEMP_RATE_DEGC_PER_S:
        rate = thr + 1.0
        if k == 0:
            state.temp_rate_degC_per_s = rate
            state.temp_window_s = 0.0
            state.temp_prev_degC = 25.0
        m["temp"] = 25.0 + rate * DT_SLOW * (k + 1)
    elif sig == lib.EDGE_SIG_CELL_COLLAPSE_V:
        m["cell_min"] = m["v_string"] / N_CELLS - (thr + 0.05)
    else:
        raise AssertionError(f"no driver for signal {sig}")
    return meas(**m)


ROWS = [(chem, k) for chem in Chemistry for k in range(lib.EDGE_FAULT_COUNT)]


@pytest.mark.parametrize(("chem", "k"), ROWS, ids=[f"{c.name}-{Fault(k).name}" for c, k in ROWS])
def test_every_row_trips_within_its_debounce_window_and_not_before(chem, k):
    n = ffi.new("uint16_t *")
    rows = lib.edge_prot_table(chem, n)
    row = protection_table(chem)[k]
    p, s = prot_params(), ffi.new("edge_prot_state_t *")
    lib.edge_prot_init(s)
    rate = lib.EDGE_RATE_FAST if row.fast else lib.EDGE_RATE_SLOW
    dt = DT_FAST if row.fast else DT_SLOW
    bit = 1 << row.fault
    if rate == lib.EDGE_RATE_SLOW:  # one healthy slow sample first (starts the windows)
        lib.edge_prot_eval(rows, n[0], p, s, meas(**healthy(chem)), N_CELLS, rate, dt)
    for sample in range(row.debounce_count):
        assert not s.active & bit, f"active after {sample} of {row.debounce_count} samples"
        lib.edge_prot_eval(rows, n[0], p, s, faulty(row, chem, s, sample), N_CELLS, rate, dt)
    assert s.active & bit
    if row.level == "warning":
        assert not s.latched & bit
    else:
        assert s.latched & bit and s.trips[row.fault] == 1
    assert (s.fatal == 1) == (row.level == "fatal")


def test_tables_put_fast_rows_first_and_cover_every_fault_once():
    for chem in Chemistry:
        rows = protection_table(chem)
        fast = [r.fast for r in rows]
        assert fast == sorted(fast, reverse=True)
        assert sorted(r.fault for r in rows) == list(range(lib.EDGE_FAULT_COUNT))


def test_cell_thresholds_differ_by_chemistry():
    ov = {c: next(r for r in protection_table(c) if r.fault is Fault.CELL_OV) for c in Chemistry}
    assert ov[Chemistry.LIFEPO4].threshold == pytest.approx(3.75)
    assert ov[Chemistry.LEAD_ACID].threshold == pytest.approx(2.60)
    assert ov[Chemistry.ZINC].threshold == pytest.approx(2.00)


def board_sim() -> Sim:
    sim = Sim(n_units=1)
    sim.units[0].command(Command.CURRENT, 5.0)
    sim.run_s(0.01)
    return sim


def test_a_fast_trip_turns_the_bridge_off_in_the_same_step():
    sim = board_sim()
    u = sim.units[0]
    sim.params.bus.v_src_V = 40.0  # the front end runs away: bus over-voltage
    steps = 0
    while not u.latched_faults and steps < 10_000:
        sim.run(1)
        steps += 1
    assert u.latched_faults == {Fault.BUS_OV}
    assert u.psi_rad == 0.0  # already in the step that latched
    sim.run(100)
    assert u.psi_rad == 0.0 and u.current_a == 0.0


def test_latched_trip_keeps_the_bridge_off_until_an_accepted_clear():
    sim = board_sim()
    u = sim.units[0]
    sim.params.bus.v_src_V = 40.0
    sim.run(1000)
    assert Fault.BUS_OV in u.latched_faults
    u.command(Command.CURRENT, 5.0)  # a command does not clear a trip
    sim.run(100)
    assert u.psi_rad == 0.0
    assert not u.clear()  # the bus is still high, and the lock-out has not passed
    sim.params.bus.v_src_V = 24.0
    sim.run_s(0.1)
    assert not u.clear()  # 100 ms < the 500 ms lock-out
    sim.run_s(0.5)
    assert u.clear()
    assert not u.latched_faults
    u.command(Command.CURRENT, 5.0)
    sim.run_s(0.01)
    assert u.current_a == pytest.approx(5.0, rel=1e-3)


def test_the_watchdog_ramps_the_current_to_zero_instead_of_cutting_it():
    sim = board_sim()
    u = sim.units[0]
    sim.run_s(4.9)
    assert u.current_a == pytest.approx(5.0, rel=1e-3)  # refreshed at the command
    while Fault.WATCHDOG not in u.latched_faults and sim.time_s < 6.0:
        sim.run(10)
    assert sim.time_s == pytest.approx(5.0, abs=0.01)  # 5 s after the last refresh
    i, _ = sim.run_traced(2000)
    assert i[0] > 4.5  # no hard cut...
    assert 1.0 < i[60] < 4.0  # ...but a ramp at the 5000 A/s slew limit
    assert abs(i[-1]) < 0.05


def test_thermal_runaway_isolates_the_string_and_cannot_be_cleared():
    sim = board_sim()
    u = sim.units[0]
    u.state.string.heat_W = 20000.0  # about 5 degC/s on this string
    sim.run_s(1.0)
    assert Fault.RUNAWAY_DTDT in u.latched_faults
    assert not u.contactor_closed
    u.state.string.heat_W = 0.0
    sim.run_s(1.0)
    assert not u.clear()


def test_a_collapsing_cell_isolates_the_string():
    sim = board_sim()
    u = sim.units[0]
    u.state.string.cell_short_ohm = 0.0005
    sim.run_s(0.05)
    assert Fault.RUNAWAY_VCELL in u.latched_faults
    assert not u.contactor_closed
    assert u.current_a == 0.0


def test_a_nan_sample_trips_at_once():
    n = ffi.new("uint16_t *")
    rows = lib.edge_prot_table(Chemistry.LIFEPO4, n)
    p, s = prot_params(), ffi.new("edge_prot_state_t *")
    lib.edge_prot_init(s)
    act = lib.edge_prot_eval(
        rows, n[0], p, s, meas(i=math.nan), N_CELLS, lib.EDGE_RATE_FAST, DT_FAST
    )
    assert act == lib.EDGE_ACTION_BRIDGE_OFF
