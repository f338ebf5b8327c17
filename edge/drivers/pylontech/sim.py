"""Pylontech RS485 emulator: a stack of US2000-like modules (edge/sim/battery.py) answering
the Pylon low-voltage protocol V3.3 over TCP (an RS485 gateway, or the simulated house).
The master answers at ADR 2, the slaves at 3, 4, ... (single group, pylontech.md §1.4).

Replies (layouts pylontech.md §1.6-1.9): 0x42 analog values (15 cells, 5 temperatures,
current + = charging in 0.1 A, module voltage, remaining and total capacity in mAh,
cycles) for one module or, with INFO 0xFF, every module; 0x44 alarm info; 0x47 system
parameters; 0x92 charge/discharge management; 0x93 serial number; 0x4F and 0x51. A frame
with a bad checksum gets RTN 0x02 (0x03 for LCHKSUM); an unknown command RTN 0x04; a
frame for an address no module has gets no answer, as on a real bus.
"""

from __future__ import annotations

import asyncio
import os
import struct
import tty

from edge.drivers.pylontech.frames import (
    CID1_BATTERY,
    TEMP_OFFSET,
    VER,
    Cmd,
    Frame,
    FrameError,
    Rtn,
    decode,
    encode,
)
from edge.drivers.stream_server import StreamServer
from edge.sim.battery import CELLS, PylontechPack

MASTER_ADR = 2
INFOFLAG = 0x11
# System parameters of a US2000 (pylontech.md §1.8, §3): mV, 0.1 K, 0.1 A.
CELL_HIGH_MV, CELL_LOW_MV, CELL_UNDER_MV = 3700, 3050, 2900
MODULE_HIGH_MV, MODULE_LOW_MV, MODULE_UNDER_MV = 54000, 46000, 44500
CHARGE_VOLTAGE_LIMIT_MV, DISCHARGE_VOLTAGE_LIMIT_MV = 53200, 45000


def _t(degc: float) -> int:
    return round(degc * 10) + TEMP_OFFSET


