"""The emulators refuse or ignore what the devices refuse or ignore, checked with raw
frames on a socket (no pymodbus client, so no client-side check can hide a difference)
and, for values, against the reference's own numbers.

Facts: docs/reference/sofar-modbus.md §1 (addresses, broadcast), §2 (0x0207, 0x0212), §3
(0x42, 0x49), §4.2 (G3 control registers); docs/reference/pylontech.md §1.9, §3.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pymodbus.framer.rtu import FramerRTU

from edge.drivers.pylontech import frames
from edge.drivers.pylontech.frames import Cmd
from edge.drivers.pylontech.sim import MODULE_HIGH_MV, PylontechEmulator
from edge.drivers.sofar import g3
from edge.drivers.sofar.g3_sim import SofarG3Emulator
from edge.drivers.sofar.sim import SofarEmulator
from edge.sim.battery import PackParams, PylontechPack
from edge.sim.house import House, HouseParams
from edge.sim.house import InverterMode as HouseMode

NOON_S = 12 * 3600.0
SILENCE_S = 0.3  # a reply on loopback takes milliseconds


def crc(frame: bytes) -> bytes:
    return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")


def test_the_crc_helper_reproduces_the_reference_frames():
    # §3.1 / §3.2 literal frames, so the frames below are built the same way.
    assert crc(bytes.fromhex("01 42 01 01 01 F4")) == bytes.fromhex("01 42 01 01 01 F4 29 EE")
    assert crc(bytes.fromhex("88 49 22 01 22 02")) == bytes.fromhex("88 49 22 01 22 02 01 84")


class Raw:
    """One TCP connection carrying raw RTU frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def ask(self, frame: bytes) -> bytes:
        """Send frame; what comes back within SILENCE_S (b"" for no reply)."""
        self.writer.write(frame)
        await self.writer.drain()
        got = b""
        try:
            while True:
                got += await asyncio.wait_for(self.reader.read(256), SILENCE_S)
        except TimeoutError:
            return got


@asynccontextmanager
async def raw(emu: Any) -> AsyncIterator[Raw]:
    port = await emu.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield Raw(reader, writer)
    finally:
        writer.close()
        await emu.stop()


def run(emu: Any, body: Callable[[Raw], Awaitable[None]]) -> None:
    async def go() -> None:
        async with raw(emu) as r:
            await body(r)

    asyncio.run(go())


def read_frame(slave: int, address: int, count: int) -> bytes:
    return crc(struct.pack(">BBHH", slave, 3, address, count))


# ---- ME3000SP (storage family) ------------------------------------------------------


def test_me3000sp_answers_its_own_address_only():
    emu = SofarEmulator(House(HouseParams(), start_s=NOON_S), slave_id=1)

    async def body(r: Raw) -> None:
        ok = await r.ask(read_frame(1, 0x0200, 2))
        assert ok[:3] == bytes([1, 3, 4]) and crc(ok[:-2]) == ok
        for other in (2, 5, 247):
            assert await r.ask(read_frame(other, 0x0200, 2)) == b"", f"slave {other} answered"
        # The line still works for the right address afterwards.
        assert (await r.ask(read_frame(1, 0x0210, 1)))[:2] == bytes([1, 3])

    run(emu, body)


def test_me3000sp_ignores_a_passive_command_for_another_inverter():
    house = House(HouseParams(), start_s=NOON_S)
    emu = SofarEmulator(house, slave_id=1)

    async def body(r: Raw) -> None:
        discharge_500w = bytes.fromhex("42 01 01 01 F4")
        assert await r.ask(crc(bytes([5]) + discharge_500w)) == b""
        assert emu.passive_commands == 0 and house.state.mode is HouseMode.AUTO
        reply = await r.ask(crc(bytes([1]) + discharge_500w))
        assert reply[:3] == bytes([1, 0x42, 2]) and reply[4] == 0  # accepted
        assert house.state.mode is HouseMode.PASSIVE and house.state.passive_battery_w == 500.0

    run(emu, body)


