"""Sofar HYD-EP driver (G3 protocol, registers in edge/drivers/sofar/g3.py): the same
polling, deadband, refresh and write budget as the ME3000SP driver; reads in blocks and
passive control through FC 0x10 register writes instead of the 0x42/0x49 functions.

The mode register (EEPROM) is read at start-up and written only when the mode changes;
entering passive mode sets the passive timeout first (inverter.g3_passive_timeout_s, with
"return to the previous mode" as its action), so a supervisor that dies leaves the inverter
in self-use. The power registers are refreshed every inverter.refresh_s, well inside it.
"""

from __future__ import annotations

from typing import Any

from edge.core.model import InverterCommand, InverterMode
from edge.drivers.sofar import g3
from edge.drivers.sofar import registers as reg
from edge.drivers.sofar.driver import SofarDriver


class SofarG3Driver(SofarDriver):
    label = "inverter (HYD-EP)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mode_register: int | None = None  # the inverter's 0x1110, last read or written
        self.mode_writes = 0  # writes of the EEPROM-backed mode register

    async def identify(self) -> None:
        self.serial = reg.decode_serial(
            await self.read(3, g3.SERIAL.start, g3.SERIAL.count, "serial number")
        )
        (self.mode_register,) = await self.read(3, g3.REG_MODE, 1, "energy-storage mode")
        self.log.info(
            "HYD-EP inverter at %s: serial %s, energy-storage mode %d",
            self.port,
            self.serial,
            self.mode_register,
        )

    async def _read_blocks(self, blocks: tuple[g3.Block, ...]) -> dict[str, float]:
        reads = {}
        for b in blocks:
            reads[b] = await self.read(3, b.start, b.count, f"registers 0x{b.start:04X}")
        return g3.decode_blocks(reads)

    async def read_live(self) -> reg.SofarLive:
        live = g3.live(await self._read_blocks(g3.FULL_BLOCKS))
        (mode,) = await self.read(3, g3.REG_MODE, 1, "energy-storage mode")
        if self.mode_register is not None and mode != self.mode_register:
            # The passive timeout ran out, or someone changed the mode at the inverter: the
            # current command goes out again at the next decision.
            self.log.warning(
                "HYD-EP energy-storage mode is %d, expected %d; sending the command again",
                mode,
                self.mode_register,
            )
            self._last_sent = None
        self.mode_register = mode
        return live

    async def read_powers(self) -> reg.SofarPowers:
        return g3.powers(await self._read_blocks(g3.FAST_BLOCKS))

    async def heartbeat(self) -> None:
        """G3 has no heartbeat function: the passive timeout and refresh stand in for it."""

    async def _write(self, address: int, values: list[int], what: str) -> str | None:
        """One FC 0x10 write, even of one register (§4.2: FC 0x06 is unreliable on G3);
        None, or why the inverter refused it."""
        r = await self.write_registers(address, values)  # counted on the link
        return f"{what}: {r}" if r.isError() else None

    async def _set_mode(self, mode: int) -> tuple[int, str | None]:
        sent = 0
        if mode == g3.MODE_PASSIVE:
            sent += 1
            why = await self._write(
                g3.REG_PASSIVE_TIMEOUT,
                [round(self.cfg.g3_passive_timeout_s), g3.TIMEOUT_ACTION_PREVIOUS_MODE],
                "passive timeout 0x1184",
            )
            if why is not None:
                return sent, why
        why = await self._write(g3.REG_MODE, [mode], "energy-storage mode 0x1110")
        self.mode_writes += 1
        if why is None:
            self.mode_register = mode
        return sent + 1, why

    async def send(self, command: InverterCommand) -> tuple[int, str | None]:
        if command.mode is InverterMode.SELF_USE:
            if self.mode_register == g3.MODE_SELF_USE:
                return 0, None
            return await self._set_mode(g3.MODE_SELF_USE)
        sent = 0
        if self.mode_register != g3.MODE_PASSIVE:
            sent, why = await self._set_mode(g3.MODE_PASSIVE)
            if why is not None:
                return sent, why
        why = await self._write(
            g3.REG_PASSIVE_POWER,
            g3.passive_power_registers(command.battery_power_w),
            "passive power 0x1187-0x118C",
        )
        return sent + 1, why

    def on_lost(self) -> None:
        super().on_lost()
        self.mode_register = None  # read again after reconnecting
        self.identified = False