class PylontechEmulator(StreamServer):
    def __init__(
        self,
        pack: PylontechPack,
        host: str = "127.0.0.1",
        port: int = 0,
        serial_prefix: str = "PPTAP0000000",
    ) -> None:
        super().__init__(host, port)
        self.pack = pack
        self.serial_prefix = serial_prefix
        self.requests = 0
        self._pty: tuple[int, int] | None = None  # (master, slave) of open_pty()

    # ---- replies ----------------------------------------------------------------
    def _module(self, k: int) -> bytes:
        p = self.pack
        cells = p.cell_voltages_v()[k]
        out = bytes([CELLS]) + b"".join(struct.pack(">H", round(v * 1000)) for v in cells)
        t = p.temp_degc
        temps = [t + 1.0, t, t + 0.2, t - 0.1, t + 0.1]  # BMS board, then cell groups
        out += bytes([len(temps)]) + b"".join(struct.pack(">h", _t(x)) for x in temps)
        current = p.current_a / p.p.modules
        total_mah = round(p.p.module_ah * 1000)
        remaining_mah = round(total_mah * sum(p.cell_socs()[k]) / CELLS)
        out += struct.pack(">hH", round(current * 10), round(sum(cells) * 1000))
        out += struct.pack(">HBHH", remaining_mah, 2, total_mah, p.cycles)  # count 2: <= 65 Ah
        return out

    def _alarm(self, k: int) -> bytes:
        p = self.pack
        cells = p.cell_voltages_v()[k]
        status = [
            1 if v * 1000 < CELL_LOW_MV else 2 if v * 1000 > CELL_HIGH_MV else 0 for v in cells
        ]
        out = bytes([CELLS, *status, 5]) + bytes(5)  # temperatures normal
        module_mv = sum(cells) * 1000
        volt = 1 if module_mv < MODULE_LOW_MV else 2 if module_mv > MODULE_HIGH_MV else 0
        out += bytes([0, volt, 0])  # charge current, module voltage, discharge current
        charge_a, discharge_a = p.limits_a()
        status2 = (0x02 if charge_a > 0 else 0) | (0x04 if discharge_a > 0 else 0) | 0x08
        status3 = (
            (0x80 if p.current_a > 0.1 else 0)
            | (0x40 if p.current_a < -0.1 else 0)
            | (0x08 if p.soc_pct >= 99.95 else 0)
        )
        status1 = 0x02 if min(cells) * 1000 < CELL_UNDER_MV else 0
        return out + bytes([status1, status2, status3, 0, 0])

    def _charge_management(self, adr: int) -> bytes:
        p = self.pack
        charge_a, discharge_a = p.limits_a()
        per = p.p.modules
        soc = p.soc_pct
        status = (0x80 if charge_a > 0 else 0) | (0x40 if discharge_a > 0 else 0)
        status |= 0x20 if 5.0 <= soc < 9.0 else 0  # force charge I (US2000B-Plus band)
        status |= 0x10 if 9.0 <= soc < 13.0 else 0  # force charge II
        return bytes([adr]) + struct.pack(
            ">HHhhB",
            CHARGE_VOLTAGE_LIMIT_MV,
            DISCHARGE_VOLTAGE_LIMIT_MV,
            round(charge_a / per * 10),
            # §1.9 leaves the sign open; real replies carry it negative (python-pylontech).
            -round(discharge_a / per * 10),
            status,
        )

    def _system_parameters(self) -> bytes:
        rated = round(self.pack.p.rated_current_a * 10)
        return bytes([INFOFLAG]) + struct.pack(
            ">HHHHHhHHHHHh",
            CELL_HIGH_MV,
            CELL_LOW_MV,
            CELL_UNDER_MV,
            _t(50.0),
            _t(0.0),
            rated,
            MODULE_HIGH_MV,
            MODULE_LOW_MV,
            MODULE_UNDER_MV,
            _t(50.0),
            _t(-10.0),
            rated,
        )

    def answer(self, raw: bytes) -> bytes | None:
        """The reply to one request frame, or None where a real bus stays silent. A frame
        starts at its SOI: line noise before it (another protocol's bytes) is skipped."""
        raw = raw[raw.rfind(b"~") :] if b"~" in raw else raw
        try:
            req = decode(raw)
        except FrameError as exc:
            # Answer from the address in the header if it can be read at all.
            try:
                adr = int(raw[3:5], 16)
            except ValueError:
                return None
            if not MASTER_ADR <= adr < MASTER_ADR + self.pack.p.modules:
                return None
            rtn = Rtn.LCHKSUM_ERROR if "LCHKSUM" in str(exc) else Rtn.CHKSUM_ERROR
            return encode(Frame(VER, adr, CID1_BATTERY, rtn, b""))
        modules = self.pack.p.modules
        if not MASTER_ADR <= req.adr < MASTER_ADR + modules:
            return None
        self.requests += 1
        k = req.adr - MASTER_ADR
        every = req.info[:1] == b"\xff"
        if req.cid1 != CID1_BATTERY:
            return encode(Frame(VER, req.adr, CID1_BATTERY, Rtn.CID2_INVALID, b""))
        try:
            cmd = Cmd(req.cid2)
        except ValueError:
            return encode(Frame(VER, req.adr, CID1_BATTERY, Rtn.CID2_INVALID, b""))
        if cmd is Cmd.ANALOG:
            mods = range(modules) if every else [k]
            info = bytes([INFOFLAG, modules if every else req.adr]) + b"".join(
                self._module(m) for m in mods
            )
        elif cmd is Cmd.ALARM:
            mods = range(modules) if every else [k]
            info = bytes([0x00]) + b"".join(bytes([req.adr]) + self._alarm(m) for m in mods)
        elif cmd is Cmd.SYSTEM_PARAMETERS:
            info = self._system_parameters()
        elif cmd is Cmd.CHARGE_MANAGEMENT:
            info = self._charge_management(req.adr)
        elif cmd is Cmd.SERIAL_NUMBER:
            serial = f"{self.serial_prefix}{k:04d}".encode().ljust(16)[:16]
            info = bytes([req.adr]) + serial
        elif cmd is Cmd.PROTOCOL_VERSION:
            return encode(Frame(0x33, req.adr, CID1_BATTERY, Rtn.NORMAL, b""))  # V3.3
        else:  # MANUFACTURER
            info = b"US2000C".ljust(10) + bytes([1, 2]) + b"PYLON".ljust(20)
        return encode(Frame(VER, req.adr, CID1_BATTERY, Rtn.NORMAL, info))

    # ---- the line -----------------------------------------------------------------
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            reply = self.answer(await reader.readuntil(b"\r"))
            if reply is not None:
                writer.write(reply)
                await writer.drain()

    # ---- a serial line: a pseudo-terminal stands in for the RS485 adapter -----------
    def open_pty(self) -> str:
        """Answer on a new pseudo-terminal too; returns its device path for the driver
        (pyserial opens it as it would /dev/ttyUSB0). Needs a running event loop."""
        master, slave = os.openpty()
        tty.setraw(slave)  # bytes through untouched: no echo, no CR translation
        self._pty = (master, slave)
        buf = bytearray()

        def readable() -> None:
            try:
                buf.extend(os.read(master, 4096))
            except OSError:
                return
            while (end := buf.find(b"\r")) >= 0:
                frame = bytes(buf[: end + 1])
                del buf[: end + 1]
                reply = self.answer(frame)
                if reply is not None:
                    os.write(master, reply)

        asyncio.get_running_loop().add_reader(master, readable)
        return os.ttyname(slave)

    def close_pty(self) -> None:
        if self._pty is not None:
            asyncio.get_running_loop().remove_reader(self._pty[0])
            for fd in self._pty:
                os.close(fd)
            self._pty = None