def test_me3000sp_heartbeat_broadcast_gets_no_reply_and_slave_0_is_not_its_broadcast():
    emu = SofarEmulator(House(HouseParams(), start_s=NOON_S), slave_id=1)

    async def body(r: Raw) -> None:
        # §3.2: broadcast heartbeat 0x88, no reply; it still counts as a heartbeat.
        assert await r.ask(bytes.fromhex("88 49 22 01 22 02 01 84")) == b""
        assert emu.heartbeats == 1
        # §1: the storage family's broadcast is 0x88; 0 addresses no one.
        assert await r.ask(crc(bytes.fromhex("00 49 22 01 22 02"))) == b""
        assert emu.heartbeats == 1
        assert await r.ask(crc(bytes.fromhex("00 42 01 01 01 F4"))) == b""
        assert emu.passive_commands == 0
        # Unicast: an answer (undocumented content, §3.2), and a heartbeat.
        assert (await r.ask(bytes.fromhex("01 49 22 01 22 02 1E DD")))[:2] == bytes([1, 0x49])
        assert emu.heartbeats == 2

    run(emu, body)


def test_me3000sp_grid_current_has_the_sign_of_the_grid_power_register():
    # §2: 0x0212 is + export; the reference gives 0x0207 no sign of its own, so it keeps
    # the same (Sofar's) convention as the power register of the same block.
    house = House(HouseParams(), start_s=NOON_S)
    house.state.grid_w = 1200.0  # edge: importing 1200 W
    emu = SofarEmulator(house)

    async def body(r: Raw) -> None:
        reply = await r.ask(read_frame(1, 0x0200, 0x13))
        words = struct.unpack(">19h", reply[3:-2])
        current_raw, feed_in_raw = words[0x07], words[0x12]
        assert feed_in_raw == -120  # -1200 W in 10 W: importing
        assert current_raw == -500  # -5.00 A at 240 V in 0.01 A: importing, same sign

    run(emu, body)


# ---- HYD-EP (G3) --------------------------------------------------------------------


def write_frame(slave: int, address: int, values: list[int]) -> bytes:
    body = struct.pack(">BBHHB", slave, 0x10, address, len(values), 2 * len(values))
    return crc(body + b"".join(struct.pack(">H", v & 0xFFFF) for v in values))


def passive_w_frame(slave: int, charge_w: int) -> bytes:
    """0x1187-0x118C in one write (§4.2): grid 0, minimum = maximum = charge_w (+ charge)."""
    return write_frame(slave, g3.REG_PASSIVE_POWER, g3.passive_power_registers(-charge_w))


def words(reply: bytes) -> list[int]:
    return list(struct.unpack(f">{reply[2] // 2}H", reply[3:-2]))


def test_g3_answers_its_own_address_and_acts_on_broadcast_writes_silently():
    house = House(HouseParams(), start_s=NOON_S)
    emu = SofarG3Emulator(house, slave_id=1)

    async def body(r: Raw) -> None:
        assert await r.ask(read_frame(3, g3.REG_MODE, 1)) == b""
        assert await r.ask(write_frame(3, g3.REG_MODE, [g3.MODE_PASSIVE])) == b""
        assert emu.mode == g3.MODE_SELF_USE  # another inverter's write
        assert await r.ask(read_frame(0, g3.REG_MODE, 1)) == b""  # no broadcast reads
        # §1: 0x00 is the G3 broadcast for writes: acted on, never answered.
        assert await r.ask(write_frame(0, g3.REG_MODE, [g3.MODE_PASSIVE])) == b""
        assert words(await r.ask(read_frame(1, g3.REG_MODE, 1))) == [g3.MODE_PASSIVE]

    run(emu, body)


