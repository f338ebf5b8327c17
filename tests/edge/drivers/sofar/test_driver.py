"""The Sofar driver against the emulator, over a real socket (Modbus RTU framing on TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from edge.config import InverterConfig
from edge.core.model import InverterCommand, InverterMode
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.sim import SofarEmulator
from edge.mqtt.broker import free_port
from edge.sim.clock import ScaledClock
from edge.sim.house import House, HouseParams
from edge.sim.house import InverterMode as HouseMode

NOON_S = 12 * 3600.0


def make(port: int, **cfg) -> tuple[SofarDriver, ScaledClock]:
    clock = ScaledClock(start_s=NOON_S, speed=1.0)
    icfg = InverterConfig(port=f"tcp://127.0.0.1:{port}", timeout_s=0.5, **cfg)
    return SofarDriver(icfg, clock, poll_s=0.05), clock


async def wait_until(pred, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def stop_task(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_reads_the_live_block_and_serial_from_the_emulator():
    async def go():
        house = House(HouseParams(), start_s=NOON_S)
        emu = SofarEmulator(house)
        port = await emu.start()
        drv, clock = make(port)
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.sample(clock.now_s()) is not None)
            assert drv.serial == "SE1ES410SIM001"
            r = drv.sample(clock.now_s()).value
            s = house.state
            # The emulator reports in 10 W steps; the driver flips Sofar's signs.
            assert r.grid_power_w == pytest.approx(s.grid_w, abs=5.01)
            assert r.battery_power_w == pytest.approx(s.battery_w, abs=5.01)
            assert r.pv_power_w == pytest.approx(s.pv_w, abs=5.01)
            assert r.battery_soc_pct == round(s.soc_pct)
            assert drv.status == "online"
            await wait_until(lambda: emu.heartbeats >= 1)
        finally:
            await stop_task(task)
            await drv.close(restore_self_use=False)
            await emu.stop()

    asyncio.run(go())


def test_commands_reach_the_inverter_and_small_changes_are_not_written():
    async def go():
        house = House(HouseParams(), start_s=NOON_S)
        emu = SofarEmulator(house)
        port = await emu.start()
        drv, _ = make(port, deadband_w=50)
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.live and drv.serial is not None)
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
            assert emu.passive_commands == 4
        finally:
            await stop_task(task)
            await drv.close(restore_self_use=False)
            await emu.stop()

    asyncio.run(go())


def test_a_refused_passive_command_is_counted_and_reported(caplog):
    async def go():
        house = House(HouseParams(), start_s=NOON_S)
        emu = SofarEmulator(house, passive_mode_enabled=False)  # LCD not in passive mode
        port = await emu.start()
        drv, _ = make(port)
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.live and drv.serial is not None)
            with caplog.at_level(logging.WARNING, logger="edge.inverter"):
                await drv.apply(InverterCommand(InverterMode.PASSIVE, -500.0))
            assert drv.writes.refused == 1
            assert house.state.mode is HouseMode.AUTO
            assert "invalid_work_mode" in caplog.text
        finally:
            await stop_task(task)
            await drv.close(restore_self_use=False)
            await emu.stop()

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
                await wait_until(lambda: drv.sample(clock.now_s()) is not None, timeout_s=5)
                assert drv.status == "online"
            finally:
                await stop_task(task)
                await drv.close(restore_self_use=False)
                await emu.stop()
        assert "cannot connect (refused or no device), retrying in 0.5 s" in caplog.text
        assert "Traceback" not in caplog.text

    asyncio.run(go())


def test_a_device_that_goes_away_ages_its_data_and_never_reads_zero():
    async def go():
        house = House(HouseParams(), start_s=NOON_S)
        emu = SofarEmulator(house)
        port = await emu.start()
        drv, clock = make(port)
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.sample(clock.now_s()) is not None)
            before = drv.sample(clock.now_s()).value
            await emu.stop()
            await wait_until(lambda: drv.status.startswith("offline"), timeout_s=5)
            await asyncio.sleep(0.3)
            later = drv.sample(clock.now_s())
            assert later.value == before  # the last good reading, not zeros
            assert later.age_s >= 0.3
        finally:
            await stop_task(task)
            await drv.close(restore_self_use=False)

    asyncio.run(go())


def test_close_returns_the_inverter_to_self_use():
    async def go():
        house = House(HouseParams(), start_s=NOON_S)
        emu = SofarEmulator(house)
        port = await emu.start()
        drv, _ = make(port)
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.live and drv.serial is not None)
            await drv.apply(InverterCommand(InverterMode.PASSIVE, 1000.0))
            assert house.state.mode is HouseMode.PASSIVE
            await stop_task(task)
            await drv.close(restore_self_use=True)
            assert house.state.mode is HouseMode.AUTO
        finally:
            await emu.stop()

    asyncio.run(go())
