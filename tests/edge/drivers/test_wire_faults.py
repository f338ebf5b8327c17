"""Bad input on the wire, through a fault-injecting RS485 proxy between the Sofar driver
and its emulator at 9600 baud: timeouts, CRC errors, exception answers, out-of-range
values and a port that disappears. Nothing crashes; a fault is never used as data; the
failsafe engages when the data goes stale and clears by itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from edge.clock import ScaledClock
from edge.config import EdgeConfig
from edge.drivers.link_counters import LINK_FAULT_CLASSES
from edge.drivers.modbus_link import LINK_ERRORS
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.sim import SofarEmulator
from edge.mqtt.entities import SENSORS
from edge.sim.house import House, HouseParams
from edge.sim.wire import Rs485Wire, frame_time_s
from edge.supervisor import Supervisor
from tests.asyncwait import wait_until

NOON_S = 12 * 3600.0


@dataclass
class Rig:
    house: House
    emu: SofarEmulator
    wire: Rs485Wire
    drv: SofarDriver
    sup: Supervisor
    clock: ScaledClock
    task: asyncio.Task


@contextlib.asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
    emu = SofarEmulator(house)
    wire = Rs485Wire(await emu.start(), baud=9600)
    port = await wire.start()
    cfg = EdgeConfig.model_validate(
        {
            "inverter": {"port": f"tcp://127.0.0.1:{port}", "timeout_s": 1.0, "stale_after_s": 1.0},
            "dab": {"enabled": False},
            "mqtt": {"enabled": False},
            "policy": {"tick_s": 0.2},
        }
    )
    clock = ScaledClock(start_s=NOON_S, speed=1.0)
    drv = SofarDriver(cfg.inverter, clock, poll_s=0.2)
    sup = Supervisor(cfg, clock, drv, None, None, out=lambda _line: None)
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(None, stop))
    try:
        await wait_until(lambda: sup.state.reason.startswith("self-consumption"))
        yield Rig(house, emu, wire, drv, sup, clock, task)
        assert not task.done(), "the supervisor stopped"
    finally:
        stop.set()
        await asyncio.wait_for(task, 5.0)
        await wire.stop()
        await emu.stop()


def reading_matches_house(r: Rig) -> None:
    got = r.drv.sample(r.clock.now_s()).value
    assert got.grid_power_w == pytest.approx(r.house.state.grid_w, abs=5.01)
    assert 0.0 <= got.battery_soc_pct <= 100.0


def test_frame_times_at_9600_baud():
    # 8-byte read request: 11.5 characters of 10 bits = 12 ms; the 145-byte live block 155 ms.
    assert frame_time_s(8, 9600) == pytest.approx(0.01198, abs=1e-5)
    assert frame_time_s(145, 9600) == pytest.approx(0.1547, abs=1e-4)


@pytest.mark.parametrize(
    ("fault", "count", "logged"),
    [
        ("exception", 2, "refused"),
        ("out_of_range", 2, "outside the plausible range"),
        ("garbled", 2, ""),
    ],
)
def test_a_bad_answer_is_rejected_and_never_used(caplog, fault, count, logged):
    async def go():
        async with rig() as r:
            caplog.set_level(logging.INFO)
            stored = []
            store = r.drv.store
            r.drv.store = lambda reading: (stored.append(reading), store(reading))
            before = r.wire.requests
            setattr(r.wire.faults, fault, count)
            await wait_until(lambda: getattr(r.wire.faults, fault) == 0)
            await wait_until(lambda: len(stored) >= 3)
            assert r.wire.requests >= before + count + 3
            # Back to good data, and no bad value ever reached the core.
            await wait_until(lambda: r.drv.status == "online")
            reading_matches_house(r)
            assert len(stored) >= 3
            for x in stored:  # 0x7FFF would read as 327 kW; a flipped bit as a wild value
                assert abs(x.battery_power_w) <= 3005 and abs(x.grid_power_w) <= 10000
            if logged:
                assert logged in caplog.text

    asyncio.run(go())


def test_a_silent_device_engages_the_failsafe_which_clears_by_itself(caplog):
    async def go():
        async with rig() as r:
            r.wire.faults.silent = 4  # timeouts of 1 s: the data goes stale (1 s)
            await wait_until(lambda: r.sup.state.reason.startswith("safe state: inverter data"))
            await wait_until(lambda: r.sup.state.reason.startswith("self-consumption"))
            reading_matches_house(r)

    asyncio.run(go())


def test_a_port_that_disappears_and_returns(caplog):
    async def go():
        async with rig() as r:
            r.wire.unplug()
            commands = r.emu.passive_commands
            await wait_until(lambda: r.drv.status.startswith("offline"))
            await wait_until(lambda: r.sup.state.reason.startswith("safe state"))
            assert r.emu.passive_commands == commands  # nothing reached the device meanwhile
            r.wire.plug_in()
            await wait_until(lambda: r.sup.state.reason.startswith("self-consumption"), 15.0)
            await wait_until(lambda: r.drv.status == "online")
            reading_matches_house(r)
            # Back in passive mode: the safe state's self-use was lifted by a new command.
            await wait_until(lambda: r.emu.passive_commands > commands)

    asyncio.run(go())


COUNTER_OF_FAULT = {
    "silent": "timeouts",
    "garbled": "crc_errors",
    "truncated": "crc_errors",
    "exception": "exception_replies",
    "late": "late_replies",
    "drip": "late_replies",
}


@pytest.mark.parametrize(("fault", "counter"), list(COUNTER_OF_FAULT.items()))
def test_each_fault_class_is_counted_on_its_own_and_never_used(fault, counter):
    async def go():
        async with rig() as r:
            stored = []
            store = r.drv.store
            r.drv.store = lambda reading: (stored.append(reading), store(reading))
            before = dict(vars(r.drv.counters))
            assert before == dict.fromkeys(before, 0)  # a clean start on a good line
            setattr(r.wire.faults, fault, 1)
            await wait_until(lambda: getattr(r.wire.faults, fault) == 0)
            await wait_until(lambda: getattr(r.drv.counters, counter) == 1, 6.0)
            n = len(stored)
            await wait_until(lambda: len(stored) >= n + 3 and r.drv.status == "online", 8.0)
            got = dict(vars(r.drv.counters))
            # The one fault in its own class, nothing in the others; a fault that leaves
            # the line in doubt closes the link, which then opens again.
            dropped = 0 if fault == "exception" else 1
            assert got == {**before, counter: 1, "reconnects": dropped}
            reading_matches_house(r)
            # Published as the inverter's diagnostic sensor of that class.
            await wait_until(lambda: r.sup.last_doc.get(f"inverter_link_{counter}") == 1)
            for x in stored:  # a late or partial answer is never taken for the next one
                assert abs(x.battery_power_w) <= 3005 and abs(x.grid_power_w) <= 10000

    asyncio.run(go())


def test_the_link_counters_are_diagnostic_sensors_of_each_device():
    rows = {s.key: s for s in SENSORS if "_link_" in s.key}
    for device in ("inverter", "dab", "bms"):
        for attr, _name in LINK_FAULT_CLASSES:
            row = rows.pop(f"{device}_link_{attr}")
            assert (row.device, row.entity_category) == (device, "diagnostic")
            assert row.state_class == "total_increasing" and row.unit is None
    assert rows == {}


def test_a_reply_for_another_request_is_never_taken_for_this_one():
    """On RS485 nothing ties a reply to its request: a reply one slot behind (the
    heartbeat's echo for a read, the live block for the power registers) is refused,
    counted as a late reply, and the link is opened again so the next reply is in step."""

    async def go():
        house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
        emu = SofarEmulator(house)
        wire = Rs485Wire(await emu.start(), baud=9600)
        port = await wire.start()
        cfg = EdgeConfig.model_validate({"inverter": {"port": f"tcp://127.0.0.1:{port}"}})
        drv = SofarDriver(cfg.inverter, ScaledClock(start_s=NOON_S, speed=1.0))
        try:
            for first, late in ((drv.heartbeat, 1), (drv.read_live, 2)):
                assert await drv._client.connect()
                await first()
                wire.faults.slipped = 1
                with pytest.raises(LINK_ERRORS, match="another request"):
                    await drv.read_powers()
                assert drv.counters.late_replies == late
                drv.lost("out of step")
            assert await drv._client.connect()
            p = await drv.read_powers()
            assert p.grid_power_w == pytest.approx(house.state.grid_w, abs=5.01)
        finally:
            drv.close_link()
            await wire.stop()
            await emu.stop()

    asyncio.run(go())
