"""Helpers for the C-core tests (all through cffi: edge._core)."""

from __future__ import annotations

from edge._core import ffi, lib


def f32(x: float) -> float:
    """x rounded to float32, as the C core holds it."""
    return float(ffi.cast("float", x))


def meas(v_string=13.0, i=0.0, v_bus=24.0, temp=25.0, cell_min=3.25, cell_max=3.25):
    m = ffi.new("edge_meas_t *")
    m.v_string_V, m.i_string_A, m.v_bus_V = v_string, i, v_bus
    m.temp_degC, m.cell_min_V, m.cell_max_V = temp, cell_min, cell_max
    return m


def pi_params(kp: float = 0.5, ki: float = 10.0, lo: float = -1.0, hi: float = 1.0):
    p = ffi.new("edge_pi_params_t *", {"kp": kp, "ki_per_s": ki, "out_min": lo, "out_max": hi})
    s = ffi.new("edge_pi_state_t *")
    lib.edge_pi_reset(s)
    return p, s
