"""host_tools/image.py: the firmware image header and the refusals before flashing."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from host_tools.image import HEADER_SIZE, ImageError, check_board, pack, parse

PAYLOAD = bytes(range(256)) * 40


def test_header_layout_is_the_documented_one():
    blob = pack(PAYLOAD, board_id=2, fw_version=0x0103)
    assert len(blob) == HEADER_SIZE + len(PAYLOAD) and HEADER_SIZE == 32
    magic, hv, hs, board, ver, length, crc, flags, _res, hcrc = struct.unpack(
        "<4sHHHHIIIII", blob[:32]
    )
    assert (magic, hv, hs, board, ver, length) == (b"EDGE", 1, 32, 2, 0x0103, len(PAYLOAD))
    assert crc == zlib.crc32(PAYLOAD) and flags == 0
    assert hcrc == zlib.crc32(blob[:28])
    header, payload = parse(blob)
    assert payload == PAYLOAD and header.version_text == "1.3"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b"ELF!" + b[4:], "not an edge firmware image"),
        (lambda b: b[:10] + b"\x09" + b[11:], "header is damaged"),
        (lambda b: b[:-1], "truncated or padded: the header says 10240 bytes, the file has 10239"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "the image is damaged: CRC-32 is 0x"),
    ],
)
def test_damaged_images_are_refused_with_the_reason(damage, message):
    with pytest.raises(ImageError, match=message):
        parse(damage(pack(PAYLOAD, 2, 0x0100)))


def test_an_image_for_another_board_is_refused():
    header, _ = parse(pack(PAYLOAD, 1, 0x0100))
    with pytest.raises(ImageError, match=r"for board id 1, the target is board id 2 \(g474-dab\)"):
        check_board(header, 2, "g474-dab")
    check_board(header, 1)


def test_cli_builds_and_checks_an_image(tmp_path: Path):
    out = tmp_path / "qemu.edgefw"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "host_tools",
            "image",
            "build",
            "--board",
            "qemu-mps2-an386",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "host_tools",
            "image",
            "check",
            str(out),
            "--board",
            "qemu-mps2-an386",
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "good image for qemu-mps2-an386" in ok.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "host_tools", "image", "check", str(out), "--board", "g474-dab"],
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 2
    assert "this image is for board id 1, the target is board id 2" in wrong.stderr
