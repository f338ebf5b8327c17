"""Pylontech console driver (Pylon low-voltage RS485 protocol V3.3): each module's charge
management (command 0x92: charge and discharge current limits), summed over the pack, then
the analog values (0x42: cell voltages, temperatures, capacity) and the alarms (0x44) of
every module in one request each.

The link is a serial device (115200 or 9600 baud, 8N1) or `tcp://HOST:PORT` (the emulator,
or an RS485-to-TCP gateway). A reply that is not well formed, has a non-zero RTN, a limit
outside the module's rating or an implausible cell voltage or temperature is rejected and
the reading ages: the core then treats the BMS as stale (safe state), never as a zero or a
wild limit. Alarms are logged when they appear and when they clear.

Link faults are counted by class in `counters` (edge/drivers/link_counters.py): a frame
that fails its checksums is a CRC error, a non-zero RTN an exception reply, and a reply
not complete by the timeout a timeout, a truncation (counted with CRC errors) or a late
reply, by what comes in one more timeout's grace. Each closes the connection.
"""

from __future__ import annotations

import asyncio
import logging

import serial_asyncio_fast

from edge.clock import Clock
from edge.core.model import Sample
from edge.drivers.link_counters import LinkCounters, Missing, ReplyWatch
from edge.drivers.pylontech import frames
from edge.drivers.pylontech.frames import Cmd, FrameError, Rtn
from edge.drivers.pylontech.replies import (
    BmsLimits,
    decode_alarms,
    decode_analog,
    decode_charge_management,
)

log = logging.getLogger("edge.bms")

MASTER_ADR = 2  # the master module answers at 2, the others at 3, 4, ... (pylontech.md §1.4)


