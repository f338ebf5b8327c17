"""Sofar ME3000SP driver: the live block in one request (every full_read_s, and the
powers alone on the polls between), the heartbeat, and the passive-mode commands (0x42),
sent only when they change beyond the deadband or are due for a refresh. The inverter's
mode is not touched before the first full read."""

from __future__ import annotations

from dataclasses import dataclass

from edge.clock import Clock
from edge.config import InverterConfig
from edge.core.model import InverterCommand, InverterMode, InverterReading
from edge.drivers.budget import Gate, WriteBudget
from edge.drivers.modbus_link import LINK_ERRORS, ModbusDevice
from edge.drivers.sofar import registers as reg
from edge.drivers.sofar.pdu import (
    STANDBY_MAGIC,
    HeartbeatRequest,
    HeartbeatResponse,
    PassiveCmd,
    PassiveRequest,
    PassiveResponse,
    PassiveResult,
)


def passive_frame_args(cmd: InverterCommand) -> tuple[int, int]:
    """(0x42 'register', value) for a command; + battery power = discharge."""
    if cmd.mode is InverterMode.SELF_USE:
        return PassiveCmd.AUTO, 0
    w = round(cmd.battery_power_w)
    if w > 0:
        return PassiveCmd.DISCHARGE, w
    if w < 0:
        return PassiveCmd.CHARGE, -w
    return PassiveCmd.STANDBY, STANDBY_MAGIC


@dataclass
class WriteStats:
    total: int = 0
    refused: int = 0  # by the inverter


class SofarDriver(ModbusDevice[InverterReading]):
    kind = "inverter"
    label = "inverter"

    def __init__(
        self,
        cfg: InverterConfig,
        clock: Clock,
        poll_s: float = 1.0,
        budget: WriteBudget | None = None,
    ) -> None:
        super().__init__(cfg.port, cfg.slave_id, cfg.baud, cfg.timeout_s, clock, poll_s)
        self.cfg = cfg
        self.budget = budget or WriteBudget("inverter", cfg.daily_write_budget)
        self.serial: str | None = None
        self.writes = WriteStats()
        self.last_live: reg.SofarLive | None = None  # the full decoded block, for publishing
        self._last_sent: InverterCommand | None = None
        self._last_sent_t_s = -1e18
        self._last_heartbeat_t_s = -1e18
        self._last_full_t_s = -1e18
        self.reads = {"full": 0, "fast": 0}
        self.register_pdu(PassiveResponse)
        self.register_pdu(HeartbeatResponse)

    async def identify(self) -> None:
        regs = await self.read(4, reg.SERIAL_START, reg.SERIAL_COUNT, "serial number")
        self.serial = reg.decode_serial(regs)
        self.log.info("inverter at %s: serial %s", self.port, self.serial)

    async def read_live(self) -> reg.SofarLive:
        return reg.decode(await self.read(3, reg.LIVE_START, reg.LIVE_COUNT, "live block"))

    async def read_powers(self) -> reg.SofarPowers:
        regs = await self.read(3, reg.FAST_START, reg.FAST_COUNT, "power registers")
        return reg.decode_powers(regs)

    async def poll_once(self) -> None:
        now = self.clock.now_s()
        p: reg.SofarLive | reg.SofarPowers
        if self.last_live is None or now - self._last_full_t_s >= self.cfg.full_read_s:
            p = self.last_live = await self.read_live()
            self._last_full_t_s = now
            self.reads["full"] += 1
        else:
            p = await self.read_powers()
            self.reads["fast"] += 1
        self.store(
            InverterReading(
                grid_power_w=p.grid_power_w,
                battery_power_w=p.battery_power_w,
                battery_soc_pct=p.battery_soc_pct,
                load_power_w=p.load_power_w,
                pv_power_w=p.pv_power_w,
            )
        )
        if now - self._last_heartbeat_t_s >= self.cfg.heartbeat_s:
            await self.heartbeat()
            self._last_heartbeat_t_s = now

    async def heartbeat(self) -> None:
        await self.execute(HeartbeatRequest(dev_id=self.slave_id))

    async def send(self, command: InverterCommand) -> tuple[int, str | None]:
        """Put `command` on the wire: (requests sent, None or why the inverter refused)."""
        cmd, value = passive_frame_args(command)
        resp = await self.execute(PassiveRequest(cmd, value, dev_id=self.slave_id))
        result = resp.result if isinstance(resp, PassiveResponse) else None
        if result == PassiveResult.ACCEPTED:
            return 1, None
        try:
            why = PassiveResult(result).name.lower() if result is not None else repr(resp)
        except ValueError:
            why = f"unknown result code {result}"
        return 1, f"0x42 0x{cmd:04X}={value}: {why}"

    def on_lost(self) -> None:
        self._last_sent = None  # re-send the current command after reconnecting

    async def apply(self, command: InverterCommand) -> None:
        """Send `command` if it differs beyond the deadband or is due for a refresh."""
        if not self.live or self.serial is None:
            return  # no mode change until the first full read has succeeded
        now = self.clock.now_s()
        last = self._last_sent
        changed = (
            last is None
            or last.mode is not command.mode
            or abs(last.battery_power_w - command.battery_power_w) >= self.cfg.deadband_w
            # Reaching exactly zero (standby) is always worth a write.
            or (command.battery_power_w == 0.0 and last.battery_power_w != 0.0)
        )
        if not changed and now - self._last_sent_t_s < self.cfg.refresh_s:
            return
        self_use = InverterCommand(InverterMode.SELF_USE)
        gate = self.budget.gate(
            now,
            safe=command.mode is InverterMode.SELF_USE,
            safe_sent=last is not None and last.mode is InverterMode.SELF_USE,
        )
        if gate is Gate.SKIP:
            return
        if gate is Gate.SEND_SAFE:
            command = self_use  # the day's budget is spent: the inverter's own loop
        try:
            sent, refused = await self.send(command)
        except LINK_ERRORS as exc:
            self.lost(f"command failed: {exc}")
            return
        self.writes.total += sent
        for _ in range(sent):
            self.budget.take(now)
        # Refused or not, this command went out: it is tried again only when it changes or
        # at the refresh period, so a refusing inverter is not written to every tick.
        self._last_sent, self._last_sent_t_s = command, now
        if refused is not None:
            self.writes.refused += 1
            self.log.warning("inverter refused %s", refused)

    async def close(self, restore_self_use: bool = True) -> None:
        """Hand the inverter back to its own self-use loop, then close the link."""
        if restore_self_use and self.live:
            self._last_sent = None
            await self.apply(InverterCommand(InverterMode.SELF_USE))
        self.close_link()
        self.budget.close()
