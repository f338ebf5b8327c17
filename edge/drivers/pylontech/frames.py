"""Pylon low-voltage RS485 protocol V3.3 frames, as data and pure functions.

Source: docs/reference/pylontech.md §1 (official RS485-protocol-pylon-low-voltage-V3.3,
python-pylontech). A frame is SOI '~', then hex-ASCII VER ADR CID1 CID2 LENGTH INFO CHKSUM,
then EOI CR. LENGTH = LCHKSUM(4 bits) << 12 | LENID (ASCII characters of INFO);
LCHKSUM = (-(sum of LENID's three nibbles)) mod 16; CHKSUM = (-(sum of the ASCII codes
between SOI and CHKSUM)) mod 65536.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

SOI, EOI = b"~", b"\r"
VER = 0x20
CID1_BATTERY = 0x46
TEMP_OFFSET = 2731  # temperatures in 0.1 K: degC = (raw - 2731) / 10


class Cmd(IntEnum):
    ANALOG = 0x42
    ALARM = 0x44
    SYSTEM_PARAMETERS = 0x47
    PROTOCOL_VERSION = 0x4F
    MANUFACTURER = 0x51
    CHARGE_MANAGEMENT = 0x92
    SERIAL_NUMBER = 0x93


class Rtn(IntEnum):
    NORMAL = 0x00
    VER_ERROR = 0x01
    CHKSUM_ERROR = 0x02
    LCHKSUM_ERROR = 0x03
    CID2_INVALID = 0x04
    FORMAT_ERROR = 0x05
    INFO_INVALID = 0x06


class FrameError(ValueError):
    """A frame that is not well formed; the message says what is wrong."""


@dataclass(frozen=True)
class Frame:
    ver: int
    adr: int
    cid1: int
    cid2: int  # the command in a request, RTN in a reply
    info: bytes


def length_field(lenid: int) -> int:
    if not 0 <= lenid <= 0xFFF:
        raise FrameError(f"INFO of {lenid} characters does not fit LENID")
    lchk = (-((lenid >> 8) + ((lenid >> 4) & 0xF) + (lenid & 0xF))) & 0xF
    return lchk << 12 | lenid


def checksum(body: bytes) -> int:
    return (-sum(body)) & 0xFFFF


def encode(frame: Frame) -> bytes:
    info = frame.info.hex().upper().encode()
    body = (
        f"{frame.ver:02X}{frame.adr:02X}{frame.cid1:02X}{frame.cid2:02X}"
        f"{length_field(len(info)):04X}"
    ).encode() + info
    return SOI + body + f"{checksum(body):04X}".encode() + EOI


def decode(raw: bytes) -> Frame:
    """Check SOI/EOI, the hex, LCHKSUM, LENID and CHKSUM; raise FrameError naming the fault."""
    raw = raw.strip(b"\n")
    if not raw.startswith(SOI) or not raw.endswith(EOI):
        raise FrameError("no SOI '~' / EOI CR around the frame")
    body, chk = raw[1:-5], raw[-5:-1]
    try:
        head = bytes.fromhex(body[:12].decode())
        length = int(body[8:12], 16)
        got = int(chk, 16)
        info = bytes.fromhex(body[12:].decode())
    except ValueError:
        raise FrameError("not hex-ASCII between SOI and EOI") from None
    if len(head) < 6:
        raise FrameError("frame shorter than its header")
    lenid = length & 0xFFF
    if length_field(lenid) != length:
        raise FrameError(f"LCHKSUM of LENGTH {length:04X} is wrong")
    if lenid != len(body) - 12:
        raise FrameError(f"LENID says {lenid} INFO characters, the frame has {len(body) - 12}")
    if checksum(body) != got:
        raise FrameError(f"CHKSUM {got:04X} is wrong (computed {checksum(body):04X})")
    return Frame(head[0], head[1], head[2], head[3], info)


def request(adr: int, cmd: Cmd, info: bytes | None = None) -> bytes:
    """A request; the per-module commands carry ADR as their one INFO byte (§1.4)."""
    return encode(Frame(VER, adr, CID1_BATTERY, int(cmd), bytes([adr]) if info is None else info))