class PylontechDriver:
    def __init__(
        self,
        port: str,
        modules: int,
        clock: Clock,
        poll_s: float = 2.0,
        timeout_s: float = 1.0,
        baud: int = 115200,
    ) -> None:
        self.addr: tuple[str, int] | None = None
        if port.startswith("tcp://"):
            host, _, tcp_port = port[len("tcp://") :].rpartition(":")
            self.addr = (host or "127.0.0.1", int(tcp_port))
        self.port = port
        self.baud = baud
        self.modules = modules
        self.clock = clock
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.status = "connecting"
        self.serial: str | None = None  # the master module's (0x93), read once
        self.in_io = False  # True while a poll talks to the BMS (see ModbusDevice.in_io)
        self.rejected = 0
        self.counters = LinkCounters()
        self._opened_once = False
        self._latest: BmsLimits | None = None
        self._latest_t_s: float | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def sample(self, now_s: float) -> Sample[BmsLimits] | None:
        if self._latest is None or self._latest_t_s is None:
            return None
        return Sample(self._latest, max(0.0, now_s - self._latest_t_s))

    async def _reply(self) -> frames.Frame:
        """The next frame up to its EOI within the timeout, decoded; its faults counted."""
        assert self._reader is not None
        reader, buf = self._reader, bytearray()
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while frames.EOI not in buf:
            left_s = deadline - asyncio.get_running_loop().time()
            try:
                chunk = await asyncio.wait_for(reader.read(512), max(left_s, 0.0))
            except TimeoutError:
                why = await self._why_missing(bool(buf))
                raise TimeoutError(why.value) from None
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(buf), None)
            buf += chunk
        end = buf.index(frames.EOI) + 1
        if end < len(buf):
            # More than one reply came: one was late. Neither is trusted.
            self.counters.late_replies += 1
            raise FrameError(f"{len(buf) - end} bytes after the reply: a late reply")
        try:
            reply = frames.decode(bytes(buf))
        except FrameError:
            self.counters.crc_errors += 1
            raise
        if reply.cid2 != Rtn.NORMAL:
            self.counters.exception_replies += 1
        return reply

    async def _why_missing(self, partial: bool) -> Missing:
        """After a timeout: more bytes within one more timeout make it a late reply."""
        assert self._reader is not None
        try:
            more = await asyncio.wait_for(self._reader.read(512), self.timeout_s)
        except TimeoutError:
            more = b""
        why = Missing.LATE if more else Missing.CRC if partial else Missing.TIMEOUT
        ReplyWatch.count(self.counters, why)
        return why

    async def _ask(self, adr: int, cmd: Cmd) -> bytes:
        assert self._writer is not None
        self._writer.write(frames.request(adr, cmd))
        await self._writer.drain()
        reply = await self._reply()
        if reply.adr != adr or reply.cid2 != Rtn.NORMAL:
            raise FrameError(f"module {adr}: reply from {reply.adr} with RTN 0x{reply.cid2:02X}")
        return reply.info

    async def _ask_all(self, cmd: Cmd) -> bytes:
        """A whole-group query (0x42, 0x44): INFO 0xFF to the master (§1.4)."""
        assert self._writer is not None
        self._writer.write(frames.request(MASTER_ADR, cmd, info=b"\xff"))
        await self._writer.drain()
        reply = await self._reply()
        if reply.cid2 != Rtn.NORMAL:
            raise FrameError(f"{cmd.name.lower()} for all modules: RTN 0x{reply.cid2:02X}")
        return reply.info

    async def read_serial(self) -> str:
        """The master module's serial number (0x93: ADR, then 16 ASCII characters)."""
        info = await self._ask(MASTER_ADR, Cmd.SERIAL_NUMBER)
        serial = info[1:17].decode("ascii", errors="replace").strip(" \x00")
        if not serial or not serial.isprintable():
            raise FrameError(f"serial number {info[1:17]!r} is not printable text")
        return serial

    async def poll_once(self) -> None:
        if self.serial is None:
            self.serial = await self.read_serial()
            log.info("BMS at %s: master module %s", self.port, self.serial)
        charge = discharge = 0.0
        for adr in range(MASTER_ADR, MASTER_ADR + self.modules):
            c, d = decode_charge_management(await self._ask(adr, Cmd.CHARGE_MANAGEMENT))
            charge, discharge = charge + c, discharge + d
        mods = decode_analog(await self._ask_all(Cmd.ANALOG), self.modules)
        alarms = tuple(decode_alarms(await self._ask_all(Cmd.ALARM), self.modules))
        cells = [v for m in mods for v in m.cell_voltages_v]
        temps = [t for m in mods for t in m.temperatures_degc]
        total_ah = sum(m.total_ah for m in mods)
        reading = BmsLimits(
            charge,
            discharge,
            cell_min_v=min(cells, default=None),
            cell_max_v=max(cells, default=None),
            temp_min_degc=min(temps, default=None),
            temp_max_degc=max(temps, default=None),
            soc_pct=100.0 * sum(m.remaining_ah for m in mods) / total_ah if total_ah else None,
            alarms=alarms,
        )
        before = set(self._latest.alarms) if self._latest is not None else set()
        for alarm in sorted(set(alarms) - before):
            log.warning("BMS alarm: %s", alarm)
        for alarm in sorted(before - set(alarms)):
            log.info("BMS alarm cleared: %s", alarm)
        self._latest, self._latest_t_s = reading, self.clock.now_s()

    async def run(self) -> None:
        """Poll forever; cancel to stop. Faults are logged and the reading ages."""
        while True:
            started = self.clock.now_s()
            self.in_io = True
            try:
                if self._writer is None:
                    self._reader, self._writer = await asyncio.wait_for(
                        self._open(), self.timeout_s
                    )
                    if self._opened_once:
                        self.counters.reconnects += 1
                    self._opened_once = True
                await self.poll_once()
                if self.status != "online":
                    log.info("BMS at %s: online", self.port)
                self.status = "online"
            except FrameError as exc:
                self.rejected += 1
                log.warning("BMS at %s: reply rejected: %s", self.port, exc)
                # A garbled or stray reply may leave bytes on the line that would answer
                # the next request: start the next poll on a fresh connection.
                self.close()
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                if self.status == "online":
                    log.warning("BMS at %s: %s; reconnecting", self.port, exc or type(exc).__name__)
                self.status = f"offline: {exc or type(exc).__name__}"
                self.close()
                await asyncio.sleep(min(self.poll_s, 2.0))
            finally:
                self.in_io = False
            await self.clock.sleep(max(0.0, self.poll_s - (self.clock.now_s() - started)))

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.addr is not None:
            return await asyncio.open_connection(*self.addr)
        # 8N1, no flow control (pylontech.md §1.1); a missing device raises OSError.
        return await serial_asyncio_fast.open_serial_connection(url=self.port, baudrate=self.baud)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
