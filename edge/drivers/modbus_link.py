"""What every Modbus RTU device driver shares: the pymodbus client (a serial port, or RTU
framing over TCP for gateways and emulators), reconnecting with backoff, one request at a
time, and a poll task that keeps the latest good reading and its time.

A failed or implausible reading is dropped: the previous one only ages (never a zero).
A refused or dropped link is reported in one line per outage, never as a traceback.

Each fault is counted by class in `counters` (edge/drivers/link_counters.py): a request
makes one attempt (no retry inside pymodbus), and when its timeout runs out the bytes that
came back, and any that come in a grace of one more timeout, say whether it was a timeout,
a CRC error or truncation, or a late reply. The link is then closed, so a late reply can
never be read as the answer to the next request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from edge.clock import Clock
from edge.core.model import Sample
from edge.drivers.backoff import Backoff
from edge.drivers.link_counters import LinkCounters, ReplyWatch
from edge.errors import DeviceError

T = TypeVar("T")
R = TypeVar("R")

# What a dropped link, a timeout or a garbled answer raises inside pymodbus.
LINK_ERRORS = (ModbusException, OSError, asyncio.TimeoutError)


def make_client(
    port: str, baud: int, timeout_s: float, watch: ReplyWatch | None = None, retries: int = 1
) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
    """`tcp://HOST:PORT` (RTU framing over TCP) or a serial device path; `watch` sees
    every frame sent and every chunk of bytes received. A polled device asks with no
    retry (ModbusDevice); a one-off scan may retry."""

    def trace(sending: bool, data: bytes) -> bytes:
        if watch is not None:
            watch.sent() if sending else watch.received(len(data))
        return data

    # pymodbus's own reconnect is off (reconnect_delay 0): ModbusDevice.run() owns it.
    # A polled device makes no retry: a second attempt would take a late reply to the
    # first as its own.
    if port.startswith("tcp://"):
        host, _, tcp_port = port[len("tcp://") :].rpartition(":")
        return AsyncModbusTcpClient(
            host or "127.0.0.1",
            port=int(tcp_port),
            framer=FramerType.RTU,
            timeout=timeout_s,
            retries=retries,
            reconnect_delay=0,
            trace_packet=trace,
        )
    return AsyncModbusSerialClient(
        port,
        framer=FramerType.RTU,
        baudrate=baud,
        timeout=timeout_s,
        retries=retries,
        reconnect_delay=0,
        trace_packet=trace,
    )


class ModbusDevice(Generic[T]):
    """Base of a polled Modbus device: subclasses implement identify() and poll_once()."""

    kind = "device"  # logger name: edge.<kind>
    label = "device"  # in messages

    def __init__(
        self, port: str, slave_id: int, baud: int, timeout_s: float, clock: Clock, poll_s: float
    ) -> None:
        self.port = port
        self.slave_id = slave_id
        self.clock = clock
        self.poll_s = poll_s
        self.status = "connecting"
        self.connect_attempts = 0
        self.identified = False
        self.log = logging.getLogger(f"edge.{self.kind}")
        self.timeout_s = timeout_s
        self.counters = LinkCounters()
        self._watch = ReplyWatch()
        self._connected_once = False
        self._client = make_client(port, baud, timeout_s, self._watch, retries=0)
        self._lock = asyncio.Lock()
        self._backoff = Backoff()
        self._latest: T | None = None
        self._latest_t_s: float | None = None
        # Set by every good reading: the supervisor decides on fresh data at once.
        self.fresh = asyncio.Event()
        # True while a poll talks to the device: a task is only cancelled between polls,
        # so no request is cut off with its answer still on the way.
        self.in_io = False

    # ---- for subclasses -----------------------------------------------------------
    async def identify(self) -> None:
        """The first read after connecting (serial number, version)."""

    async def poll_once(self) -> None:
        """One poll: read, then store with self.store()."""
        raise NotImplementedError

    def store(self, reading: T) -> None:
        self._latest = reading
        self._latest_t_s = self.clock.now_s()
        self.fresh.set()

    async def _transact(self, call: Callable[[], Awaitable[R]]) -> R:
        """One request and its answer, with its faults counted (call with the lock held).
        A missing answer raises ModbusIOException naming its class."""
        try:
            answer = await call()
        except ModbusIOException as exc:
            if "No response" not in str(exc):  # pymodbus 3.16's words for a timeout
                raise
            why = await self._watch.why_missing(self.timeout_s)
            ReplyWatch.count(self.counters, why)
            raise ModbusIOException(why.value) from exc
        if isinstance(answer, ModbusPDU) and answer.isError():
            self.counters.exception_replies += 1
        return answer

    async def read(self, function_code: int, address: int, count: int, what: str) -> list[int]:
        """One FC 0x03/0x04 read; an exception answer raises DeviceError naming `what`."""
        read = (
            self._client.read_holding_registers
            if function_code == 3
            else self._client.read_input_registers
        )
        async with self._lock:
            r = await self._transact(lambda: read(address, count=count, device_id=self.slave_id))
        if r.isError():
            raise DeviceError(f"{what} read refused: {r}")
        self._in_step(r, function_code, f"{len(r.registers)} registers", len(r.registers) == count)
        return list(r.registers)

    def _in_step(self, r: ModbusPDU, function_code: int, got: str, fits: bool) -> None:
        """Nothing on RS485 ties a reply to its request: one that does not fit is an
        earlier request's, late; the link is closed so the next reply is in step."""
        if r.function_code != function_code or not fits:
            self.counters.late_replies += 1
            raise ModbusIOException(
                f"a reply to another request (function 0x{r.function_code:02X}, {got})"
            )

    async def write(self, address: int, values: list[int], what: str) -> None:
        """FC 0x10 (several) or 0x06 (one) write; an exception answer raises DeviceError."""
        c, dev = self._client, self.slave_id
        async with self._lock:
            if len(values) == 1:
                r = await self._transact(
                    lambda: c.write_register(address, values[0], device_id=dev)
                )
            else:
                r = await self._transact(lambda: c.write_registers(address, values, device_id=dev))
        if r.isError():
            raise DeviceError(f"{what} write refused: {r}")
        self._in_step(
            r,
            0x06 if len(values) == 1 else 0x10,
            f"address 0x{r.address:04X}",
            r.address == address,
        )

    async def write_registers(self, address: int, values: list[int]) -> ModbusPDU:
        """One FC 0x10 write, even of one register; the answer, refusal or not."""
        c, dev = self._client, self.slave_id
        async with self._lock:
            r: ModbusPDU = await self._transact(
                lambda: c.write_registers(address, values, device_id=dev)
            )
        if not r.isError():
            self._in_step(r, 0x10, f"address 0x{r.address:04X}", r.address == address)
        return r

    async def execute(self, pdu: ModbusPDU) -> ModbusPDU:
        async with self._lock:
            answer: ModbusPDU = await self._transact(lambda: self._client.execute(False, pdu))
            if answer.function_code & 0x7F != pdu.function_code:
                # A late answer to an earlier request (one whose task was cancelled
                # mid-transaction): the next frame on the line is ours.
                self.counters.late_replies += 1
                self.log.info("%s: discarded a late %s", self.label, type(answer).__name__)
                answer = await self._transact(lambda: self._client.execute(False, pdu))
        return answer

    def register_pdu(self, response_class: type[ModbusPDU]) -> None:
        self._client.register(response_class)

    # ---- the port to the app ----------------------------------------------------
    def sample(self, now_s: float) -> Sample[T] | None:
        """The latest good reading and its age at now_s, or None before the first one."""
        if self._latest is None or self._latest_t_s is None:
            return None
        return Sample(self._latest, max(0.0, now_s - self._latest_t_s))

    @property
    def live(self) -> bool:
        return self.status == "online" and self.identified

    def lost(self, why: str) -> None:
        if self.status == "online":
            self.log.warning("%s at %s: %s; reconnecting", self.label, self.port, why)
        self.status = f"offline: {why}"
        self._client.close()
        self.on_lost()

    def on_lost(self) -> None:
        """Forget what must be sent again after a reconnect."""

    async def _connect(self) -> None:
        failures = 0
        while True:
            self.connect_attempts += 1
            if await self._client.connect():
                self._backoff.reset()
                if self._connected_once:
                    self.counters.reconnects += 1
                self._connected_once = True
                return
            failures += 1
            delay = self._backoff.next_delay_s()
            why = f"cannot connect (refused or no device), retrying in {delay:.1f} s"
            # First failure of an outage, then once per longest backoff: reported, not spammed.
            if failures == 1 or delay >= self._backoff.max_s:
                self.log.warning("%s at %s: %s", self.label, self.port, why)
            self.status = f"offline: {why}"
            await asyncio.sleep(delay)  # wall time: this paces a real link, not the simulation

    async def run(self) -> None:
        """Poll every poll_s (start to start) forever; cancel the task to stop."""
        while True:
            started_s = self.clock.now_s()
            if not self._client.connected:
                await self._connect()
            self.in_io = True
            try:
                if not self.identified:
                    await self.identify()
                    self.identified = True
                await self.poll_once()
                if self.status != "online":
                    self.log.info("%s at %s: online", self.label, self.port)
                self.status = "online"
            except DeviceError as exc:
                self.log.warning("%s at %s: %s", self.label, self.port, exc)
            except LINK_ERRORS as exc:
                self.lost(str(exc) or type(exc).__name__)
            finally:
                self.in_io = False
            await self.clock.sleep(max(0.0, self.poll_s - (self.clock.now_s() - started_s)))

    def close_link(self) -> None:
        self._client.close()
