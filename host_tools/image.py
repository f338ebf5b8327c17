"""The firmware image format: a 32-byte header in front of the raw binary.

    offset size  field
    0      4     magic b"EDGE"
    4      2     header version (1)
    6      2     header size (32)
    8      2     board id (board/<name>/board.json)
    10     2     firmware version, major * 256 + minor (EDGE_FW_VERSION in firmware_c/fw/fw.h)
    12     4     payload length in bytes
    16     4     payload CRC-32 (IEEE 802.3, as zlib.crc32)
    20     4     flags (bit 0: a 64-byte Ed25519 signature over header + payload follows it)
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

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.errors import EdgeError
from host_tools import firmware

MAGIC = b"EDGE"
HEADER = struct.Struct("<4sHHHHIIII")  # everything but the header CRC
HEADER_SIZE = HEADER.size + 4
VERSION = 1
FLAG_SIGNED = 0x1
SIGNATURE_SIZE = 64


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
    def signed(self) -> bool:
        return bool(self.flags & FLAG_SIGNED)

    @property
    def version_text(self) -> str:
        return f"{self.fw_version >> 8}.{self.fw_version & 0xFF}"


def pack(payload: bytes, board_id: int, fw_version: int) -> bytes:
    head = HEADER.pack(
        MAGIC, VERSION, HEADER_SIZE, board_id, fw_version, len(payload), zlib.crc32(payload), 0, 0
    )
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def parse_header(blob: bytes) -> ImageHeader:
    """The header alone (the first 32 bytes), checked; the payload is not looked at."""
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
    return ImageHeader(board_id, fw_version, length, crc, flags)


def split(blob: bytes) -> tuple[ImageHeader, bytes, bytes | None]:
    """Header, payload and signature (None when unsigned), every length and CRC checked."""
    h = parse_header(blob)
    signature_size = SIGNATURE_SIZE if h.signed else 0
    payload = blob[HEADER_SIZE : HEADER_SIZE + h.length]
    if len(blob) != HEADER_SIZE + h.length + signature_size:
        raise ImageError(
            f"the image is truncated or padded: the header says {h.length} bytes"
            f"{' and a signature' if h.signed else ''}, the file has "
            f"{len(blob) - HEADER_SIZE}: fetch the file again"
        )
    actual = zlib.crc32(payload)
    if actual != h.crc32:
        raise ImageError(
            f"the image is damaged: CRC-32 is 0x{actual:08X}, the header says "
            f"0x{h.crc32:08X}: fetch or build the file again"
        )
    return h, payload, blob[HEADER_SIZE + h.length :] if h.signed else None


def parse(blob: bytes) -> tuple[ImageHeader, bytes]:
    h, payload, _signature = split(blob)
    return h, payload


def _header_bytes(h: ImageHeader) -> bytes:
    head = HEADER.pack(
        MAGIC, VERSION, HEADER_SIZE, h.board_id, h.fw_version, h.length, h.crc32, h.flags, 0
    )
    return head + struct.pack("<I", zlib.crc32(head))


def header_bytes(h: ImageHeader) -> bytes:
    """The 32 header bytes of h (what the flasher stores in the board's info page)."""
    return _header_bytes(h)


def sign(blob: bytes, private_key: Ed25519PrivateKey) -> bytes:
    """The image with the signed flag set and an Ed25519 signature over header + payload."""
    h, payload, signature = split(blob)
    if signature is not None:
        raise ImageError("the image is already signed")
    signed = ImageHeader(h.board_id, h.fw_version, h.length, h.crc32, h.flags | FLAG_SIGNED)
    body = _header_bytes(signed) + payload
    return body + private_key.sign(body)


def verify(blob: bytes, trusted: list[Ed25519PublicKey]) -> ImageHeader:
    """Check the signature against the trusted keys; raise ImageError if none verifies."""
    h, _payload, signature = split(blob)
    if signature is None:
        raise ImageError(
            "the image is not signed: sign it (`python -m host_tools sign IMAGE --key KEY`) "
            "or pass --allow-unsigned to flash it anyway"
        )
    if not trusted:
        raise ImageError("the image is signed, but no trusted key is given: pass --trusted-key PUB")
    body = blob[: HEADER_SIZE + h.length]
    for key in trusted:
        try:
            key.verify(signature, body)
            return h
        except InvalidSignature:
            continue
    raise ImageError(
        "the image's signature does not verify with any trusted key: it was changed after "
        "signing, or signed with another key; do not flash it"
    )


def generate_keys(out_dir: Path, name: str = "edge-signing") -> tuple[Path, Path]:
    """A new Ed25519 key pair as PEM files: NAME.key (private, mode 0600) and NAME.pub."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private = out_dir / f"{name}.key"
    public = out_dir / f"{name}.pub"
    if private.exists():
        raise ImageError(f"{private} exists: refusing to overwrite a signing key")
    private.touch(mode=0o600)
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImageError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ImageError(f"{path} is not an Ed25519 public key")
    return key


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
