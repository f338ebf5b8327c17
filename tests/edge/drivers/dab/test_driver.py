"""The DAB driver (pymodbus) against the board's own C slave behind a socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from edge.ccore import Fault
from edge.clock import ScaledClock
from edge.config import DabConfig
from edge.drivers.budget import WriteBudget
from edge.drivers.dab.driver import DabDriver, Startup
from edge.drivers.dab.sim import DabBoardEmulator
from edge.tasks import cancel_and_wait


@dataclass
class Rig:
    board: DabBoardEmulator
    drv: DabDriver
    clock: ScaledClock
    task: asyncio.Task


async def until(pred, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def rig(
    bus_rise_s: float | None = None, ready: bool = True, budget: WriteBudget | None = None, **cfg
) -> AsyncIterator[Rig]:
    board = DabBoardEmulator(bus_rise_s=bus_rise_s)
    port = await board.start()
    clock = ScaledClock(start_s=0.0, speed=1.0)
    cfg.setdefault("bus_settle_s", 0.0)
    drv = DabDriver(
        DabConfig(port=f"tcp://127.0.0.1:{port}", **cfg), clock, poll_s=0.05, budget=budget
    )
    task = asyncio.create_task(drv.run())
    try:
        await until(lambda: drv.live and drv.sample(clock.now_s()) is not None)
        if ready:
            await until(lambda: drv.startup is Startup.READY)
        yield Rig(board, drv, clock, task)
    finally:
        await cancel_and_wait([task])
        await drv.close()
        await board.stop()


def test_identifies_the_board_and_reads_telemetry():
    async def go():
        async with rig() as r:
            assert (r.drv.board_id, r.drv.firmware_version) == (1, 0x0100)
            t = r.drv.telemetry
            assert t.string_voltage_v == pytest.approx(r.board.unit.string_voltage_v, abs=0.001)
            assert t.bus_voltage_v == pytest.approx(24.0, abs=0.01)
            refreshes = r.board.slave.dev.refreshes
            await asyncio.sleep(0.2)
            assert r.board.slave.dev.refreshes > refreshes  # every poll refreshes the watchdog

    asyncio.run(go())


def test_a_current_reference_reaches_the_bridge_and_small_changes_are_not_written():
    async def go():
        async with rig(max_charge_current_a=4.0) as r:
            await r.drv.apply(3.0)
            r.board.step(0.01)
            assert r.board.unit.current_a == pytest.approx(3.0, rel=1e-3)
            await r.drv.apply(3.02)  # inside the 0.05 A deadband
            assert r.drv.writes == 1
            await r.drv.apply(9.0)  # clamped to the configured 4 A
            r.board.step(0.01)
            assert r.board.unit.current_a == pytest.approx(4.0, rel=1e-3)
            await r.drv.close()
            r.board.step(0.001)
            assert r.board.unit.current_a == 0.0  # closing turns the bridge off

    asyncio.run(go())


def test_a_trip_on_the_board_is_seen_by_the_supervisor():
    async def go():
        async with rig() as r:
            await r.drv.apply(3.0)
            r.board.sim.params.bus.v_src_V = 40.0  # the DC bus runs away
            r.board.step(0.01)
            await until(lambda: r.drv.sample(r.clock.now_s()).value.tripped)
            assert r.drv.telemetry.faults_latched & (1 << Fault.BUS_OV)
            assert r.drv.telemetry.protection_action == 2  # bridge off

    asyncio.run(go())


def test_a_board_that_goes_away_ages_its_data():
    async def go():
        async with rig() as r:
            before = r.drv.sample(r.clock.now_s()).value
            await r.board.stop()
            # Connected clients keep their sockets: drop the link from the driver's side too.
            r.drv.lost("test: link dropped")
            await asyncio.sleep(0.5)
            later = r.drv.sample(r.clock.now_s())
            assert later.value == before and later.age_s >= 0.5
            assert r.drv.status.startswith("offline")

    asyncio.run(go())


def test_start_up_waits_for_the_bus_resets_the_transient_trip_then_allows_current():
    async def go():
        async with rig(bus_rise_s=0.6, ready=False, bus_settle_s=0.3) as r:

            async def plant():
                while True:
                    r.board.step(0.01)
                    await asyncio.sleep(0.01)

            stepping = asyncio.create_task(plant())
            try:
                await r.drv.apply(3.0)  # too early: the bus is not up
                assert r.drv.writes == 0 and r.drv.startup is not Startup.READY
                assert r.drv.sample(r.clock.now_s()).value.tripped
                await until(lambda: r.board.sim.bus_voltage_v > 21.0)
                # The dead bus latched its under-voltage trip on the way up.
                assert Fault.BUS_UV in r.board.unit.latched_faults
                seen = set()
                while r.drv.startup is not Startup.READY:
                    seen.add(r.drv.startup)
                    await r.drv.apply(3.0)
                    assert r.drv.writes == 0  # nothing flows before the sequence ends
                    await asyncio.sleep(0.01)
                assert {Startup.SETTLING, Startup.RESETTING} <= seen
                assert r.drv.resets >= 1 and not r.board.unit.latched_faults
                await until(lambda: not r.drv.sample(r.clock.now_s()).value.tripped)
                await r.drv.apply(3.0)
                await asyncio.sleep(0.05)
                assert r.drv.writes == 1
                assert r.board.unit.current_a == pytest.approx(3.0, rel=1e-2)
            finally:
                stepping.cancel()

    asyncio.run(go())


def test_a_fault_beyond_the_bus_transient_is_held_until_someone_clears_it():
    async def go():
        async with rig(ready=False, bus_settle_s=0.5) as r:
            r.board.unit.state.string.temp_degC = 75.0  # over-temperature before we start
            r.board.step(0.2)
            assert Fault.OVER_TEMP in r.board.unit.latched_faults
            await until(lambda: r.drv.startup is Startup.HELD)
            await asyncio.sleep(0.2)
            assert r.drv.resets == 0 and Fault.OVER_TEMP in r.board.unit.latched_faults
            await r.drv.apply(2.0)
            assert r.drv.writes == 0
            r.board.unit.state.string.temp_degC = 25.0
            r.board.step(0.6)  # past the 500 ms lock-out
            await r.drv.clear_trip()
            await until(lambda: r.drv.startup is Startup.READY)
            await r.drv.apply(2.0)
            assert r.drv.writes == 1 and not r.board.unit.latched_faults

    asyncio.run(go())


def test_past_the_daily_budget_the_bridge_is_turned_off_once_and_left_off():
    async def go():
        budget = WriteBudget("dab", per_day=3)
        async with rig(budget=budget) as r:
            for a in (1.0, 2.0, 3.0):
                await r.drv.apply(a)
            assert r.drv.writes == 3 and budget.used(r.clock.now_s()) == 3
            r.board.step(0.01)
            assert r.board.unit.current_a == pytest.approx(3.0, rel=1e-2)
            await r.drv.apply(4.0)  # over budget: the bridge goes off instead
            r.board.step(0.01)
            assert r.board.unit.current_a == 0.0 and r.drv.writes == 4
            for a in (1.0, 2.0, 3.0):
                await r.drv.apply(a)
            assert r.drv.writes == 4 and r.drv.budget.over_budget == 4

    asyncio.run(go())


@pytest.mark.parametrize(
    ("cells", "chemistry"),
    [(8, "lifepo4"), (2, "lifepo4"), (4, "lead_acid")],  # the board has 4 LiFePO4 cells
)
def test_a_string_that_does_not_match_the_config_gets_no_current(cells, chemistry, caplog):
    async def go():
        async with rig(ready=False, cells=cells, chemistry=chemistry) as r:
            await until(lambda: r.drv.startup is Startup.WRONG_STRING)
            await r.drv.apply(2.0)
            await asyncio.sleep(0.2)
            assert r.drv.writes == 0 and r.drv.startup is Startup.WRONG_STRING
            assert r.drv.sample(r.clock.now_s()).value.tripped

    asyncio.run(go())
    assert f"for dab.cells = {cells}; dab.chemistry = {chemistry} allows" in caplog.text


def test_the_configured_chemistry_selects_the_boards_protocol_table():
    async def go():
        async with rig(chemistry="lifepo4") as r:
            (chem,) = await r.drv.read(3, 4, 1, "protocol chemistry")
            assert chem == 0  # LiFePO4 (firmware_c/REGISTERS.md)

    asyncio.run(go())
