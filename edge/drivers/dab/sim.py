"""Emulated DAB board for the simulated house: the real C core (edge._core through cffi)
running the board's control, protection and an averaged plant, stepped inside C at the
switching frequency. The supervisor reaches it through EmulatedDabPort.

Defaults: the paper's converter (75 W, 24 V bus, 100 kHz) on a four-cell LiFePO4 string
(paper Table II: 25 Ah cells). Sign: current and power + = into the string (charging).
"""

from __future__ import annotations

import math

from edge.core.model import DabReading, Sample
from edge.drivers.dab.core import Command, Sim


class DabBoardSim:
    def __init__(self, soc0: float = 0.5) -> None:
        self.sim = Sim(soc0=soc0, n_units=1)
        self.unit = self.sim.units[0]
        self.charge_current_ref_a = 0.0

    def step(self, dt_s: float) -> None:
        self.sim.run(max(0, round(dt_s / self.sim.dt_s)))

    def command_current(self, charge_current_a: float) -> None:
        """Hold charge_current_a (also the supervisor's watchdog refresh)."""
        self.charge_current_ref_a = charge_current_a
        self.unit.command(Command.CURRENT, charge_current_a)

    def clear_trip(self) -> bool:
        return self.unit.clear()

    @property
    def charge_current_a(self) -> float:
        return self.unit.current_a

    @property
    def string_voltage_v(self) -> float:
        return self.unit.string_voltage_v

    @property
    def soc_pct(self) -> float:
        return 100.0 * self.unit.soc

    @property
    def psi_rad(self) -> float:
        return self.unit.psi_rad

    @property
    def tripped(self) -> bool:
        return bool(self.unit.latched_faults)

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
        self.board.command_current(
            max(-self.max_charge_current_a, min(self.max_charge_current_a, charge_current_a))
        )
