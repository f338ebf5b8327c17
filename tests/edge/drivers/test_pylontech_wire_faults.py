"""The Pylontech driver counts each fault on its RS485 link by class (CRC errors,
timeouts, exception replies, late replies, reconnects), through the fault-injecting wire
to the emulator at 9600 baud, and never takes a faulty reply as data."""

from __future__ import annotations

import asyncio

import pytest

from edge.clock import ScaledClock
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.sim.battery import PackParams, PylontechPack
from edge.sim.wire import Rs485Wire
from edge.tasks import cancel_and_wait
from tests.asyncwait import wait_until

COUNTER_OF_FAULT = {
    "silent": "timeouts",
    "garbled": "crc_errors",  # a flipped bit in the reply: CHKSUM fails
    "truncated": "crc_errors",  # half a reply, then nothing
    "garbled_request": "exception_replies",  # the BMS answers RTN 0x02 (pylontech.md §1.2)
    "late": "late_replies",  # held 1.5 s past a 1 s timeout
    "drip": "late_replies",  # a byte every 0.3 s
}


@pytest.mark.parametrize(("fault", "counter"), list(COUNTER_OF_FAULT.items()))
def test_each_fault_class_is_counted_and_the_reading_stays_good(fault, counter):
    async def go():
        pack = PylontechPack(PackParams(), 60.0, seed=2)
        emu = PylontechEmulator(pack)
        wire = Rs485Wire(await emu.start(), baud=9600)
        port = await wire.start()
        clock = ScaledClock(start_s=0.0, speed=1.0)
        drv = PylontechDriver(f"tcp://127.0.0.1:{port}", 2, clock, poll_s=0.2, timeout_s=1.0)
        stored = []
        task = asyncio.create_task(drv.run())
        try:
            await wait_until(lambda: drv.status == "online")
            before = dict(vars(drv.counters))
            assert before == dict.fromkeys(before, 0)
            setattr(wire.faults, fault, 1)
            await wait_until(lambda: getattr(wire.faults, fault) == 0)
            await wait_until(lambda: getattr(drv.counters, counter) == 1, 6.0)
            t_fault_s = clock.now_s()
            await wait_until(lambda: drv.sample(clock.now_s()).age_s < clock.now_s() - t_fault_s)
            stored.append(drv.sample(clock.now_s()).value)
            assert dict(vars(drv.counters)) == {**before, counter: 1, "reconnects": 1}
            charge_a, discharge_a = pack.limits_a()
            for x in stored:
                assert x.charge_limit_a == pytest.approx(charge_a, abs=0.2)
                assert x.discharge_limit_a == pytest.approx(discharge_a, abs=0.2)
                assert x.soc_pct == pytest.approx(pack.soc_pct, abs=0.5)
        finally:
            await cancel_and_wait([task])
            drv.close()
            await wire.stop()
            await emu.stop()

    asyncio.run(go())
