"""The firmware image format: a 32-byte header in front of the raw binary.

    offset size  field
    0      4     magic b"EDGE"
    4      2     header version (1)
    6      2     header size (32)
    8      2     board id (board/<name>/board.json)
    10     2     firmware version, major * 256 + minor (EDGE_FW_VERSION in firmware_c/fw/fw.h)
    12     4     payload length in bytes
    16     4     payload CRC-32 (IEEE 802.3, as zlib.crc32)
    20     4     flags (bit 0: an Ed25519 signature follows the payload; none yet)
    24     4     reserved, 0
    28     4     CRC-32 of bytes 0..27

All little-endian. The flasher checks every field before it touches a board; a bad image
raises ImageError saying what is wrong and what to do.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError
from host_tools import firmware

MAGIC = b"EDGE"
HEADER = struct.Struct("<4sHHHHIIII")  # everything but the header CRC
HEADER_SIZE = HEADER.size + 4
VERSION = 1


class ImageError(EdgeError):
    """An image that must not be flashed; the message names the reason."""


@dataclass(frozen=True)
class ImageHeader:
    board_id: int
    fw_version: int
    length: int
    crc32: int
    flags: int = 0

    @property
    def version_text(self) -> str:
        return f"{self.fw_version >> 8}.{self.fw_version & 0xFF}"


def pack(payload: bytes, board_id: int, fw_version: int) -> bytes:
    head = HEADER.pack(
        MAGIC, VERSION, HEADER_SIZE, board_id, fw_version, len(payload), zlib.crc32(payload), 0, 0
    )
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def parse(blob: bytes) -> tuple[ImageHeader, bytes]:
    if len(blob) < HEADER_SIZE or blob[:4] != MAGIC:
        raise ImageError(
            "not an edge firmware image (no EDGE header): build one with "
            "`python -m host_tools image build --board NAME`"
        )
    _magic, version, size, board_id, fw_version, length, crc, flags, _ = HEADER.unpack(
        blob[: HEADER.size]
    )
    (head_crc,) = struct.unpack("<I", blob[HEADER.size : HEADER_SIZE])
    if zlib.crc32(blob[: HEADER.size]) != head_crc:
        raise ImageError(
            "the image header is damaged (header CRC-32 mismatch): fetch the file again"
        )
    if version != VERSION or size != HEADER_SIZE:
        raise ImageError(
            f"image header version {version} (size {size}) is not supported; "
            f"this tool reads version {VERSION}"
        )
    payload = blob[HEADER_SIZE:]
    if len(payload) != length:
        raise ImageError(
            f"the image is truncated or padded: the header says {length} bytes, "
            f"the file has {len(payload)}: fetch the file again"
        )
    actual = zlib.crc32(payload)
    if actual != crc:
        raise ImageError(
            f"the image is damaged: CRC-32 is 0x{actual:08X}, the header says "
            f"0x{crc:08X}: fetch or build the file again"
        )
    return ImageHeader(board_id, fw_version, length, crc, flags), payload


def check_board(header: ImageHeader, board_id: int, board_name: str = "") -> None:
    if header.board_id != board_id:
        raise ImageError(
            f"this image is for board id {header.board_id}, the target is board id "
            f"{board_id}{f' ({board_name})' if board_name else ''}: "
            "build the image for this board"
        )


def fw_version() -> int:
    text = (firmware.CORE / "fw" / "fw.h").read_text()
    m = re.search(r"#define EDGE_FW_VERSION 0x([0-9A-Fa-f]{4})u", text)
    if m is None:
        raise EdgeError("EDGE_FW_VERSION not found in firmware_c/fw/fw.h")
    return int(m.group(1), 16)


def build_image(board_name: str, out: Path) -> ImageHeader:
    """Build the board's firmware and write its image to `out`."""
    b = firmware.board(board_name)
    elf = firmware.build(board_name, out.parent / f"{board_name}-build")
    blob = pack(firmware.to_binary(elf), b.board_id, fw_version())
    out.write_bytes(blob)
    return parse(blob)[0]
