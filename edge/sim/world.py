"""The simulated house behind real sockets: the Sofar emulator serves the inverter over
Modbus RTU framing on TCP, and the DAB board emulator (the board's own C code through
cffi, its Modbus slave included) draws its supply from the house. One task steps both."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from edge.clock import ScaledClock
from edge.config import SimulationConfig
from edge.drivers.dab.sim import DabBoardEmulator
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.drivers.sofar.g3_sim import SofarG3Emulator
from edge.drivers.sofar.sim import SofarEmulator
from edge.sim.house import House, HouseParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams


def house_params(sim: SimulationConfig) -> HouseParams:
    """The simulated house a site file's [simulation] section describes."""
    pv = None
    if sim.pv_model == "pvlib":
        pv = PvParams(
            latitude_deg=sim.latitude_deg,
            longitude_deg=sim.longitude_deg,
            tilt_deg=sim.pv_tilt_deg,
            azimuth_deg=sim.pv_azimuth_deg,
            kwp=sim.pv_kwp,
            cloudiness=sim.cloudiness,
            weather_csv=sim.weather_csv,
        )
    load = LoadParams(occupants=sim.occupants) if sim.load_model == "richardsonpy" else None
    return HouseParams(
        seed=sim.seed,
        start_day_of_year=sim.start_day_of_year,
        pv=pv,
        load=load,
        pv_kwp=sim.pv_kwp,
        diverter=sim.diverter,
    )


@dataclass(frozen=True)
class WorldParams:
    house: HouseParams = field(default_factory=HouseParams)
    host: str = "127.0.0.1"
    inverter_port: int = 0  # 0: a free port
    inverter_slave_id: int = 1
    inverter_family: str = "sofar_me3000sp"  # or "sofar_hyd_ep" (G3 registers)
    dab: bool = True
    dab_port: int = 0
    dab_slave_id: int = 1
    # The DC bus's front end ramps up over this long after power-up (simulated seconds), so
    # the supervisor's start-up sequence (bus up, reset, then current) runs; None: bus up.
    dab_bus_rise_s: float | None = 3.0
    pylontech_port: int | None = None  # serve the BMS's RS485 protocol too (0: a free port)
    step_s: float = 0.5  # simulated seconds per plant step


class SimulatedWorld:
    def __init__(self, clock: ScaledClock, params: WorldParams | None = None) -> None:
        self.clock = clock
        self.params = params or WorldParams()
        p = self.params
        self.house = House(p.house, start_s=clock.now_s())
        self.inverter: SofarEmulator | SofarG3Emulator = (
            SofarG3Emulator(self.house, p.host, p.inverter_port, p.inverter_slave_id)
            if p.inverter_family == "sofar_hyd_ep"
            else SofarEmulator(self.house, p.host, p.inverter_port, p.inverter_slave_id)
        )
        self.board = (
            DabBoardEmulator(p.host, p.dab_port, p.dab_slave_id, bus_rise_s=p.dab_bus_rise_s)
            if p.dab
            else None
        )
        self.bms = (
            PylontechEmulator(self.house.pack, p.host, p.pylontech_port)
            if p.pylontech_port is not None
            else None
        )

    async def start(self) -> tuple[int, int | None]:
        """Start the emulators; returns their TCP ports (inverter, DAB board)."""
        inverter = await self.inverter.start()
        dab = await self.board.start() if self.board is not None else None
        if self.bms is not None:
            await self.bms.start()
        return inverter, dab

    async def run(self) -> None:
        """Step the house and the board forever on the clock; cancel to stop."""
        last = self.clock.now_s()
        while True:
            await self.clock.sleep(self.params.step_s)
            now = self.clock.now_s()
            dt = now - last
            if self.board is not None:
                self.board.step(dt)
                self.house.set_dab_power(self.board.power_w)
            self.house.step(dt)
            last = now

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.inverter.stop()
        for device in (self.board, self.bms):
            if device is not None:
                with contextlib.suppress(Exception):
                    await device.stop()
