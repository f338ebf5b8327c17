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
from edge.sim.heatpump import HeatPumpParams, cop
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


J_PER_KWH = 3.6e6


def planner_house(hp: HeatPumpParams) -> dict[str, float]:
    """The [planner.house] keys (docs/planner.md, "The house") that describe the simulated
    heat pump and its house, in the site file's units: what `edge demo` plans with, so the
    plan and the plant agree. The comfort band is the thermostat's floor (setpoint less
    hysteresis) up to where FORCE stops (setpoint + force_limit_k); the COP line is read off
    cop() itself, its value at 7 degC and its rise from 7 to 8 degC."""
    return {
        "heat_w": hp.heat_w,
        "loss_w_per_k": hp.house_ua_w_per_k,
        "capacity_kwh_per_k": hp.house_c_j_per_k / J_PER_KWH,
        "internal_gain_w": hp.internal_gain_w,
        "floor_degc": hp.setpoint_degc - hp.hysteresis_k,
        "ceiling_degc": hp.setpoint_degc + hp.force_limit_k,
        "cop_at_7c_out": cop(7.0),
        "cop_per_k": round(cop(8.0) - cop(7.0), 9),
        "setpoint_degc": hp.setpoint_degc,
        "hysteresis_k": hp.hysteresis_k,
        "recommend_raise_k": hp.recommend_boost_k,
    }


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

    def indoor_degc(self) -> float:
        """The house's indoor temperature now (degC), as a room sensor would read it."""
        return self.house.heat_pump.t_in_degc

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
