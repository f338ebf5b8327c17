"""The HYD-EP (G3) family: register literals worked by hand from the reference (§4), and
the driver against its emulator over a real socket."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.framer import FramerType

from edge.clock import ScaledClock
from edge.config import InverterConfig
from edge.core.model import InverterCommand, InverterMode
from edge.drivers.budget import WriteBudget
from edge.drivers.sofar import g3
from edge.drivers.sofar.g3_driver import SofarG3Driver
from edge.drivers.sofar.g3_sim import SofarG3Emulator
from edge.errors import DeviceError
from edge.sim.house import House, HouseParams
from edge.sim.house import InverterMode as HouseMode
from edge.tasks import cancel_and_wait
from tests.asyncwait import wait_until

NOON_S = 12 * 3600.0


def test_passive_power_registers_are_hand_worked_literals():
    # Discharge 1500 W: G3 wants -1500 (+ = charge) = 0xFFFFFA24 for minimum and maximum.
    assert g3.passive_power_registers(1500.0) == [0, 0, 0xFFFF, 0xFA24, 0xFFFF, 0xFA24]
    # Charge 2000 W: +2000 = 0x000007D0.
    assert g3.passive_power_registers(-2000.0) == [0, 0, 0, 0x07D0, 0, 0x07D0]
    assert g3.i32_of(0xFFFF, 0xFA24) == -1500


def test_live_blocks_decode_with_g3_signs_flipped_once():
    grid = [0] * g3.GRID.count
    grid[0x0488 - g3.GRID.start] = (-123) & 0xFFFF  # PCC -1230 W: importing 1230 W
    grid[0x04AF - g3.GRID.start] = 87  # load 870 W
    grid[0x048D - g3.GRID.start] = 2401  # 240.1 V
    pv = [3600, 500, 180, 0, 0, 0]  # PV1 360.0 V, 5.00 A, 1800 W
    bat = [512, (-1000) & 0xFFFF, (-52) & 0xFFFF, 25, 64, 99, 12]  # discharging 520 W
    f = g3.decode_blocks({g3.GRID: grid, g3.PV: pv, g3.BATTERY: bat})
    p = g3.powers(f)
    assert (p.grid_power_w, p.load_power_w, p.pv_power_w) == (1230, 870, 1800)
    assert (p.battery_power_w, p.battery_soc_pct) == (520, 64)
    bat[0x0608 - g3.BATTERY.start] = 101  # SOC 101 %: rejected, never used
    with pytest.raises(DeviceError, match="0x0608"):
        g3.decode_blocks({g3.BATTERY: bat})


def test_energy_counters_are_u32_high_word_first():
    energy = [0] * g3.ENERGY.count
    energy[0x068E - g3.ENERGY.start : 0x0690 - g3.ENERGY.start] = [0x0001, 0x0002]
    f = g3.decode_blocks({g3.ENERGY: energy})
    assert f["import_total_kwh"] == pytest.approx(0x00010002 * 0.1)


@contextlib.asynccontextmanager
async def rig(**cfg):
    house = House(HouseParams(), start_s=NOON_S)
    emu = SofarG3Emulator(house)
    port = await emu.start()
    clock = ScaledClock(start_s=NOON_S, speed=1.0)
    icfg = InverterConfig(
        family="sofar_hyd_ep", port=f"tcp://127.0.0.1:{port}", timeout_s=0.5, **cfg
    )
    budget = WriteBudget("inverter", icfg.daily_write_budget)
    drv = SofarG3Driver(icfg, clock, poll_s=0.05, budget=budget)
    task = asyncio.create_task(drv.run())
    try:
        # live: the first poll has ended ("online"), so commands go out
        await wait_until(lambda: drv.live and drv.sample(clock.now_s()) is not None)
        yield house, emu, drv, clock, budget
    finally:
        await cancel_and_wait([task])
        await drv.close(restore_self_use=False)
        await emu.stop()


def test_driver_reads_the_g3_blocks_and_commands_passive_mode_with_fc16():
    async def go():
        async with rig(g3_passive_timeout_s=45) as (house, emu, drv, clock, budget):
            assert drv.serial == "SM2ES410SIM001" and drv.mode_register == g3.MODE_SELF_USE
            got = drv.sample(clock.now_s()).value
            assert got.pv_power_w == pytest.approx(house.state.pv_w, abs=10)
            assert got.battery_soc_pct == pytest.approx(house.state.soc_pct, abs=1)

            await drv.apply(InverterCommand(InverterMode.PASSIVE, -2000.0))  # charge
            assert emu.mode == g3.MODE_PASSIVE and emu.passive_w == -2000.0
            assert house.state.mode is HouseMode.PASSIVE
            assert house.state.passive_battery_w == -2000.0
            assert house.inverter.p.heartbeat_timeout_s == 45.0  # 0x1184 was set first

            await drv.apply(InverterCommand(InverterMode.PASSIVE, 1000.0))  # discharge
            assert emu.passive_w == 1000.0
            # The EEPROM mode register was written once; the power registers twice.
            assert (emu.mode_writes, emu.power_writes, emu.ignored_writes) == (1, 2, 0)

            await drv.apply(InverterCommand(InverterMode.SELF_USE))
            assert emu.mode == g3.MODE_SELF_USE and house.state.mode is HouseMode.AUTO
            # timeout + mode + 2 power + mode: every request counts against the budget.
            assert drv.writes.total == budget.used(clock.now_s()) == 5
            await drv.apply(InverterCommand(InverterMode.SELF_USE))
            assert drv.writes.total == 5  # already in self-use: nothing written

    asyncio.run(go())


def test_partial_or_single_register_writes_do_not_act():
    async def go():
        async with rig() as (house, emu, _drv, _clock, _budget):
            c = AsyncModbusTcpClient("127.0.0.1", port=emu.port, framer=FramerType.RTU, timeout=1)
            await c.connect()
            try:
                await c.write_registers(g3.REG_MODE, [g3.MODE_PASSIVE], device_id=1)
                r = await c.write_registers(0x1189, [0, 0x07D0], device_id=1)  # 2 of the 6
                assert not r.isError() and emu.ignored_writes == 1 and emu.power_writes == 0
                r = await c.write_register(0x1187, 0, device_id=1)  # FC 0x06
                assert r.isError()
                r = await c.write_registers(g3.REG_PASSIVE_POWER, [0, 0, 0, 1, 0, 2], device_id=1)
                assert r.isError()  # minimum != maximum: not the form this emulator models
            finally:
                c.close()
            assert house.state.passive_battery_w == 0.0

    asyncio.run(go())


def test_after_the_passive_timeout_the_driver_notices_and_sends_again():
    async def go():
        async with rig(g3_passive_timeout_s=10, full_read_s=0.1) as (house, emu, drv, _clock, _b):
            await drv.apply(InverterCommand(InverterMode.PASSIVE, -1500.0))
            assert house.inverter.mode is HouseMode.PASSIVE
            house.step(11.0)  # no power write for longer than the timeout...
            house.step(0.5)  # ...seen at the next step
            assert house.inverter.mode is HouseMode.AUTO
            await wait_until(lambda: drv.mode_register == g3.MODE_SELF_USE)
            await drv.apply(InverterCommand(InverterMode.PASSIVE, -1500.0))
            assert emu.mode == g3.MODE_PASSIVE and house.inverter.mode is HouseMode.PASSIVE
            assert emu.mode_writes == 2

    asyncio.run(go())
