"""The Pylontech console driver against the emulator, over a socket through the wire."""

from __future__ import annotations

import asyncio
import struct

import pytest

from edge.clock import ScaledClock
from edge.config import ConfigError, parse_config
from edge.drivers.pylontech.driver import PylontechDriver, decode_charge_management
from edge.drivers.pylontech.frames import FrameError
from edge.drivers.pylontech.replies import decode_alarms, decode_analog
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.sim.battery import PackParams, PylontechPack
from edge.sim.wire import Rs485Wire
from edge.tasks import cancel_and_wait
from tests.asyncwait import wait_until


def test_the_pack_limits_are_summed_and_a_garbled_reply_is_rejected():
    async def go():
        pack = PylontechPack(PackParams(), 97.0, seed=1)  # tapering: limits below rating
        emu = PylontechEmulator(pack, "127.0.0.1", 0)
        wire = Rs485Wire(await emu.start(), baud=9600)
        port = await wire.start()
        clock = ScaledClock(start_s=0.0, speed=1.0)
        drv = PylontechDriver(f"tcp://127.0.0.1:{port}", pack.p.modules, clock, poll_s=0.1)
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.sample(clock.now_s()) is not None)
            charge_a, discharge_a = pack.limits_a()
            got = drv.sample(clock.now_s()).value
            assert got.charge_limit_a == pytest.approx(charge_a, abs=0.1 * pack.p.modules)
            assert got.discharge_limit_a == pytest.approx(discharge_a, abs=0.1 * pack.p.modules)
            assert 0 < got.charge_limit_a < 100.0  # the taper, not the 2 x 50 A rating
            wire.faults.garbled = 1
            await wait_until(lambda: drv.rejected == 1)
            assert drv.sample(clock.now_s()).value.charge_limit_a == got.charge_limit_a
            # A silent BMS: the reading ages (the core's staleness check takes it from there).
            wire.unplug()
            await asyncio.sleep(0.5)
            assert drv.sample(clock.now_s()).age_s >= 0.4
            wire.plug_in()
            await wait_until(lambda: drv.sample(clock.now_s()).age_s < 0.3, 10.0)
        finally:
            await cancel_and_wait([task])
            drv.close()
            await wire.stop()
            await emu.stop()

    asyncio.run(go())


def test_an_implausible_limit_is_refused():
    ok = struct.pack(">BHHhhB", 2, 53250, 45000, 500, 500, 0xC0)
    assert decode_charge_management(ok) == (50.0, 50.0)
    with pytest.raises(FrameError, match="charge current limit 3000 A"):
        decode_charge_management(struct.pack(">BHHhhB", 2, 53250, 45000, 30000, 500, 0xC0))
    with pytest.raises(FrameError, match="expected 10"):
        decode_charge_management(b"\x02\x00")


def test_a_bad_bms_port_is_refused_with_the_key():
    with pytest.raises(ConfigError, match=r"battery\.bms_port = 'COM3': .*/dev/ttyUSB0"):
        parse_config({"battery": {"bms_port": "COM3"}})
    assert parse_config({"battery": {"bms_port": "/dev/ttyUSB1"}}).battery.bms_baud == 115200


def test_cells_temperatures_and_soc_are_read_over_a_serial_port():
    async def go():
        pack = PylontechPack(PackParams(), 62.0, seed=3)
        emu = PylontechEmulator(pack, "127.0.0.1", 0)
        path = emu.open_pty()
        clock = ScaledClock(start_s=0.0, speed=1.0)
        drv = PylontechDriver(path, pack.p.modules, clock, poll_s=0.1, baud=115200)
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.sample(clock.now_s()) is not None)
            got = drv.sample(clock.now_s()).value
            cells = [v for module in pack.cell_voltages_v() for v in module]
            assert got.cell_min_v == pytest.approx(min(cells), abs=0.001)
            assert got.cell_max_v == pytest.approx(max(cells), abs=0.001)
            assert got.cell_spread_mv == pytest.approx((max(cells) - min(cells)) * 1000, abs=2)
            assert got.cell_spread_mv > 0  # the seeded spread between cells
            assert got.temp_min_degc <= pack.temp_degc <= got.temp_max_degc
            assert got.soc_pct == pytest.approx(pack.soc_pct, abs=1.0)
            assert got.alarms == ()
            assert drv.status == "online" and drv.rejected == 0
            assert drv.serial == "PPTAP00000000000"  # the master module's, from 0x93
        finally:
            await cancel_and_wait([task])
            drv.close()
            emu.close_pty()

    asyncio.run(go())


def test_a_missing_serial_device_is_reported_and_retried():
    async def go():
        clock = ScaledClock(start_s=0.0, speed=1.0)
        drv = PylontechDriver("/dev/ttyEDGE-none", 2, clock, poll_s=0.1)
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.status.startswith("offline"))
            assert "ttyEDGE-none" in drv.status
            assert drv.sample(clock.now_s()) is None
        finally:
            await cancel_and_wait([task])

    asyncio.run(go())


def test_alarm_info_names_each_alarm():
    # DATAFLAG, then one module: command value 2, 15 cells (cell 7 high), 5 temperatures
    # (temperature 2 low), charge current / module voltage / discharge current statuses,
    # Status1 = cell under-voltage (bit 1) and charge over-current (bit 2), Status2-3,
    # Status4 = cell 3 voltage error (bit 2), Status5 = cell 10 voltage error (bit 1).
    cells = bytes([0] * 6 + [0x02] + [0] * 8)
    info = bytes([0x00, 2, 15]) + cells + bytes([5, 0, 0x01, 0, 0, 0])
    info += bytes([0, 0, 0]) + bytes([0x06, 0x0E, 0x00, 0x04, 0x02])
    assert decode_alarms(info, modules=1) == [
        "module 1: cell 7 voltage above its upper limit",
        "module 1: temperature 2 below its lower limit",
        "module 1: charge over-current",
        "module 1: cell under-voltage",
        "module 1: cell 3 voltage error",
        "module 1: cell 10 voltage error",
    ]
    with pytest.raises(FrameError, match=r"alarm info .* INFO ends after"):
        decode_alarms(info[:-3], modules=1)


def test_an_implausible_cell_voltage_rejects_the_analog_reply():
    # INFOFLAG, 1 module, 15 cells at 3.3 V but one at 9.9 V, 5 temperatures at 25 degC,
    # current, voltage, remaining, 2 user items, total, cycles.
    mv = [3300] * 14 + [9900]
    info = bytes([0x11, 1, 15]) + struct.pack(">15H", *mv) + bytes([5])
    info += struct.pack(">5h", *[2731 + 250] * 5) + struct.pack(
        ">hHHBHH", 0, 49500, 25000, 2, 50000, 3
    )
    with pytest.raises(FrameError, match=r"cell voltage 9\.9 V is implausible"):
        decode_analog(info, modules=1)
    mv[-1] = 3310
    ok = bytes([0x11, 1, 15]) + struct.pack(">15H", *mv) + info[3 + 30 :]
    (m,) = decode_analog(ok, modules=1)
    assert (m.cell_voltages_v[-1], m.temperatures_degc[0], m.remaining_ah) == (3.31, 25.0, 25.0)
