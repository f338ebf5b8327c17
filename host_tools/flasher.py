"""Flash a board through the STM32 ROM bootloader (AN3155) over its UART, safely.

Order: the image is checked (header, CRC-32, signature, board) before the board is
touched; the bootloader is entered (GPIO lines when configured, else instructions for the
person at the board); the MCU's product id must match the image's board; an installed
newer version is not replaced without --allow-downgrade; the pages are erased, the image
written with a progress bar and read back; its header goes to the board's info page; the
application is started and must answer over Modbus with the image's version and board id.
Any failure after erasing leaves the board in its bootloader, and the message says how to
retry. The bootloader protocol is stm32loader's (a well-kept implementation of AN3155).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import serial
from stm32loader.bootloader import CommandError, Stm32Bootloader
from tqdm import tqdm

from edge.errors import EdgeError
from host_tools import firmware
from host_tools.image import (
    HEADER_SIZE,
    ImageError,
    ImageHeader,
    header_bytes,
    parse_header,
    split,
    verify,
)

CHUNK = 256  # largest Write/Read Memory transfer (AN3155)


class FlashError(EdgeError):
    """Flashing stopped; the message says why and what to do."""


class BootControl(Protocol):
    def enter_bootloader(self) -> None: ...
    def run_application(self) -> None: ...


class ManualBoot:
    """No GPIO wired: the person at the board sets BOOT0 and presses reset."""

    def __init__(self, ask: Callable[[str], str] = input, out: Callable[[str], None] = print):
        self.ask = ask
        self.out = out

    def enter_bootloader(self) -> None:
        self.out(
            "To enter the bootloader:\n"
            "  1. set BOOT0 high (fit the BOOT0 jumper, or hold the BOOT0 button),\n"
            "  2. press and release RESET,\n"
            "  3. release the BOOT0 button (a jumper stays until the end)."
        )
        self.ask("Press Enter when done... ")

    def run_application(self) -> None:
        self.out(
            "Flashing done: remove the BOOT0 jumper so the board starts its firmware "
            "after the next reset."
        )


class GpioBoot:
    """BOOT0 and NRST on a Pi's GPIO lines through libgpiod (pip install gpiod, v2 API)."""

    def __init__(self, chip: str, boot0_line: int, nrst_line: int) -> None:
        try:
            import gpiod
            from gpiod.line import Direction, Value
        except ImportError as exc:
            raise FlashError(
                "GPIO boot control needs libgpiod's Python binding: "
                "pip install gpiod (or flash without --gpio-chip)"
            ) from exc
        self._value = Value
        settings = gpiod.LineSettings(direction=Direction.OUTPUT, output_value=Value.INACTIVE)
        reset = gpiod.LineSettings(
            direction=Direction.OUTPUT, output_value=Value.INACTIVE, active_low=True
        )  # NRST is active low
        self._lines = gpiod.request_lines(
            chip, consumer="edge-flash", config={boot0_line: settings, nrst_line: reset}
        )
        self.boot0, self.nrst = boot0_line, nrst_line

    def _reset(self) -> None:
        self._lines.set_value(self.nrst, self._value.ACTIVE)
        time.sleep(0.05)
        self._lines.set_value(self.nrst, self._value.INACTIVE)
        time.sleep(0.2)

    def enter_bootloader(self) -> None:
        self._lines.set_value(self.boot0, self._value.ACTIVE)
        self._reset()

    def run_application(self) -> None:
        self._lines.set_value(self.boot0, self._value.INACTIVE)
        self._reset()


@dataclass(frozen=True)
class FlashResult:
    header: ImageHeader
    bytes_written: int
    seconds: float
    confirmed_version: int


def board_for(h: ImageHeader) -> firmware.Board:
    for folder in sorted(firmware.BOARDS.iterdir()):
        if (folder / "board.json").exists():
            b = firmware.board(folder.name)
            if b.board_id == h.board_id:
                if "stm32" not in b.data:
                    raise FlashError(
                        f"the image is for board id {h.board_id} ({b.name}), which "
                        "has no STM32 bootloader to flash through"
                    )
                return b
    raise FlashError(f"the image is for board id {h.board_id}, which no board folder describes")


def _retry_hint(image: Path, port: str) -> str:
    return (
        f"the board is left in its bootloader; retry with: "
        f"python -m host_tools flash {image} --port {port}"
    )


def _confirm_over_modbus(port: str, baud: int, slave: int, timeout_s: float) -> tuple[int, int]:
    from pymodbus.client import ModbusSerialClient
    from pymodbus.framer import FramerType

    from edge.drivers.dab import registers as reg

    client = ModbusSerialClient(port, framer=FramerType.RTU, baudrate=baud, timeout=0.5, retries=0)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if client.connect():
                try:
                    r = client.read_holding_registers(
                        reg.HOLD_FIRMWARE_VERSION, count=2, device_id=slave
                    )
                    if not r.isError():
                        return int(r.registers[0]), int(r.registers[1])
                except Exception:  # any link trouble right after the start: ask again
                    pass
            time.sleep(0.2)
    finally:
        client.close()  # type: ignore[no-untyped-call]
    raise FlashError(
        f"the board was flashed and started, but does not answer over Modbus on "
        f"{port} within {timeout_s:g} s: check the firmware's slave id and baud rate"
    )


