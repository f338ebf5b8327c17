"""Sofar ME3000SP driver: a pymodbus async client on RS485 (or RTU-over-TCP).

One task polls the live block in one request every poll period and sends the heartbeat;
a reading that fails or is implausible is dropped (the old one just ages: never a zero).
Commands go out as 0x42 passive commands only when they change beyond the deadband,
or to refresh the current one. A refused or dropped connection is retried with
exponential backoff and reported in one line per change, never as a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from edge.config import InverterConfig
from edge.core.model import InverterCommand, InverterMode, InverterReading, Sample
from edge.drivers.backoff import Backoff
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
from edge.errors import DeviceError
from edge.sim.clock import Clock

log = logging.getLogger("edge.inverter")


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
    refused: int = 0


class SofarDriver:
    def __init__(self, cfg: InverterConfig, clock: Clock, poll_s: float = 1.0) -> None:
        self.cfg = cfg
        self.clock = clock
        self.poll_s = poll_s
        self.serial: str | None = None
        self.status = "connecting"
        self.connect_attempts = 0
        self.writes = WriteStats()
        self.last_live: reg.SofarLive | None = None  # the full decoded block, for publishing
        self._latest: InverterReading | None = None
        self._latest_t_s: float | None = None
        self._last_sent: InverterCommand | None = None
        self._last_sent_t_s = -1e18
        self._last_heartbeat_t_s = -1e18
        self._lock = asyncio.Lock()
        self._client = self._make_client()
        self._backoff = Backoff()

    def _make_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        port = self.cfg.port
        # pymodbus's own reconnect is off (reconnect_delay 0): run() owns reconnecting.
        client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if port.startswith("tcp://"):
            host, _, tcp_port = port[len("tcp://") :].rpartition(":")
            client = AsyncModbusTcpClient(
                host or "127.0.0.1",
                port=int(tcp_port),
                framer=FramerType.RTU,
                timeout=self.cfg.timeout_s,
                retries=1,
                reconnect_delay=0,
            )
        else:
            client = AsyncModbusSerialClient(
                port,
                framer=FramerType.RTU,
                baudrate=self.cfg.baud,
                timeout=self.cfg.timeout_s,
                retries=1,
                reconnect_delay=0,
            )
        client.register(PassiveResponse)
        client.register(HeartbeatResponse)
        return client

    # ---- InverterPort ------------------------------------------------------------
    def sample(self, now_s: float) -> Sample[InverterReading] | None:
        if self._latest is None or self._latest_t_s is None:
            return None
        return Sample(self._latest, max(0.0, now_s - self._latest_t_s))

    @property
    def live(self) -> bool:
        return self.status == "online"

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
        cmd, value = passive_frame_args(command)
        try:
            async with self._lock:
                resp = await self._client.execute(
                    False, PassiveRequest(cmd, value, dev_id=self.cfg.slave_id)
                )
        except (TimeoutError, ModbusException, OSError) as exc:
            self._lost(f"command failed: {exc}")
            return
        self.writes.total += 1
        # Refused or not, this command went out: it is tried again only when it changes or
        # at the refresh period, so a refusing inverter is not written to every tick.
        self._last_sent, self._last_sent_t_s = command, now
        result = resp.result if isinstance(resp, PassiveResponse) else None
        if result != PassiveResult.ACCEPTED:
            self.writes.refused += 1
            try:
                why = PassiveResult(result).name.lower() if result is not None else repr(resp)
            except ValueError:
                why = f"unknown result code {result}"
            log.warning("inverter refused 0x42 0x%04X=%d: %s", cmd, value, why)

    # ---- the poll task ---------------------------------------------------------------
    def _lost(self, why: str) -> None:
        if self.status == "online":
            log.warning("inverter at %s: %s; reconnecting", self.cfg.port, why)
        self.status = f"offline: {why}"
        self._client.close()
        self._last_sent = None  # re-send the current command after reconnecting

    async def _connect(self) -> None:
        failures = 0
        while True:
            self.connect_attempts += 1
            if await self._client.connect():
                self._backoff.reset()
                return
            failures += 1
            delay = self._backoff.next_delay_s()
            why = f"cannot connect (refused or no device), retrying in {delay:.1f} s"
            # First failure of an outage, then once per longest backoff: reported, not spammed.
            if failures == 1 or delay >= self._backoff.max_s:
                log.warning("inverter at %s: %s", self.cfg.port, why)
            self.status = f"offline: {why}"
            await asyncio.sleep(delay)  # wall time: this paces a real link, not the simulation

    async def _read(self, function_code: int, address: int, count: int, what: str) -> list[int]:
        """One FC 0x03/0x04 read; an exception response raises DeviceError naming `what`."""
        read = (
            self._client.read_holding_registers
            if function_code == 3
            else self._client.read_input_registers
        )
        async with self._lock:
            r = await read(address, count=count, device_id=self.cfg.slave_id)
        if r.isError():
            raise DeviceError(f"{what} read refused: {r}")
        return list(r.registers)

    async def _read_serial(self) -> str:
        regs = await self._read(4, reg.SERIAL_START, reg.SERIAL_COUNT, "serial number")
        return reg.decode_serial(regs)

    async def read_live(self) -> reg.SofarLive:
        return reg.decode(await self._read(3, reg.LIVE_START, reg.LIVE_COUNT, "live block"))

    async def _heartbeat_if_due(self) -> None:
        now = self.clock.now_s()
        if now - self._last_heartbeat_t_s < self.cfg.heartbeat_s:
            return
        async with self._lock:
            await self._client.execute(False, HeartbeatRequest(dev_id=self.cfg.slave_id))
        self._last_heartbeat_t_s = now

    async def poll_once(self) -> None:
        live = await self.read_live()
        self._latest = InverterReading(
            grid_power_w=live.grid_power_w,
            battery_power_w=live.battery_power_w,
            battery_soc_pct=live.battery_soc_pct,
            load_power_w=live.load_power_w,
            pv_power_w=live.pv_power_w,
        )
        self._latest_t_s = self.clock.now_s()
        self.last_live = live

    async def run(self) -> None:
        """Poll forever; cancel the task to stop."""
        while True:
            if not self._client.connected:
                await self._connect()
            try:
                if self.serial is None:
                    self.serial = await self._read_serial()
                    log.info("inverter at %s: serial %s", self.cfg.port, self.serial)
                await self.poll_once()
                await self._heartbeat_if_due()
                if self.status != "online":
                    log.info("inverter at %s: online", self.cfg.port)
                self.status = "online"
            except DeviceError as exc:
                log.warning("inverter at %s: %s", self.cfg.port, exc)
            except (TimeoutError, ModbusException, OSError) as exc:
                self._lost(str(exc) or type(exc).__name__)
            await self.clock.sleep(self.poll_s)

    async def close(self, restore_self_use: bool = True) -> None:
        """Hand the inverter back to its own self-use loop, then close the link."""
        if restore_self_use and self.live:
            self._last_sent = None
            await self.apply(InverterCommand(InverterMode.SELF_USE))
        self._client.close()
