"""What every Modbus device driver shares (edge/drivers/modbus_link.py), on a small device
of its own against the Sofar emulator over a socket: the client a port names, identify
then poll, a refused read or write named and never stored, a dropped link reported once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.framer import FramerRTU

from edge.clock import ScaledClock
from edge.drivers.modbus_link import ModbusDevice, make_client
from edge.drivers.sofar import registers as reg
from edge.drivers.sofar.sim import SofarEmulator
from edge.errors import DeviceError
from edge.mqtt.broker import free_port
from edge.sim.house import House, HouseParams
from edge.tasks import cancel_and_wait
from tests.asyncwait import wait_until


def test_a_tcp_port_is_rtu_framing_over_tcp_and_a_path_is_a_serial_port():
    async def go():
        tcp = make_client("tcp://192.0.2.7:8899", 9600, 0.7)
        assert isinstance(tcp, AsyncModbusTcpClient)
        assert (tcp.comm_params.host, tcp.comm_params.port) == ("192.0.2.7", 8899)
        assert tcp.comm_params.timeout_connect == 0.7
        assert isinstance(tcp.ctx.framer, FramerRTU)  # RTU frames, not Modbus TCP's MBAP
        assert make_client("tcp://:5020", 9600, 1.0).comm_params.host == "127.0.0.1"
        rtu = make_client("/dev/ttyUSB0", 19200, 1.0)
        assert isinstance(rtu, AsyncModbusSerialClient)
        assert (rtu.comm_params.host, rtu.comm_params.baudrate) == ("/dev/ttyUSB0", 19200)
        assert isinstance(rtu.ctx.framer, FramerRTU)
        # pymodbus's own reconnect is off: the device's run() owns the backoff.
        assert tcp.comm_params.reconnect_delay == rtu.comm_params.reconnect_delay == 0

    asyncio.run(go())


class Probe(ModbusDevice[str]):
    """Identify: the Sofar serial (FC 0x04). Poll: `block` of FC 0x03 registers."""

    kind = "probe"
    label = "probe"

    def __init__(self, port: int, block: tuple[int, int]) -> None:
        clock = ScaledClock(start_s=0.0, speed=1.0)
        super().__init__(f"tcp://127.0.0.1:{port}", 1, 9600, 0.5, clock, poll_s=0.05)
        self.block = block
        self.serial: str | None = None
        self.losses = 0

    async def identify(self) -> None:
        self.serial = reg.decode_serial(
            await self.read(4, reg.SERIAL_START, reg.SERIAL_COUNT, "serial number")
        )

    async def poll_once(self) -> None:
        regs = await self.read(3, *self.block, "test block")
        self.store(f"{len(regs)} registers")

    def on_lost(self) -> None:
        self.losses += 1


@contextlib.asynccontextmanager
async def probing(block: tuple[int, int], emulator: bool = True):
    emu = SofarEmulator(House(HouseParams(), start_s=43200.0)) if emulator else None
    port = await emu.start() if emu else free_port()
    dev = Probe(port, block)
    task = asyncio.create_task(dev.run())
    try:
        yield dev
    finally:
        await cancel_and_wait([task])
        dev.close_link()
        if emu:
            await emu.stop()


def test_identify_once_then_poll_and_store_with_the_time():
    async def go():
        async with probing((reg.LIVE_START, reg.LIVE_COUNT)) as dev:
            assert dev.sample(dev.clock.now_s()) is None  # nothing before the first poll
            await wait_until(lambda: dev.fresh.is_set())
            assert dev.serial == "SE1ES410SIM001"
            assert dev.identified and dev.live and dev.status == "online"
            now = dev.clock.now_s()
            got = dev.sample(now)
            assert got.value == f"{reg.LIVE_COUNT} registers"
            assert 0.0 <= got.age_s < 0.5
            assert dev.sample(now + 10.0).age_s == pytest.approx(got.age_s + 10.0)
            dev.fresh.clear()
            await wait_until(lambda: dev.fresh.is_set())  # each poll sets it again

    asyncio.run(go())


def test_a_refused_read_is_named_and_nothing_is_stored(caplog):
    async def go():
        with caplog.at_level(logging.WARNING, logger="edge.probe"):
            async with probing((0x9000, 4)) as dev:  # registers the inverter does not have
                await wait_until(lambda: "test block read refused" in caplog.text)
                assert dev.identified  # the serial read went through
                assert dev.sample(dev.clock.now_s()) is None  # never a zero reading
                assert dev.status != "online" and not dev.live

    asyncio.run(go())
    assert "probe at tcp://127.0.0.1:" in caplog.text
    assert "Traceback" not in caplog.text


def test_a_refused_write_raises_a_device_error_naming_it():
    async def go():
        async with probing((reg.LIVE_START, reg.LIVE_COUNT)) as dev:
            await wait_until(lambda: dev.live)
            with pytest.raises(DeviceError, match="serial number write refused"):
                await dev.write(reg.SERIAL_START, [0x4142, 0x4344], "serial number")  # FC 0x10
            with pytest.raises(DeviceError, match="serial number write refused"):
                await dev.write(reg.SERIAL_START, [0x4142], "serial number")  # FC 0x06

    asyncio.run(go())


def test_a_lost_link_is_reported_once_forgotten_and_reconnected(caplog):
    async def go():
        with caplog.at_level(logging.INFO, logger="edge.probe"):
            async with probing((reg.LIVE_START, reg.LIVE_COUNT)) as dev:
                await wait_until(lambda: dev.live)
                dev.lost("test: link dropped")
                assert dev.status == "offline: test: link dropped" and dev.losses == 1
                dev.lost("test: link dropped")  # already offline: not reported again
                await wait_until(lambda: dev.status == "online")
                assert dev.connect_attempts == 2

    asyncio.run(go())
    assert caplog.text.count("test: link dropped; reconnecting") == 1
    assert caplog.text.count(": online") == 2  # at the start, and after the reconnect


def test_a_refused_connection_is_reported_once_per_outage(caplog):
    async def go():
        with caplog.at_level(logging.WARNING, logger="edge.probe"):
            async with probing((reg.LIVE_START, reg.LIVE_COUNT), emulator=False) as dev:
                await asyncio.sleep(0.8)  # attempts at 0 s and 0.5 s; the next at 1.5 s
                assert dev.connect_attempts == 2
                assert dev.status == (
                    "offline: cannot connect (refused or no device), retrying in 1.0 s"
                )

    asyncio.run(go())
    assert caplog.text.count("cannot connect") == 1