def flash(
    image: Path,
    port: str,
    *,
    boot: BootControl,
    trusted_keys: list[Any],
    allow_unsigned: bool = False,
    allow_downgrade: bool = False,
    baud: int = 115200,
    parity: str = serial.PARITY_EVEN,
    modbus_baud: int = 115200,
    modbus_slave: int = 1,
    confirm_timeout_s: float = 10.0,
    timeout_s: float = 1.0,
    progress: bool = True,
    out: Callable[[str], None] = print,
) -> FlashResult:
    blob = image.read_bytes()
    h, payload, signature = split(blob)  # ImageError on a bad header, length or CRC-32
    if signature is None and not allow_unsigned:
        verify(blob, trusted_keys)  # raises with the message that says what to do
    if signature is not None:
        verify(blob, trusted_keys)
        out(f"{image}: signature verified")
    b = board_for(h)
    stm = b.data["stm32"]
    base, info = int(stm["flash_base"]), int(stm["info_address"])
    if len(payload) > info - base:
        raise FlashError(
            f"the image ({len(payload)} bytes) does not fit below the info page at 0x{info:08X}"
        )
    out(
        f"{image}: board {b.name} (id {h.board_id}), firmware {h.version_text}, "
        f"{len(payload)} bytes"
    )
    boot.enter_bootloader()
    try:
        # The ROM bootloader speaks 8E1 (AN3155 §1); a pseudo-terminal cannot hold even parity.
        conn = serial.Serial(port, baud, parity=parity, timeout=timeout_s)
    except serial.SerialException as exc:
        raise FlashError(f"cannot open {port}: {exc}") from None
    t0 = time.monotonic()
    try:
        bl = Stm32Bootloader(conn, verbosity=0)
        try:
            bl.reset_from_system_memory()
            bl.get()
            pid = bl.get_id()
        except (CommandError, serial.SerialException) as exc:
            raise FlashError(
                f"the board does not answer its bootloader on {port} ({exc}): "
                "check the wiring (TX/RX crossed, ground), BOOT0 high during reset, "
                "then retry"
            ) from None
        if pid != int(stm["pid"]):
            raise FlashError(
                f"the connected MCU reports product id 0x{pid:03X}, but the image is "
                f"for {b.name} (product id 0x{int(stm['pid']):03X}): wrong board"
            )
        try:
            installed = parse_header(bytes(bl.read_memory(info, HEADER_SIZE)))
        except ImageError:
            installed = None
        if installed is not None and installed.board_id != h.board_id:
            # Same MCU, another board design (pins, sensors): its firmware would drive the
            # wrong outputs.
            raise FlashError(
                f"the board runs firmware for board id {installed.board_id}, this image is for "
                f"board id {h.board_id} ({b.name}): wrong board"
            )
        if (
            installed is not None
            and installed.board_id == h.board_id
            and installed.fw_version > h.fw_version
            and not allow_downgrade
        ):
            raise FlashError(
                f"the board runs firmware {installed.version_text}, newer than this "
                f"image's {h.version_text}: pass --allow-downgrade to go back"
            )
        page = int(stm["page_size"])
        pages = [*range(-(-len(payload) // page)), (info - base) // page]
        try:
            bl.extended_erase_memory(pages)
            with tqdm(
                total=len(payload), unit="B", unit_scale=True, desc="writing", disable=not progress
            ) as bar:
                for offset in range(0, len(payload), CHUNK):
                    chunk = payload[offset : offset + CHUNK]
                    try:
                        bl.write_memory(base + offset, chunk)
                    except (CommandError, serial.SerialException) as exc:
                        raise FlashError(
                            f"the connection failed while writing 0x{base + offset:08X}"
                            f" ({exc}): {_retry_hint(image, port)}"
                        ) from None
                    bar.update(len(chunk))
            back = bytearray()
            with tqdm(
                total=len(payload),
                unit="B",
                unit_scale=True,
                desc="verifying",
                disable=not progress,
            ) as bar:
                for offset in range(0, len(payload), CHUNK):
                    n = min(CHUNK, len(payload) - offset)
                    back += bl.read_memory(base + offset, n)
                    bar.update(n)
        except CommandError as exc:
            raise FlashError(
                f"the bootloader refused ({exc}): {_retry_hint(image, port)}"
            ) from None
        if bytes(back) != payload:
            at = next(k for k in range(len(payload)) if back[k] != payload[k])
            raise FlashError(
                f"verify failed: 0x{base + at:08X} reads 0x{back[at]:02X}, the "
                f"image has 0x{payload[at]:02X}; {_retry_hint(image, port)}"
            )
        head = header_bytes(h)
        bl.write_memory(info, head)
        if bytes(bl.read_memory(info, HEADER_SIZE)) != head:
            raise FlashError(f"verify of the info page failed; {_retry_hint(image, port)}")
        bl.go(base)
    finally:
        conn.close()
    boot.run_application()
    seconds = time.monotonic() - t0
    version, board_id = _confirm_over_modbus(port, modbus_baud, modbus_slave, confirm_timeout_s)
    if (version, board_id) != (h.fw_version, h.board_id):
        raise FlashError(
            f"the board answers with firmware {version >> 8}.{version & 0xFF} and "
            f"board id {board_id}, expected {h.version_text} and {h.board_id}"
        )
    out(
        f"flashed and verified {len(payload)} bytes in {seconds:.1f} s; the board answers "
        f"with firmware {h.version_text}"
    )
    return FlashResult(h, len(payload), seconds, version)
