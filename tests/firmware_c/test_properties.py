"""Hypothesis properties of the board step (control + protection) for any inputs."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from edge._core import ffi, lib
from tests.firmware_c.conftest import f32, meas

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32)
anything = st.floats(width=32)  # NaN and infinities included


def board():
    p = ffi.new("edge_board_params_t *")
    s = ffi.new("edge_board_state_t *")
    lib.edge_board_defaults(p, lib.EDGE_CHEM_LIFEPO4, 4, 25.0)
    lib.edge_board_init(p, s)
    return p, s


samples = st.lists(st.tuples(anything, anything, anything, anything), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(cmd=st.integers(0, 4), i_ref=finite, v_ref=finite, seq=samples)
def test_psi_stays_in_its_limits_and_no_nan_leaves_the_core(cmd, i_ref, v_ref, seq):
    p, s = board()
    lim = f32(p.dab.psi_max_rad)
    lib.edge_board_command(p, s, cmd, i_ref, v_ref, meas())
    for v, i, vb, t in seq:
        m = meas(v_string=v, i=i, v_bus=vb, temp=t, cell_min=3.2, cell_max=3.3)
        psi = lib.edge_board_step(p, s, m)
        assert math.isfinite(psi)
        assert -lim <= psi <= lim
        # The integrators stay bounded by their loops' limits.
        assert -lim <= s.ctrl.pi_i.integ <= lim
        assert abs(s.ctrl.pi_v.integ) <= f32(p.ctrl.i_limit_A)
        assert math.isfinite(s.ctrl.i_cmd_A)


@settings(max_examples=100, deadline=None)
@given(cmd=st.integers(1, 4), i_ref=finite, v_ref=finite, seq=samples)
def test_a_latched_trip_keeps_the_bridge_off(cmd, i_ref, v_ref, seq):
    p, s = board()
    lib.edge_board_command(p, s, lib.EDGE_CMD_CURRENT, 5.0, 0.0, meas())
    lib.edge_board_step(p, s, meas(i=math.nan))  # trips SENSOR_NAN
    assert s.prot.latched
    lib.edge_board_command(p, s, cmd, i_ref, v_ref, meas())
    for v, i, vb, t in seq:
        m = meas(v_string=v, i=i, v_bus=vb, temp=t)
        assert lib.edge_board_step(p, s, m) == 0.0
        assert s.prot.latched
