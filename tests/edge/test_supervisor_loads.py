"""The live supervisor with the flexible loads, over real sockets against the simulated
house: the surplus the battery cannot take heats the tank, and no battery energy does."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from edge.clock import ScaledClock
from edge.config import ConfigError, EdgeConfig, parse_config
from edge.core.model import LoadsReading, SgState
from edge.drivers.budget import WriteBudget
from edge.drivers.loads.port import SG_CONTACTS, LoadsDriver
from edge.drivers.loads.sim import SG_READY_CONTACTS, EmulatedLoads
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.sofar.driver import SofarDriver
from edge.sim.house import HouseParams, SgReady
from edge.sim.tank import TankParams
from edge.sim.world import SimulatedWorld, WorldParams
from edge.supervisor import Supervisor

NOON_S = 12 * 3600.0


class Outputs:
    """A LoadOutputs that records what it was told."""

    def __init__(self) -> None:
        self.diverter: list[float] = []
        self.contacts: list[tuple[bool, bool]] = []

    def set_diverter_w(self, power_w: float) -> None:
        self.diverter.append(power_w)

    def set_sg_contacts(self, contact1: bool, contact2: bool) -> None:
        self.contacts.append((contact1, contact2))

    def read(self) -> LoadsReading:
        return LoadsReading(0.0, 0.0, 50.0)

    def age_s(self) -> float:
        return 0.0

    def close(self) -> None:
        self.closed = True


def test_the_loads_driver_writes_only_changes_beyond_its_deadband():
    out = Outputs()
    drv = LoadsDriver(out, deadband_w=50.0)
    assert out.diverter == [0.0] and out.contacts == [(False, False)]  # safe at start
    drv.apply(1000.0, SgState.NORMAL)
    drv.apply(1030.0, SgState.NORMAL)  # inside the deadband
    drv.apply(1100.0, SgState.RECOMMEND)
    drv.apply(0.0, SgState.RECOMMEND)  # off is always written
    assert out.diverter == [0.0, 1000.0, 1100.0, 0.0]
    assert out.contacts == [(False, False), (False, True)]
    assert drv.writes.diverter == 3 and drv.writes.relays == 1
    drv.close()
    assert out.contacts[-1] == SG_CONTACTS[SgState.NORMAL] and out.closed


def test_past_the_daily_budget_the_element_goes_off_once_and_stays_off():
    out = Outputs()
    budget = WriteBudget("diverter", per_day=3)
    drv = LoadsDriver(out, deadband_w=50.0, budget=budget, clock=lambda: 100.0)
    for w in (500.0, 1000.0, 1500.0, 2000.0, 2500.0, 100.0):
        drv.apply(w, SgState.NORMAL)
    assert out.diverter == [0.0, 500.0, 1000.0, 1500.0, 0.0]  # the fourth: off instead
    assert drv.budget.over_budget == 3 and budget.used(100.0) == 4
    drv.apply(0.0, SgState.FORCE)  # the relays are not budgeted (no wear)
    assert out.contacts[-1] == SG_CONTACTS[SgState.FORCE]


def test_sg_ready_contacts_match_the_emulated_relays():
    for state, contacts in SG_CONTACTS.items():
        assert SG_READY_CONTACTS[contacts] is SgReady[state.name]


@pytest.mark.parametrize(
    ("pv_kwp", "soc0_pct", "with_bms"),
    [
        (5.0, 50.0, False),  # 4.1 kW of PV: more than the inverter's 3 kW charge can take
        (3.0, 98.5, True),  # 2.5 kW of PV, but the BMS tapers the charge of a nearly full pack
    ],
)
def test_the_live_supervisor_heats_the_tank_with_surplus_only(pv_kwp, soc0_pct, with_bms):
    async def go():
        house = HouseParams(
            pv_kwp=pv_kwp,
            battery_soc0_pct=soc0_pct,
            load_noise_w=0.0,
            kettle_starts_s=(NOON_S + 20.0,),
            kettle_duration_s=60.0,
            tank=TankParams(t0_degc=45.0),
        )
        clock = ScaledClock(start_s=NOON_S, speed=20.0)
        world = SimulatedWorld(
            clock,
            WorldParams(house=house, dab=False, step_s=0.5, pylontech_port=0 if with_bms else None),
        )
        port, _ = await world.start()
        cfg = EdgeConfig.model_validate(
            {
                "inverter": {"port": f"tcp://127.0.0.1:{port}"},
                "battery": {"bms_port": f"tcp://127.0.0.1:{world.bms.port}"} if world.bms else {},
                "dab": {"enabled": False},
                "mqtt": {"enabled": False},
            }
        )
        loads = LoadsDriver(EmulatedLoads(world.house), cfg.loads.diverter.deadband_w)
        bms = (
            PylontechDriver(cfg.battery.bms_port, cfg.battery.bms_modules, clock)
            if cfg.battery.bms_port
            else None
        )
        sup = Supervisor(
            cfg, clock, SofarDriver(cfg.inverter, clock), None, None, lambda _l: None, loads, bms
        )
        stepping = asyncio.create_task(world.run())
        try:
            await sup.run(NOON_S + 150.0, asyncio.Event())
        finally:
            stepping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stepping
            await world.stop()
        e = world.house.state.energy_wh
        assert e["heater"] > 10.0  # the surplus went to the tank...
        assert e["battery_to_heater"] == 0.0  # ...and no battery energy did
        assert e["export"] < 0.2 * e["heater"]  # the surplus was not exported instead
        assert loads.writes.diverter >= 2
        assert any("surplus to the tank" in d for d in sup.summary.decisions)
        if with_bms:
            assert any("BMS charge limit" in d for d in sup.summary.decisions)
        assert sup.summary.safe_ticks == 0  # start-up waited for the BMS's first answer
        assert world.house.diverter.setpoint_w == 0.0  # element off at the end of the run

    asyncio.run(go())


def test_a_duplicate_load_priority_is_refused_with_the_key():
    with pytest.raises(ConfigError, match=r"loads\.priority = \['tank', 'tank'\]: .*at most once"):
        parse_config({"loads": {"priority": ["tank", "tank"]}})
