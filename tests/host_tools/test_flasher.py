"""host_tools/flasher.py and stm32_sim.py: the emulated STM32 bootloader (AN3155) on a
pseudo-terminal, checked with Debian's stm32flash as an independent client, then our
flasher end to end and every refusal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from host_tools import image
from host_tools.flasher import FlashError, flash
from host_tools.image import ImageError, pack, split
from host_tools.stm32_sim import EmulatorBoot, Stm32Emulator

G474_ID = 2


@pytest.fixture
def emu() -> Iterator[Stm32Emulator]:
    e = Stm32Emulator()
    try:
        yield e
    finally:
        e.close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[object, object, Path]:
    d = tmp_path_factory.mktemp("keys")
    private, public = image.generate_keys(d)
    return image.load_private_key(private), image.load_public_key(public), public


def release(
    tmp_path: Path,
    keys,
    version: int = 0x0100,
    payload: bytes | None = None,
    name: str = "fw.edgefw",
) -> Path:
    """A signed image for the g474-dab board (the emulator plays its bootloader)."""
    private, _public, _path = keys
    blob = pack(payload if payload is not None else os.urandom(9000), G474_ID, version)
    out = tmp_path / name
    out.write_bytes(image.sign(blob, private))
    return out


def do_flash(emu: Stm32Emulator, path: Path, keys, **kw):
    _private, public, _path = keys
    return flash(
        path,
        emu.port,
        boot=EmulatorBoot(emu),
        trusted_keys=[public],
        parity="N",
        progress=False,
        out=lambda _line: None,
        **kw,
    )


def test_stm32flash_writes_and_reads_back_through_the_emulator(emu, tmp_path: Path):
    data = os.urandom(6000)
    src, back = tmp_path / "in.bin", tmp_path / "out.bin"
    src.write_bytes(data)
    emu.reset(boot0=True)
    w = subprocess.run(
        [
            "stm32flash",
            "-b",
            "115200",
            "-m",
            "8n1",
            "-w",
            str(src),
            "-v",
            "-S",
            "0x08000000",
            emu.port,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert w.returncode == 0, w.stdout + w.stderr
    assert "Wrote and verified" in w.stdout
    emu.reset(boot0=True)
    r = subprocess.run(
        [
            "stm32flash",
            "-b",
            "115200",
            "-m",
            "8n1",
            "-r",
            str(back),
            "-S",
            "0x08000000:6000",
            emu.port,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert back.read_bytes() == data
    assert "0x0469" in w.stdout  # Get ID: the G474's product id


def test_flash_end_to_end_and_the_board_answers_with_the_new_version(emu, tmp_path, keys):
    path = release(tmp_path, keys, version=0x0102)
    _h, payload, _sig = split(path.read_bytes())
    result = do_flash(emu, path, keys)
    assert bytes(emu.flash[: len(payload)]) == payload
    assert emu.installed_header().fw_version == 0x0102
    assert result.confirmed_version == 0x0102  # read over Modbus from the started application
    assert emu.mode == "app"


def test_a_cut_connection_fails_clearly_and_a_retry_recovers(emu, tmp_path, keys):
    path = release(tmp_path, keys)
    emu.deaf_at = 0x08000800  # the cable is pulled after 2 KiB
    with pytest.raises(
        FlashError,
        match=r"connection failed while writing 0x08000800.*"
        r"left in its bootloader; retry with: python -m "
        r"host_tools flash",
    ):
        do_flash(emu, path, keys)
    emu.deaf_at = None  # plugged back in; the retry resets into the bootloader
    do_flash(emu, path, keys)
    assert emu.mode == "app"


def test_a_verify_mismatch_leaves_the_board_in_its_bootloader(emu, tmp_path, keys):
    path = release(tmp_path, keys, payload=b"\x5a" * 4096)
    emu.stuck_byte_at = 0x08000123
    with pytest.raises(
        FlashError,
        match=r"verify failed: 0x08000123 reads 0x00, the image has "
        r"0x5A; the board is left in its bootloader",
    ):
        do_flash(emu, path, keys)
    assert emu.mode == "bootloader"
    assert emu.installed_header() is None  # no info page: it will not boot this image
    emu.stuck_byte_at = None
    do_flash(emu, path, keys)


def test_a_downgrade_needs_its_flag(emu, tmp_path, keys):
    do_flash(emu, release(tmp_path, keys, version=0x0102, name="new.edgefw"), keys)
    older = release(tmp_path, keys, version=0x0101, name="old.edgefw")
    newer_installed = r"runs firmware 1\.2, newer than this image's 1\.1: pass --allow-downgrade"
    with pytest.raises(FlashError, match=newer_installed):
        do_flash(emu, older, keys)
    do_flash(emu, older, keys, allow_downgrade=True)
    assert emu.installed_header().fw_version == 0x0101


def test_a_board_that_does_not_answer(emu, tmp_path, keys):
    class NoBoot:
        def enter_bootloader(self) -> None:
            pass  # BOOT0 was never set: the MCU is not in its bootloader

        def run_application(self) -> None:
            pass

    _private, public, _path = keys
    with pytest.raises(FlashError, match=r"does not answer its bootloader on .*check the wiring"):
        flash(
            release(tmp_path, keys),
            emu.port,
            boot=NoBoot(),
            trusted_keys=[public],
            parity="N",
            progress=False,
            out=lambda _l: None,
        )


def test_wrong_board_refusals(tmp_path, keys):
    other = Stm32Emulator(pid=0x413)  # an STM32F405
    try:
        with pytest.raises(
            FlashError,
            match=r"reports product id 0x413, but the image is for "
            r"g474-dab .product id 0x469.: wrong board",
        ):
            do_flash(other, release(tmp_path, keys), keys)
    finally:
        other.close()
    # Same MCU, another board design: the installed image's board id says so.
    same_mcu = Stm32Emulator()
    try:
        foreign = pack(b"\x00" * 64, 7, 0x0100)
        at = same_mcu.info_address - same_mcu.flash_base
        same_mcu.flash[at : at + 32] = foreign[:32]
        with pytest.raises(
            FlashError,
            match=r"runs firmware for board id 7, this image is for "
            r"board id 2 \(g474-dab\): wrong board",
        ):
            do_flash(same_mcu, release(tmp_path, keys), keys)
        assert same_mcu.writes == 0
    finally:
        same_mcu.close()
    qemu_image = tmp_path / "qemu.edgefw"
    qemu_image.write_bytes(pack(b"\x00" * 64, 1, 0x0100))
    with pytest.raises(FlashError, match=r"board id 1 .qemu-mps2-an386., which has no STM32"):
        flash(
            qemu_image,
            "/dev/null",
            boot=EmulatorBoot(None),
            trusted_keys=[],  # type: ignore[arg-type]
            allow_unsigned=True,
            out=lambda _l: None,
        )


def test_bad_crc_and_signature_refusals(emu, tmp_path, keys):
    good = release(tmp_path, keys).read_bytes()
    bad_crc = tmp_path / "bad.edgefw"
    bad_crc.write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])
    with pytest.raises(ImageError, match="the image is damaged: CRC-32"):
        do_flash(emu, bad_crc, keys)
    unsigned = tmp_path / "unsigned.edgefw"
    unsigned.write_bytes(pack(os.urandom(512), G474_ID, 0x0100))
    with pytest.raises(ImageError, match=r"not signed.*--allow-unsigned"):
        do_flash(emu, unsigned, keys)
    stranger = image.generate_keys(tmp_path / "other")[0]
    forged = tmp_path / "forged.edgefw"
    forged.write_bytes(
        image.sign(pack(os.urandom(512), G474_ID, 0x0100), image.load_private_key(stranger))
    )
    with pytest.raises(ImageError, match="does not verify with any trusted key"):
        do_flash(emu, forged, keys)
    assert emu.writes == 0  # none of them touched the board
    do_flash(emu, unsigned, keys, allow_unsigned=True)


def test_cli_generates_keys_signs_and_flashes(emu, tmp_path: Path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "host_tools", *args], capture_output=True, text=True, timeout=120
        )

    assert run("keys", "generate", "--out", str(tmp_path / "k")).returncode == 0
    img = tmp_path / "fw.edgefw"
    img.write_bytes(pack(os.urandom(3000), G474_ID, 0x0100))
    assert run("sign", str(img), "--key", str(tmp_path / "k" / "edge-signing.key")).returncode == 0
    emu.reset(boot0=True)  # the person at the board did what the instructions say
    p = run(
        "flash",
        str(img),
        "--port",
        emu.port,
        "--parity",
        "N",
        "--yes",
        "--trusted-key",
        str(tmp_path / "k" / "edge-signing.pub"),
    )
    assert p.returncode == 0, p.stderr
    assert "set BOOT0 high" in p.stdout and "signature verified" in p.stdout
    assert "the board answers with firmware 1.0" in p.stdout
    refused = run("flash", str(img), "--port", emu.port, "--parity", "N", "--yes")
    assert refused.returncode == 2
    assert "no trusted key is given: pass --trusted-key" in refused.stderr
