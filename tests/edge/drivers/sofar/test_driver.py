"""The Sofar driver against the emulator, over a real socket (Modbus RTU framing on TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from edge.clock import ScaledClock
from edge.config import InverterConfig
from edge.core.model import InverterCommand, InverterMode
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.sim import SofarEmulator
from edge.mqtt.broker import free_port
from edge.sim.house import House, HouseParams
from edge.sim.house import InverterMode as HouseMode
from edge.tasks import cancel_and_wait
from tests.asyncwait import wait_until

NOON_S = 12 * 3600.0


def make(port: int, **cfg) -> tuple[SofarDriver, ScaledClock]:
    clock = ScaledClock(start_s=NOON_S, speed=1.0)
    icfg = InverterConfig(port=f"tcp://127.0.0.1:{port}", timeout_s=0.5, **cfg)
    return SofarDriver(icfg, clock, poll_s=0.05), clock


async def stop_task(task: asyncio.Task) -> None:
    await cancel_and_wait([task])


@dataclass
class Rig:
    house: House
    emu: SofarEmulator
    drv: SofarDriver
    clock: ScaledClock
    task: asyncio.Task


@contextlib.asynccontextmanager
async def rig(passive_mode_enabled: bool = True, **cfg) -> AsyncIterator[Rig]:
    """An emulated inverter and a polling driver that has done its first full read."""
    house = House(HouseParams(), start_s=NOON_S)
    emu = SofarEmulator(house, passive_mode_enabled=passive_mode_enabled)
    port = await emu.start()
    drv, clock = make(port, **cfg)
    task = asyncio.create_task(drv.run())
    try:
        # live: the first poll has ended ("online"), so commands go out
        await wait_until(lambda: drv.live and drv.sample(clock.now_s()) is not None)
        yield Rig(house, emu, drv, clock, task)
    finally:
        await stop_task(task)
        await drv.close(restore_self_use=False)
        await emu.stop()


def test_reads_the_live_block_and_serial_from_the_emulator():
    async def go():
        async with rig() as r:
            assert r.drv.serial == "SE1ES410SIM001"
            got = r.drv.sample(r.clock.now_s()).value
            s = r.house.state
            # The emulator reports in 10 W steps; the driver flips Sofar's signs.
            assert got.grid_power_w == pytest.approx(s.grid_w, abs=5.01)
            assert got.battery_power_w == pytest.approx(s.battery_w, abs=5.01)
            assert got.pv_power_w == pytest.approx(s.pv_w, abs=5.01)
            assert got.battery_soc_pct == round(s.soc_pct)
            assert r.drv.status == "online"
            await wait_until(lambda: r.emu.heartbeats >= 1)

    asyncio.run(go())


def test_between_full_reads_the_powers_alone_are_read_and_follow_a_load_step():
    async def go():
        async with rig(full_read_s=60.0) as r:
            assert r.drv.reads["full"] == 1
            await wait_until(lambda: r.drv.reads["fast"] >= 2)
            s = r.house.state
            s.load_w += 3000.0  # a kettle, seen by the meter at once
            s.grid_w += 3000.0
            fast = r.drv.reads["fast"]
            await wait_until(lambda: r.drv.reads["fast"] >= fast + 2)
            got = r.drv.sample(r.clock.now_s()).value
            assert got.grid_power_w == pytest.approx(s.grid_w, abs=5.01)
            assert got.load_power_w == pytest.approx(s.load_w, abs=5.01)
            assert r.drv.reads["full"] == 1  # the whole block waits for full_read_s

    asyncio.run(go())


def test_commands_reach_the_inverter_and_small_changes_are_not_written():
    async def go():
        async with rig(deadband_w=50) as r:
            house, drv = r.house, r.drv
            await drv.apply(InverterCommand(InverterMode.PASSIVE, -500.0))
            assert house.state.mode is HouseMode.PASSIVE
            assert house.state.passive_battery_w == -500.0
            assert drv.writes.total == 1
            await drv.apply(InverterCommand(InverterMode.PASSIVE, -530.0))  # inside the deadband
            assert drv.writes.total == 1
            assert house.state.passive_battery_w == -500.0
            await drv.apply(InverterCommand(InverterMode.PASSIVE, 700.0))
            assert house.state.passive_battery_w == 700.0
            await drv.apply(InverterCommand(InverterMode.PASSIVE, 0.0))  # standby always goes out
            assert house.state.passive_battery_w == 0.0
            await drv.apply(InverterCommand(InverterMode.SELF_USE))
            assert house.state.mode is HouseMode.AUTO
            assert drv.writes.total == 4
            assert r.emu.passive_commands == 4

    asyncio.run(go())


def test_a_refused_passive_command_is_counted_and_reported(caplog):
    async def go():
        async with rig(passive_mode_enabled=False) as r:  # LCD not in passive mode
            with caplog.at_level(logging.WARNING, logger="edge.inverter"):
                await r.drv.apply(InverterCommand(InverterMode.PASSIVE, -500.0))
            assert r.drv.writes.refused == 1
            assert r.house.state.mode is HouseMode.AUTO
            assert "invalid_work_mode" in caplog.text
            # The same command is not written again every tick...
            await r.drv.apply(InverterCommand(InverterMode.PASSIVE, -500.0))
            assert r.drv.writes.total == 1
            # ...but a changed one is.
            await r.drv.apply(InverterCommand(InverterMode.PASSIVE, -1500.0))
            assert r.drv.writes.total == 2

    asyncio.run(go())


def test_refused_connection_is_retried_with_backoff_then_recovers(caplog):
    async def go():
        port = free_port()
        drv, clock = make(port)
        with caplog.at_level(logging.WARNING, logger="edge.inverter"):
            task = asyncio.create_task(drv.run())
            await asyncio.sleep(1.2)  # backoff 0.5 s, then 1.0 s: two or three attempts
            assert 2 <= drv.connect_attempts <= 3
            assert drv.status.startswith("offline: cannot connect")
            assert drv.sample(clock.now_s()) is None
            # No command goes out before the first full read.
            await drv.apply(InverterCommand(InverterMode.PASSIVE, -500.0))
            assert drv.writes.total == 0
            house = House(HouseParams(), start_s=NOON_S)
            emu = SofarEmulator(house, port=port)
            await emu.start()
            try:
                # The sample is kept before the poll's end says "online".
                await wait_until(
                    lambda: drv.sample(clock.now_s()) is not None and drv.status == "online",
                    timeout_s=5,
                )
            finally:
                await stop_task(task)
                await drv.close(restore_self_use=False)
                await emu.stop()
        assert "cannot connect (refused or no device), retrying in 0.5 s" in caplog.text
        assert "Traceback" not in caplog.text

    asyncio.run(go())


def test_a_device_that_goes_away_ages_its_data_and_never_reads_zero():
    async def go():
        async with rig() as r:
            before = r.drv.sample(r.clock.now_s()).value
            await r.emu.stop()
            await wait_until(lambda: r.drv.status.startswith("offline"), timeout_s=5)
            await asyncio.sleep(0.3)
            later = r.drv.sample(r.clock.now_s())
            assert later.value == before  # the last good reading, not zeros
            assert later.age_s >= 0.3

    asyncio.run(go())


def test_close_returns_the_inverter_to_self_use():
    async def go():
        async with rig() as r:
            await r.drv.apply(InverterCommand(InverterMode.PASSIVE, 1000.0))
            assert r.house.state.mode is HouseMode.PASSIVE
            await stop_task(r.task)
            await r.drv.close(restore_self_use=True)
            assert r.house.state.mode is HouseMode.AUTO

    asyncio.run(go())
