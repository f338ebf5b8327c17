"""Commissioning's RS485 scan against the emulators over real sockets: the inverter at its
Modbus address (either register family), the Pylontech master at address 2, and nothing,
without an exception, where nothing answers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty

from edge.commissioning import Found, scan
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.drivers.sofar.g3_sim import SofarG3Emulator
from edge.drivers.sofar.sim import SofarEmulator
from edge.mqtt.broker import free_port
from edge.sim.house import House, HouseParams

NOON_S = 12 * 3600.0
FAST_S = 0.2  # per question: the emulators answer in milliseconds


def house() -> House:
    return House(HouseParams(), start_s=NOON_S)


def test_finds_an_me3000sp_at_its_address_and_not_at_the_others():
    async def go():
        emu = SofarEmulator(house(), slave_id=3, serial="SE1ES410TEST42")
        port = f"tcp://127.0.0.1:{await emu.start()}"
        try:
            assert await scan(port, [1, 2, 3, 4], timeout_s=FAST_S) == [
                Found("sofar_me3000sp", port, None, 3, "SE1ES410TEST42")
            ]
            assert await scan(port, [1, 2], timeout_s=FAST_S) == []
        finally:
            await emu.stop()

    asyncio.run(go())


def test_finds_a_hyd_ep_by_its_g3_serial_register():
    async def go():
        emu = SofarG3Emulator(house(), slave_id=7)
        port = f"tcp://127.0.0.1:{await emu.start()}"
        try:
            found = await scan(port, [7], timeout_s=FAST_S, bms=False)
            assert found == [Found("sofar_hyd_ep", port, None, 7, "SM2ES410SIM001")]
        finally:
            await emu.stop()

    asyncio.run(go())


def test_finds_the_pylontech_master_on_a_port():
    async def go():
        emu = PylontechEmulator(house().pack)
        port = f"tcp://127.0.0.1:{await emu.start()}"
        try:
            found = await scan(port, [1], timeout_s=FAST_S)
            # A TCP gateway has no baud rate; the master answers at ADR 2 with V3.3.
            assert found == [Found("pylontech", port, None, 2, "protocol V3.3")]
            assert emu.requests == 1  # one question: the protocol version (0x4F)
        finally:
            await emu.stop()

    asyncio.run(go())


def test_a_tcp_port_that_accepts_but_never_answers_finds_nothing():
    async def go():
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while await reader.read(256):
                    pass
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            assert await scan(f"tcp://127.0.0.1:{port}", [1, 2], timeout_s=0.1) == []
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(go())


def test_a_port_where_nothing_listens_finds_nothing():
    async def go():
        assert await scan(f"tcp://127.0.0.1:{free_port()}", [1], timeout_s=0.1) == []
        assert await scan("/dev/no-such-edge-tty", [1], timeout_s=0.1) == []

    asyncio.run(go())


def test_a_silent_serial_line_is_asked_at_every_baud_rate_and_finds_nothing():
    async def go():
        master, slave = os.openpty()  # an RS485 adapter with nothing on the bus
        tty.setraw(slave)
        asked = bytearray()
        loop = asyncio.get_running_loop()
        loop.add_reader(master, lambda: asked.extend(os.read(master, 4096)))
        try:
            assert await scan(os.ttyname(slave), [1], timeout_s=0.05) == []
        finally:
            loop.remove_reader(master)
            os.close(master)
            os.close(slave)
        # At each of the four Sofar baud rates both serial registers were asked (FC 0x04
        # at 0x2001, FC 0x03 at 0x0445), each with its one retry; the Pylontech master at
        # both of its rates.
        assert asked.count(bytes.fromhex("01042001")) == 4 * 2
        assert asked.count(bytes.fromhex("01030445")) == 4 * 2
        assert asked.count(b"~2002464F") == 2  # VER 2.0, ADR 2, CID1 0x46, 0x4F

    asyncio.run(go())


def test_found_as_a_dict_for_the_local_api():
    f = Found("pylontech", "/dev/ttyUSB1", 9600, 2, "protocol V3.3")
    assert f.as_dict() == {
        "device": "pylontech",
        "port": "/dev/ttyUSB1",
        "baud": 9600,
        "address": 2,
        "identity": "protocol V3.3",
    }
