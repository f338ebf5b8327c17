"""Emulated DAB board: the real C core (edge._core, through cffi) stepping an averaged plant.

The board runs its control step at 10 kHz inside C (edge_board_run), so a supervisor
tick of 1 s costs one call. Defaults are the paper's converter (75 W nominal, 12 V
string, 24 V bus, 100 kHz; shared/seeds/hybrid-battery-dab-platform-paper.txt §II.2) with
L sized for 150 W peak (shared/reference/firmware-targets.md §8: L = 2.4 uH).
Sign: current and power + = into the string (charging).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from edge._core import ffi, lib
from edge.core.model import DabReading, Sample


@dataclass(frozen=True)
class DabBoardParams:
    n_ratio: float = 1.0
    l_leak_h: float = 2.4e-6
    f_sw_hz: float = 100e3
    psi_max_rad: float = 0.6  # ~34 deg, ~93 W at 12/24 V: headroom above 5 A x 13 V
    kp_rad_per_a: float = 0.01
    ki_rad_per_a_s: float = 50.0
    over_current_a: float = 8.0
    over_current_debounce: int = 3
    v_bus_v: float = 24.0
    ocv_empty_v: float = 12.0  # 4S LiFePO4, crude linear OCV(SOC)
    ocv_full_v: float = 13.6
    r0_ohm: float = 0.02
    capacity_ah: float = 20.0
    dt_s: float = 1e-4  # outer control loop at 10 kHz


def board_params(p: DabBoardParams) -> Any:
    """The C struct edge_board_params_t for p (caller keeps the returned cdata alive)."""
    c = ffi.new("edge_board_params_t *")
    c.dab.n_ratio = p.n_ratio
    c.dab.l_leak_H = p.l_leak_h
    c.dab.f_sw_Hz = p.f_sw_hz
    c.dab.psi_max_rad = p.psi_max_rad
    c.pi.kp = p.kp_rad_per_a
    c.pi.ki_per_s = p.ki_rad_per_a_s
    c.pi.out_min = -p.psi_max_rad
    c.pi.out_max = p.psi_max_rad
    c.over_current.trip_above = p.over_current_a
    c.over_current.debounce_count = p.over_current_debounce
    c.v_bus_V = p.v_bus_v
    c.ocv_empty_V = p.ocv_empty_v
    c.ocv_full_V = p.ocv_full_v
    c.r0_ohm = p.r0_ohm
    c.capacity_As = p.capacity_ah * 3600.0
    c.dt_s = p.dt_s
    return c


class DabBoardSim:
    def __init__(self, params: DabBoardParams | None = None, soc0: float = 0.5) -> None:
        self.params = params or DabBoardParams()
        self._p = board_params(self.params)
        self._s = ffi.new("edge_board_state_t *")
        lib.edge_board_init(self._p, self._s, soc0)
        self.charge_current_ref_a = 0.0

    def step(self, dt_s: float) -> None:
        n = max(0, round(dt_s / self.params.dt_s))
        lib.edge_board_run(self._p, self._s, self.charge_current_ref_a, n)

    def clear_trip(self) -> None:
        lib.edge_board_clear_trip(self._s)

    @property
    def charge_current_a(self) -> float:
        return float(self._s.charge_current_A)

    @property
    def string_voltage_v(self) -> float:
        return float(self._s.v_string_V)

    @property
    def soc_pct(self) -> float:
        return 100.0 * float(self._s.soc)

    @property
    def psi_rad(self) -> float:
        return float(self._s.psi_rad)

    @property
    def tripped(self) -> bool:
        return bool(self._s.over_current.latched)

    @property
    def power_w(self) -> float:
        return self.charge_current_a * self.string_voltage_v

    def reading(self) -> DabReading:
        return DabReading(self.charge_current_a, self.string_voltage_v, self.tripped)


class EmulatedDabPort:
    """DabPort for a board in this process (the Modbus link comes with the firmware)."""

    def __init__(self, board: DabBoardSim, max_charge_current_a: float) -> None:
        self.board = board
        self.max_charge_current_a = max_charge_current_a
        self._t_s: float | None = None

    def mark(self, t_s: float) -> None:
        """Called by whoever steps the board: its data is fresh as of t_s."""
        self._t_s = t_s

    def sample(self, now_s: float) -> Sample[DabReading] | None:
        if self._t_s is None:
            return None
        return Sample(self.board.reading(), max(0.0, now_s - self._t_s))

    async def apply(self, charge_current_a: float) -> None:
        if not math.isfinite(charge_current_a):
            charge_current_a = 0.0
        self.board.charge_current_ref_a = max(
            -self.max_charge_current_a, min(self.max_charge_current_a, charge_current_a)
        )