def test_g3_keeps_passive_mode_before_the_first_power_write():
    house = House(HouseParams(), start_s=NOON_S)
    emu = SofarG3Emulator(house)

    async def body(r: Raw) -> None:
        ack = await r.ask(write_frame(1, g3.REG_MODE, [g3.MODE_PASSIVE]))
        assert ack[:2] == bytes([1, 0x10])
        assert words(await r.ask(read_frame(1, g3.REG_MODE, 1))) == [g3.MODE_PASSIVE]
        # The power registers still hold (0, 0, 0): passive at 0 W until written.
        assert house.state.mode is HouseMode.PASSIVE and house.state.passive_battery_w == 0.0

    run(emu, body)


def step_house(house: House, seconds: int) -> None:
    for _ in range(seconds):
        house.step(1.0)
        house.state.t_s += 1.0


@pytest.mark.parametrize(
    ("timeout_s", "action", "after_s", "mode", "battery_w"),
    [
        (0, 1, 200, g3.MODE_PASSIVE, -1000.0),  # 0 = no timeout (§4.2): still charging
        (20, 0, 40, g3.MODE_PASSIVE, 0.0),  # action 0: standby, neither way
        (20, 1, 40, g3.MODE_SELF_USE, None),  # action 1: back to the previous mode
    ],
)
def test_g3_passive_timeout_and_its_action(timeout_s, action, after_s, mode, battery_w):
    house = House(HouseParams(), start_s=NOON_S)
    emu = SofarG3Emulator(house)

    async def body(r: Raw) -> None:
        for frame in (
            write_frame(1, g3.REG_PASSIVE_TIMEOUT, [timeout_s, action]),
            write_frame(1, g3.REG_MODE, [g3.MODE_PASSIVE]),
            passive_w_frame(1, 1000),
        ):
            assert (await r.ask(frame))[:2] == bytes([1, 0x10])
        step_house(house, after_s)
        assert words(await r.ask(read_frame(1, g3.REG_MODE, 1))) == [mode]
        if battery_w is None:
            assert house.state.mode is HouseMode.AUTO
        else:
            assert house.state.mode is HouseMode.PASSIVE
            assert house.inverter.passive_w == battery_w

    run(emu, body)


# ---- Pylontech ----------------------------------------------------------------------


def test_pylontech_discharge_limit_is_sent_negative():
    # pylontech.md §1.9: signed 0.1 A; real replies carry the discharge limit negative
    # (python-pylontech; edge's decoder takes its size).
    pack = PylontechPack(PackParams(), soc0_pct=60.0, seed=1)
    emu = PylontechEmulator(pack)
    reply = frames.decode(emu.answer(frames.request(2, Cmd.CHARGE_MANAGEMENT)) or b"")
    _adr, _vc, _vd, charge, discharge, status = struct.unpack(">BHHhhB", reply.info[:10])
    assert charge == 500 and discharge == -500  # 50 A each way per module, 0.1 A
    assert status & 0xC0 == 0xC0


@pytest.mark.parametrize("current_a", [0.0, 50.0, 100.0])
def test_a_full_pack_stays_below_its_own_module_alarm(current_a):
    # pylontech.md §3: module high alarm 54.0 V; the charger holds at 53.2 V.
    pack = PylontechPack(PackParams(), soc0_pct=99.9, seed=3)
    pack.current_a = current_a
    assert pack.soc_pct >= 99.5
    assert pack.voltage_v <= 53.2 + 1e-9
    for module in range(pack.p.modules):
        assert pack.module_voltage_v(module) * 1000 <= 53200 + 1e-6 < MODULE_HIGH_MV
    emu = PylontechEmulator(pack)
    alarm = frames.decode(emu.answer(frames.request(2, Cmd.ALARM)) or b"").info
    # DATAFLAG, ADR, 15 cells, count, 5 temperatures, charge current, module voltage.
    assert alarm[1 + 1 + 1 + 15 + 1 + 5 + 1] == 0, "module voltage flagged over the limit"
