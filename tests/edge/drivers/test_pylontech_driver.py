"""The Pylontech console driver against the emulator, over a socket through the wire."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from edge.config import ConfigError, parse_config
from edge.drivers.pylontech.driver import PylontechDriver, decode_charge_management
from edge.drivers.pylontech.frames import FrameError
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.sim.battery import PackParams, PylontechPack
from edge.sim.clock import ScaledClock
from edge.sim.wire import Rs485Wire
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
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            drv.close()
            await wire.stop()
            await emu.stop()

    asyncio.run(go())


def test_an_implausible_limit_is_refused():
    import struct

    ok = struct.pack(">BHHhhB", 2, 53250, 45000, 500, 500, 0xC0)
    assert decode_charge_management(ok) == (50.0, 50.0)
    with pytest.raises(FrameError, match="charge current limit 3000 A"):
        decode_charge_management(struct.pack(">BHHhhB", 2, 53250, 45000, 30000, 500, 0xC0))
    with pytest.raises(FrameError, match="expected 10"):
        decode_charge_management(b"\x02\x00")


def test_a_serial_bms_port_is_refused_with_the_key():
    with pytest.raises(ConfigError, match=r"battery\.bms_port = '/dev/ttyUSB1': .*tcp://HOST:PORT"):
        parse_config({"battery": {"bms_port": "/dev/ttyUSB1"}})
