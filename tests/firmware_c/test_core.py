"""The C core called directly through cffi (edge._core)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge._core import ffi, lib
from edge.drivers.dab.sim import DabBoardParams, DabBoardSim, board_params


def f32(x: float) -> float:
    return float(ffi.cast("float", x))


def pi_params(kp: float = 0.5, ki: float = 10.0, lo: float = -1.0, hi: float = 1.0):
    p = ffi.new("edge_pi_params_t *", {"kp": kp, "ki_per_s": ki, "out_min": lo, "out_max": hi})
    s = ffi.new("edge_pi_state_t *")
    lib.edge_pi_reset(s)
    return p, s


def test_pi_proportional_and_integral_terms():
    p, s = pi_params(kp=0.5, ki=10.0)
    # First step: P = 0.5*0.2 = 0.1, I = 10*0.2*0.01 = 0.02, feed-forward 0.05.
    out = lib.edge_pi_step(p, s, 0.2, 0.05, 0.01)
    assert out == pytest.approx(0.17, rel=1e-6)
    assert s.integ == pytest.approx(0.02, rel=1e-6)
    out = lib.edge_pi_step(p, s, 0.2, 0.05, 0.01)
    assert out == pytest.approx(0.19, rel=1e-6)


def test_pi_anti_windup_stops_integrating_into_the_limit():
    p, s = pi_params(kp=1.0, ki=100.0, lo=-1.0, hi=1.0)
    for _ in range(1000):
        out = lib.edge_pi_step(p, s, 5.0, 0.0, 0.01)
    assert out == 1.0
    # The integrator did not wind up: a reversed error leaves saturation at once.
    assert s.integ <= 1.0
    out = lib.edge_pi_step(p, s, -0.5, 0.0, 0.01)
    assert out < 1.0


def test_pi_ignores_nan_error():
    p, s = pi_params()
    lib.edge_pi_step(p, s, 0.1, 0.0, 0.01)
    before = s.integ
    out = lib.edge_pi_step(p, s, math.nan, 0.0, 0.01)
    assert math.isfinite(out)
    assert s.integ == before


@given(
    error=st.floats(allow_nan=False, allow_infinity=False, width=32),
    ff=st.floats(min_value=-10, max_value=10, width=32),
    steps=st.integers(min_value=1, max_value=50),
)
def test_pi_output_always_within_limits(error, ff, steps):
    p, s = pi_params(kp=2.0, ki=50.0, lo=-0.6, hi=0.6)
    lim = f32(0.6)  # the limits are float32 in C
    for _ in range(steps):
        out = lib.edge_pi_step(p, s, error, ff, 1e-4)
        assert -lim <= out <= lim
        assert -lim <= s.integ <= lim


def dab(n=1.0, l_h=2.4e-6, f_hz=100e3, psi_max=math.pi / 2):
    return ffi.new(
        "edge_dab_params_t *",
        {"n_ratio": n, "l_leak_H": l_h, "f_sw_Hz": f_hz, "psi_max_rad": psi_max},
    )


def test_dab_power_matches_equation_1():
    # P = n Vp Vs psi (pi - psi) / (2 pi^2 fsw L) with 12 V, 24 V, 100 kHz, 2.4 uH:
    # at psi = pi/2, P = 288 * (pi/2)^2 / (2 pi^2 * 0.24) = 288 / (8 * 0.24) = 150 W.
    p = dab()
    assert lib.edge_dab_power_W(p, 12.0, 24.0, math.pi / 2) == pytest.approx(150.0, rel=1e-5)
    # 26.4 deg carries 75 W (shared/reference/firmware-targets.md §8).
    assert lib.edge_dab_power_W(p, 12.0, 24.0, math.radians(26.4)) == pytest.approx(75.0, rel=5e-3)
    assert lib.edge_dab_power_W(p, 12.0, 24.0, -math.radians(26.4)) == pytest.approx(
        -75.0, rel=5e-3
    )
    assert lib.edge_dab_power_W(p, 12.0, 24.0, 0.0) == 0.0


@pytest.mark.parametrize("power_w", [-140.0, -75.0, -1.0, 0.0, 7.5, 75.0, 149.0])
def test_dab_feed_forward_inverts_equation_1(power_w):
    p = dab()
    psi = lib.edge_dab_psi_ff_rad(p, 12.0, 24.0, power_w)
    assert lib.edge_dab_power_W(p, 12.0, 24.0, psi) == pytest.approx(power_w, abs=0.01)


def test_dab_feed_forward_saturates_at_psi_max():
    p = dab(psi_max=0.6)
    assert lib.edge_dab_psi_ff_rad(p, 12.0, 24.0, 1e6) == pytest.approx(0.6)
    assert lib.edge_dab_psi_ff_rad(p, 12.0, 24.0, -1e6) == pytest.approx(-0.6)


def prot(limit=8.0, debounce=3):
    row = ffi.new("edge_prot_row_t *", {"trip_above": limit, "debounce_count": debounce})
    st_ = ffi.new("edge_prot_state_t *")
    return row, st_


def test_protection_trips_exactly_at_the_debounce_count_and_latches():
    row, s = prot(8.0, 3)
    assert lib.edge_prot_check_abs_above(row, s, 9.0) == 0
    assert lib.edge_prot_check_abs_above(row, s, -9.0) == 0  # magnitude counts
    assert lib.edge_prot_check_abs_above(row, s, 9.0) == 1  # third fault sample
    assert lib.edge_prot_check_abs_above(row, s, 0.0) == 1  # latched
    lib.edge_prot_clear(s)
    assert lib.edge_prot_check_abs_above(row, s, 0.0) == 0


def test_protection_debounce_restarts_on_a_good_sample():
    row, s = prot(8.0, 3)
    for value in (9.0, 9.0, 1.0, 9.0, 9.0):
        assert lib.edge_prot_check_abs_above(row, s, value) == 0
    assert lib.edge_prot_check_abs_above(row, s, 9.0) == 1


def test_protection_counts_nan_as_a_fault():
    row, s = prot(8.0, 1)
    assert lib.edge_prot_check_abs_above(row, s, math.nan) == 1


def test_board_reaches_the_current_reference_both_ways():
    b = DabBoardSim()
    b.charge_current_ref_a = 5.0
    b.step(0.05)
    assert b.charge_current_a == pytest.approx(5.0, abs=0.01)
    assert b.psi_rad > 0
    b.charge_current_ref_a = -3.0
    b.step(0.05)
    assert b.charge_current_a == pytest.approx(-3.0, abs=0.01)
    assert b.psi_rad < 0  # negative psi discharges the string


def test_board_soc_follows_coulomb_count():
    b = DabBoardSim(DabBoardParams(capacity_ah=20.0), soc0=0.5)
    b.charge_current_ref_a = 5.0
    for _ in range(360):
        b.step(10.0)
    # 5 A for 1 h into 20 Ah is +25 points of SOC.
    assert b.soc_pct == pytest.approx(75.0, abs=0.5)


def test_board_result_does_not_depend_on_batching():
    a, b = DabBoardSim(), DabBoardSim()
    a.charge_current_ref_a = b.charge_current_ref_a = 4.0
    a.step(2.0)
    for _ in range(20):
        b.step(0.1)
    assert a.soc_pct == b.soc_pct
    assert a.charge_current_a == b.charge_current_a


def test_board_over_current_trip_disables_the_bridge_in_the_same_step():
    params = DabBoardParams(over_current_a=3.0, over_current_debounce=2)
    p = board_params(params)
    s = ffi.new("edge_board_state_t *")
    lib.edge_board_init(p, s, 0.5)
    steps = 0
    while not s.over_current.latched and steps < 100:
        lib.edge_board_run(p, s, 5.0, 1)
        steps += 1
        if s.over_current.latched:
            assert s.psi_rad == 0.0  # the trip step already put out psi = 0
    assert s.over_current.latched
    lib.edge_board_run(p, s, 5.0, 100)
    assert s.psi_rad == 0.0 and s.charge_current_A == 0.0  # stays off while latched
    lib.edge_board_clear_trip(s)
    lib.edge_board_run(p, s, 1.0, 100)
    assert s.charge_current_A == pytest.approx(1.0, abs=0.01)
