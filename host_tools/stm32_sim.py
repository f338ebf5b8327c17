"""An emulated STM32 with its ROM bootloader on a pseudo-terminal, built from ST AN3155
("USART protocol used in the STM32 bootloader"): synchronisation (0x7F), Get (0x00), Get
Version (0x01), Get ID (0x02), Read Memory (0x11), Go (0x21), Write Memory (0x31) and
Extended Erase (0x44); ACK 0x79, NACK 0x1F; XOR checksums; flash behind it that an erase
sets to 0xFF and a write can only clear bits of, as real flash.

After Go (or a reset with BOOT0 low and a valid image installed) it runs "the application":
the DAB board's own C Modbus slave, reporting the firmware version and board id of the
image header the flasher stored in the info page. BOOT0 and NRST are methods, as a Pi's
GPIO lines would drive them. For tests, `deaf_at` makes it stop answering when a write
reaches that address, as a cable pulled out in the middle of a write would.
"""

from __future__ import annotations

import os
import select
import termios
import threading
import time
import tty
from functools import reduce
from operator import xor

from host_tools.image import HEADER_SIZE, ImageError, parse_header

ACK, NACK = 0x79, 0x1F
BOOTLOADER_VERSION = 0x31
COMMANDS = [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44]


class EmulatorBoot:
    """BootControl for the emulator: what a Pi's BOOT0 and NRST lines would do."""

    def __init__(self, emu: Stm32Emulator) -> None:
        self.emu = emu

    def enter_bootloader(self) -> None:
        self.emu.reset(boot0=True)

    def run_application(self) -> None:
        self.emu.reset(boot0=False)


