"""Commissioning: find the inverter and the BMS on an RS485 port. For each baud rate, each
Modbus address is asked for the Sofar serial number (ME3000SP/HYD-ES at 0x2001, FC 0x04;
HYD-EP at 0x0445, FC 0x03), and the Pylontech master (address 2) for its protocol version
(0x4F). Only reads; a short timeout per question. `tcp://HOST:PORT` (a gateway) is asked
once, baud rates aside.

`where(port)` says where a port leads (a device's real path, a gateway's addresses and port
number), so the local API compares a port to the drivers' own however either is written,
and refuses a device that does not exist, is not a serial device, or a host not known.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import stat
from dataclasses import asdict, dataclass
from typing import Any

import serial_asyncio_fast

from edge.drivers.modbus_link import LINK_ERRORS, make_client
from edge.drivers.pylontech import frames
from edge.drivers.pylontech.frames import Cmd, FrameError
from edge.drivers.sofar import g3
from edge.drivers.sofar import registers as reg
from edge.errors import EdgeError

SOFAR_BAUDS = (9600, 19200, 4800, 2400)
PYLONTECH_BAUDS = (115200, 9600)
PYLONTECH_MASTER = 2


RESOLVE_TIMEOUT_S = 5.0
THIS_HOST = "this host"  # loopback, unspecified and this host's own addresses: one listener
# (ser2net on 0.0.0.0, say) may take them all


class PortError(EdgeError):
    """A port that cannot be scanned: a device that does not exist, a host not known."""


@dataclass(frozen=True)
class Where:
    """Where a port leads, to compare two ports however they are written: a device by its
    real path (and its device number), a TCP gateway by its (address, port number) pairs."""

    path: str | None = None  # the device's real path (symlinks and "//" resolved)
    rdev: int | None = None  # st_rdev of a character device that exists
    endpoints: frozenset[tuple[str, int]] = frozenset()

    def overlaps(self, other: Where) -> bool:
        if self.path is not None and self.path == other.path:
            return True
        if self.rdev is not None and self.rdev == other.rdev:
            return True
        return bool(self.endpoints & other.endpoints)


async def where(port: str, must_exist: bool = True) -> Where:
    """Where `port` (a device path or tcp://HOST:PORT) leads. must_exist: raise PortError
    for a device that does not exist or a host that cannot be resolved; otherwise (a
    driver's own port) fall back to the port as written."""
    if not port.startswith("tcp://"):
        path = os.path.realpath(port)
        try:
            st = os.stat(path)
        except OSError as exc:
            if must_exist:
                raise PortError(f"{port}: no such device ({exc.strerror})") from exc
            return Where(path=path)
        if must_exist and not stat.S_ISCHR(st.st_mode):
            raise PortError(f"{port}: not a serial device")
        return Where(path=path, rdev=st.st_rdev if stat.S_ISCHR(st.st_mode) else None)
    host, _, number = port[len("tcp://") :].rpartition(":")
    host = host.strip("[]") or "127.0.0.1"  # no host: this one, as make_client reads it
    if not (number.isascii() and number.isdigit() and 1 <= int(number) <= 65535):
        raise PortError(f"{port}: {number!r} is not a port number from 1 to 65535")
    tcp_port = int(number)
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, tcp_port, type=socket.SOCK_STREAM),
            RESOLVE_TIMEOUT_S,
        )
    except (OSError, TimeoutError, UnicodeError) as exc:
        if must_exist:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            raise PortError(f"{port}: host {host!r} is not known ({why})") from exc
        return Where(endpoints=frozenset({(host.lower(), tcp_port)}))
    return Where(endpoints=frozenset((_address(str(i[4][0])), tcp_port) for i in infos))


def _address(text: str) -> str:
    """An address as one text for every way of writing it; THIS_HOST for the local ones."""
    addr = ipaddress.ip_address(text.partition("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    local = addr.is_loopback or addr.is_unspecified or _assigned_here(addr)
    return THIS_HOST if local else str(addr)


def _assigned_here(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an interface of this host has the address (a socket can be bound to it)."""
    family = socket.AF_INET if addr.version == 4 else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((str(addr), 0))
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Found:
    device: str  # "sofar_me3000sp" | "sofar_hyd_ep" | "pylontech"
    port: str
    baud: int | None
    address: int
    identity: str  # serial number, or protocol version

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _sofar_at(port: str, baud: int, ids: list[int], timeout_s: float) -> list[Found]:
    client = make_client(port, baud, timeout_s)
    found: list[Found] = []
    if not await client.connect():
        return found
    try:
        for slave in ids:
            for family, fc, start in (
                ("sofar_me3000sp", 4, reg.SERIAL_START),
                ("sofar_hyd_ep", 3, g3.SERIAL.start),
            ):
                read = client.read_input_registers if fc == 4 else client.read_holding_registers
                try:
                    r = await read(start, count=reg.SERIAL_COUNT, device_id=slave)
                except LINK_ERRORS:
                    continue
                if not r.isError():
                    serial = reg.decode_serial(r.registers)
                    if serial.isprintable() and serial:
                        found.append(Found(family, port, baud, slave, serial))
                        break
    finally:
        client.close()
    return found


async def _pylontech_at(port: str, baud: int, timeout_s: float) -> list[Found]:
    try:
        if port.startswith("tcp://"):
            host, _, tcp_port = port[len("tcp://") :].rpartition(":")
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host or "127.0.0.1", int(tcp_port)), timeout_s
            )
        else:
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=port, baudrate=baud
            )
    except (OSError, TimeoutError):
        return []
    try:
        writer.write(frames.request(PYLONTECH_MASTER, Cmd.PROTOCOL_VERSION, info=b""))
        await writer.drain()
        raw = await asyncio.wait_for(reader.readuntil(frames.EOI), timeout_s)
        reply = frames.decode(raw)
    except (OSError, TimeoutError, FrameError, asyncio.IncompleteReadError):
        return []
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    version = f"protocol V{reply.ver >> 4}.{reply.ver & 0xF}"
    return [Found("pylontech", port, baud, reply.adr, version)]


async def scan(
    port: str, slave_ids: list[int], timeout_s: float = 0.3, bms: bool = True
) -> list[Found]:
    """Everything that answers on `port`, at every baud rate the devices offer."""
    tcp = port.startswith("tcp://")
    found: list[Found] = []
    for baud in SOFAR_BAUDS[:1] if tcp else SOFAR_BAUDS:
        hits = await _sofar_at(port, baud, slave_ids, timeout_s)
        found += [
            Found(h.device, h.port, None if tcp else baud, h.address, h.identity) for h in hits
        ]
        if hits:
            break  # one inverter per port: its baud rate is found
    if bms:
        for baud in PYLONTECH_BAUDS[:1] if tcp else PYLONTECH_BAUDS:
            hits = await _pylontech_at(port, baud, timeout_s)
            found += [
                Found(h.device, h.port, None if tcp else baud, h.address, h.identity) for h in hits
            ]
            if hits:
                break
    return found
