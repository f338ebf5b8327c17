"""firmware_c/src/dab_model.c: paper eq. (1) and (2)."""

from __future__ import annotations

import math

import pytest

from edge._core import ffi, lib


def dab(n=1.0, l_h=2.4e-6, f_hz=100e3, psi_max=math.pi / 2):
    return ffi.new(
        "edge_dab_params_t *",
        {"n_ratio": n, "l_leak_H": l_h, "f_sw_Hz": f_hz, "psi_max_rad": psi_max},
    )


def test_power_matches_equation_1():
    p = dab()
    # psi = pi/2: P = 288 (pi/2)^2 / (2 pi^2 * 100e3 * 2.4e-6) = 288 / 1.92 = 150 W.
    assert lib.edge_dab_power_W(p, 12.0, 24.0, math.pi / 2) == pytest.approx(150.0, rel=1e-5)
    # 26.4 deg carries 75 W (docs/reference/firmware-targets.md §8).
    assert lib.edge_dab_power_W(p, 12.0, 24.0, math.radians(26.4)) == pytest.approx(75, rel=5e-3)
    assert lib.edge_dab_power_W(p, 12.0, 24.0, -math.radians(26.4)) == pytest.approx(-75, rel=5e-3)
    assert lib.edge_dab_power_W(p, 12.0, 24.0, 0.0) == 0.0


@pytest.mark.parametrize("power_w", [-140.0, -75.0, -1.0, 0.0, 7.5, 75.0, 149.0])
def test_feed_forward_inverts_equation_1(power_w):
    p = dab()
    psi = lib.edge_dab_psi_ff_rad(p, 12.0, 24.0, power_w)
    assert lib.edge_dab_power_W(p, 12.0, 24.0, psi) == pytest.approx(power_w, abs=0.01)


def test_feed_forward_matches_equation_2_literally():
    # psi = pi/2 [1 - sqrt(1 - 8 fsw L P / (n Vb Vo))], 75 W: 8e5*2.4e-6*75/288 = 0.5.
    p = dab()
    expected = math.pi / 2 * (1 - math.sqrt(1 - 0.5))
    assert lib.edge_dab_psi_ff_rad(p, 12.0, 24.0, 75.0) == pytest.approx(expected, rel=1e-6)


def test_feed_forward_saturates_at_psi_max_and_on_zero_voltage():
    p = dab(psi_max=0.6)
    assert lib.edge_dab_psi_ff_rad(p, 12.0, 24.0, 1e6) == pytest.approx(0.6)
    assert lib.edge_dab_psi_ff_rad(p, 12.0, 24.0, -1e6) == pytest.approx(-0.6)
    assert lib.edge_dab_psi_ff_rad(p, 0.0, 24.0, 50.0) == 0.0