class Stm32Emulator:
    def __init__(
        self,
        pid: int = 0x469,
        flash_base: int = 0x08000000,
        flash_size: int = 512 * 1024,
        page_size: int = 2048,
        info_address: int = 0x0807F800,
    ) -> None:
        self.pid = pid
        self.flash_base = flash_base
        self.flash = bytearray(b"\xff" * flash_size)
        self.page_size = page_size
        self.info_address = info_address
        self.mode = "off"  # "bootloader" | "app" | "off" (no valid image) | "deaf"
        self.deaf_at: int | None = None
        self.stuck_byte_at: int | None = None  # a flash cell that always reads 0x00
        self.writes = 0
        self.log: list[str] = []
        self._master, slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave  # kept open so the pty lives while clients come and go
        self._lock = threading.Lock()
        self._buf = bytearray()
        self._synced = False
        self._stop = threading.Event()
        self._app_slave: object | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # ---- the lines a Pi would drive -----------------------------------------------
    def reset(self, boot0: bool) -> None:
        """Pulse NRST with BOOT0 high (bootloader) or low (the application)."""
        with self._lock:
            self._buf.clear()
            termios.tcflush(self._master, termios.TCIFLUSH)
            self._synced = False
            self.mode = "bootloader" if boot0 else self._app_mode()
            self.log.append(f"reset boot0={int(boot0)} -> {self.mode}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self._master)
        os.close(self._slave)

    # ---- byte I/O -------------------------------------------------------------------
    def _fill(self, timeout_s: float) -> bool:
        r, _, _ = select.select([self._master], [], [], timeout_s)
        if not r:
            return False
        try:
            data = os.read(self._master, 4096)
        except OSError:
            return False
        if self.mode == "deaf":
            return True  # bytes into a pulled cable
        self._buf.extend(data)
        return True

    def _read(self, n: int, timeout_s: float = 2.0) -> bytes | None:
        deadline = time.monotonic() + timeout_s
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                return None
            self._fill(min(left, 0.05))
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _send(self, data: bytes | int) -> None:
        if self.mode == "deaf":
            return
        os.write(self._master, bytes([data]) if isinstance(data, int) else data)

    # ---- the application ----------------------------------------------------------
    def installed_header(self):  # -> ImageHeader | None
        at = self.info_address - self.flash_base
        try:
            return parse_header(bytes(self.flash[at : at + HEADER_SIZE]))
        except ImageError:
            return None

    def _app_mode(self) -> str:
        h = self.installed_header()
        if h is None:
            return "off"
        payload = bytes(self.flash[: h.length])
        import zlib

        return "app" if zlib.crc32(payload) == h.crc32 else "off"

    def _serve_app(self) -> None:
        from edge.ccore import Sim, Slave

        if self._app_slave is None:
            h = self.installed_header()
            slave = Slave(Sim(n_units=1).units[0], address=1, board_id=h.board_id if h else 0)
            slave.dev.fw_version = h.fw_version if h else 0
            self._app_slave = slave
        if not self._buf and not self._fill(0.05):
            return
        while self._fill(0.002):  # the frame ends after silence
            pass
        frame, self._buf = bytes(self._buf), bytearray()
        answer = self._app_slave.frame(frame)  # type: ignore[attr-defined]
        if answer:
            self._send(answer)

    # ---- the bootloader ---------------------------------------------------------
    def _address(self) -> int | None:
        raw = self._read(5)
        if raw is None or reduce(xor, raw[:4]) != raw[4]:
            return None
        return int.from_bytes(raw[:4], "big")

    def _in_flash(self, address: int, n: int) -> bool:
        return self.flash_base <= address and address + n <= self.flash_base + len(self.flash)

    def _command(self, cmd: int) -> None:
        if cmd == 0x00:  # Get
            self._send(bytes([ACK, len(COMMANDS), BOOTLOADER_VERSION, *COMMANDS, ACK]))
        elif cmd == 0x01:  # Get Version
            self._send(bytes([ACK, BOOTLOADER_VERSION, 0, 0, ACK]))
        elif cmd == 0x02:  # Get ID
            self._send(bytes([ACK, 1, self.pid >> 8, self.pid & 0xFF, ACK]))
        elif cmd == 0x11:  # Read Memory
            self._send(ACK)
            address = self._address()
            if address is None:
                self._send(NACK)
                return
            self._send(ACK)
            n = self._read(2)
            if n is None or n[0] ^ n[1] != 0xFF or not self._in_flash(address, n[0] + 1):
                self._send(NACK)
                return
            self._send(ACK)
            at = address - self.flash_base
            self._send(bytes(self.flash[at : at + n[0] + 1]))
        elif cmd == 0x21:  # Go
            self._send(ACK)
            address = self._address()
            if address is None or address != self.flash_base:
                self._send(NACK)
                return
            self._send(ACK)
            self.mode = self._app_mode()
            self._app_slave = None
            self.log.append(f"go -> {self.mode}")
        elif cmd == 0x31:  # Write Memory
            self._send(ACK)
            address = self._address()
            if address is None or address % 4:
                self._send(NACK)
                return
            self._send(ACK)
            if self.deaf_at is not None and address >= self.deaf_at:
                self.mode = "deaf"  # the cable is pulled here
                self.log.append(f"deaf at 0x{address:08X}")
                return
            n = self._read(1)
            if n is None:
                return
            data = self._read(n[0] + 1)
            check = self._read(1)
            if (
                data is None
                or check is None
                or reduce(xor, data, n[0]) != check[0]
                or (n[0] + 1) % 4
                or not self._in_flash(address, n[0] + 1)
            ):
                self._send(NACK)
                return
            at = address - self.flash_base
            for k, b in enumerate(data):
                self.flash[at + k] &= b  # programming only clears bits
            if self.stuck_byte_at is not None and 0 <= self.stuck_byte_at - address < len(data):
                self.flash[self.stuck_byte_at - self.flash_base] = 0x00
            self.writes += 1
            self._send(ACK)
        elif cmd == 0x44:  # Extended Erase
            self._send(ACK)
            head = self._read(2)
            if head is None:
                return
            count = int.from_bytes(head, "big")
            if count >= 0xFFF0:  # special erase: 0xFFFF mass erase
                check = self._read(1)
                if check is None or check[0] != head[0] ^ head[1] or count != 0xFFFF:
                    self._send(NACK)
                    return
                self.flash[:] = b"\xff" * len(self.flash)
                self._send(ACK)
                return
            pages = self._read(2 * (count + 1))
            check = self._read(1)
            if pages is None or check is None or reduce(xor, head + pages) != check[0]:
                self._send(NACK)
                return
            for k in range(count + 1):
                page = int.from_bytes(pages[2 * k : 2 * k + 2], "big")
                start = page * self.page_size
                if start + self.page_size > len(self.flash):
                    self._send(NACK)
                    return
                self.flash[start : start + self.page_size] = b"\xff" * self.page_size
            self._send(ACK)
        else:
            self._send(NACK)

    def _serve_bootloader(self) -> None:
        first = self._read(1, timeout_s=0.05)
        if first is None:
            return
        if first[0] == 0x7F:  # synchronisation: ACK the first, NACK later ones (AN3155 §2)
            self._send(NACK if self._synced else ACK)
            self._synced = True
            return
        if not self._synced:
            return  # the bootloader ignores everything before 0x7F
        second = self._read(1)
        if second is None or first[0] ^ second[0] != 0xFF:
            self._send(NACK)
            return
        self._command(first[0])

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                mode = self.mode
                if mode == "bootloader":
                    self._serve_bootloader()
                elif mode == "app":
                    self._serve_app()
                else:
                    self._fill(0.05)  # off or deaf: bytes vanish
                    self._buf.clear()
            time.sleep(0)
