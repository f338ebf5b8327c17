"""The simulated house behind real sockets: the Sofar emulator serves it over Modbus RTU
framing on TCP, and the DAB board (the C core through cffi) draws its supply from it.
One task steps everything on the clock."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from edge.drivers.dab.sim import DabBoardSim, EmulatedDabPort
from edge.drivers.sofar.sim import SofarEmulator
from edge.sim.clock import ScaledClock
from edge.sim.house import House, HouseParams


@dataclass(frozen=True)
class WorldParams:
    house: HouseParams = field(default_factory=HouseParams)
    host: str = "127.0.0.1"
    inverter_port: int = 0  # 0: a free port
    slave_id: int = 1
    step_s: float = 0.5  # simulated seconds per plant step
    dab_max_charge_current_a: float = 5.0


class SimulatedWorld:
    def __init__(self, clock: ScaledClock, params: WorldParams | None = None) -> None:
        self.clock = clock
        self.params = params or WorldParams()
        self.house = House(self.params.house, start_s=clock.now_s())
        self.inverter = SofarEmulator(
            self.house, self.params.host, self.params.inverter_port, self.params.slave_id
        )
        self.board = DabBoardSim()
        self.dab_port = EmulatedDabPort(self.board, self.params.dab_max_charge_current_a)
        self.dab_port.mark(clock.now_s())

    async def start(self) -> int:
        """Start the emulator; returns its TCP port."""
        return await self.inverter.start()

    async def run(self) -> None:
        """Step the house and the board forever on the clock; cancel to stop."""
        last = self.clock.now_s()
        while True:
            await self.clock.sleep(self.params.step_s)
            now = self.clock.now_s()
            dt = now - last
            self.board.step(dt)
            self.house.set_dab_power(self.board.power_w)
            self.house.step(dt)
            self.dab_port.mark(now)
            last = now

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.inverter.stop()
