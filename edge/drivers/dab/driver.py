"""DAB board driver: the board's Modbus RTU slave (firmware_c/REGISTERS.md) through pymodbus.

Each poll reads the telemetry block in one request and refreshes the board's setpoint
watchdog; the current reference is written (with the current-mode command, in one
request) only when it changes beyond the deadband. Closing turns the bridge off.
"""

from __future__ import annotations

from edge.config import DabConfig
from edge.core.model import DabReading
from edge.drivers.dab import registers as reg
from edge.drivers.modbus_link import LINK_ERRORS, ModbusDevice
from edge.errors import DeviceError
from edge.sim.clock import Clock

DEADBAND_A = 0.05


class DabDriver(ModbusDevice[DabReading]):
    kind = "dab"
    label = "DAB board"

    def __init__(self, cfg: DabConfig, clock: Clock, poll_s: float = 1.0) -> None:
        super().__init__(cfg.port, cfg.slave_id, cfg.baud, cfg.timeout_s, clock, poll_s)
        self.cfg = cfg
        self.firmware_version: int | None = None
        self.board_id: int | None = None
        self.telemetry: reg.DabTelemetry | None = None
        self.writes = 0
        self._sent_a: float | None = None

    async def identify(self) -> None:
        self.firmware_version, self.board_id = await self.read(
            3, reg.HOLD_FIRMWARE_VERSION, 2, "firmware version"
        )
        self.log.info(
            "DAB board at %s: id %d, firmware %d.%d",
            self.port,
            self.board_id,
            self.firmware_version >> 8,
            self.firmware_version & 0xFF,
        )

    async def poll_once(self) -> None:
        regs = await self.read(4, reg.TELEMETRY_START, reg.TELEMETRY_COUNT, "telemetry")
        t = reg.decode_telemetry(regs)
        self.telemetry = t
        self.store(
            DabReading(
                charge_current_a=t.charge_current_a,
                string_voltage_v=t.string_voltage_v,
                tripped=t.faults_latched != 0 or not t.contactor_closed,
            )
        )
        await self.write(reg.HOLD_WATCHDOG_REFRESH, [1], "watchdog refresh")

    def on_lost(self) -> None:
        self._sent_a = None

    async def apply(self, charge_current_a: float) -> None:
        """Hold charge_current_a (+ = into the string), within the configured limit."""
        if not self.live:
            return
        a = max(
            -self.cfg.max_charge_current_a, min(self.cfg.max_charge_current_a, charge_current_a)
        )
        if (
            self._sent_a is not None
            and abs(a - self._sent_a) < DEADBAND_A
            and not (a == 0.0 and self._sent_a != 0.0)
        ):
            return
        try:
            await self.write(
                reg.HOLD_COMMAND, [reg.CMD_CURRENT, round(a * 1000) & 0xFFFF], "current reference"
            )
        except DeviceError as exc:
            self.log.warning("DAB board at %s: %s", self.port, exc)
            return
        except LINK_ERRORS as exc:
            self.lost(f"command failed: {exc}")
            return
        self.writes += 1
        self._sent_a = a

    async def close(self) -> None:
        """Turn the bridge off, then close the link."""
        if self.live:
            try:
                await self.write(reg.HOLD_COMMAND, [reg.CMD_OFF], "command off")
            except (DeviceError, *LINK_ERRORS):
                pass  # the board's own watchdog ramps it to zero
        self.close_link()
