"""firmware_c/src/pi.c"""

from __future__ import annotations

import math

import pytest

from edge._core import lib
from tests.firmware_c.conftest import pi_params


def test_proportional_integral_and_feed_forward_terms():
    p, s = pi_params(kp=0.5, ki=10.0)
    # P = 0.5*0.2 = 0.1, I = 10*0.2*0.01 = 0.02, feed-forward 0.05.
    assert lib.edge_pi_step(p, s, 0.2, 0.05, 0.01) == pytest.approx(0.17, rel=1e-6)
    assert s.integ == pytest.approx(0.02, rel=1e-6)
    assert lib.edge_pi_step(p, s, 0.2, 0.05, 0.01) == pytest.approx(0.19, rel=1e-6)


def test_anti_windup_stops_integrating_into_the_limit():
    p, s = pi_params(kp=1.0, ki=100.0, lo=-1.0, hi=1.0)
    for _ in range(1000):
        out = lib.edge_pi_step(p, s, 5.0, 0.0, 0.01)
    assert out == 1.0
    assert s.integ <= 1.0
    assert lib.edge_pi_step(p, s, -0.5, 0.0, 0.01) < 1.0  # leaves saturation at once


def test_non_finite_error_does_not_poison_the_integrator():
    p, s = pi_params()
    lib.edge_pi_step(p, s, 0.1, 0.0, 0.01)
    before = s.integ
    for bad in (math.nan, math.inf, -math.inf):
        assert math.isfinite(lib.edge_pi_step(p, s, bad, 0.0, 0.01))
        assert s.integ == before


def test_preload_gives_a_bumpless_output():
    p, s = pi_params(kp=2.0, ki=5.0, lo=-8.0, hi=8.0)
    lib.edge_pi_preload(p, s, 3.5, 0.5)
    assert lib.edge_pi_step(p, s, 0.0, 0.5, 0.01) == pytest.approx(3.5)
