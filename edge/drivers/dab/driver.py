"""DAB board driver: the board's Modbus RTU slave (firmware_c/REGISTERS.md) through pymodbus.

Each poll reads the telemetry block in one request and refreshes the board's setpoint
watchdog; the current reference is written (with the current-mode command, in one
request) only when it changes beyond the deadband. Closing turns the bridge off.

Start-up follows the paper's EMS flow. First the string's voltage must fit dab.cells cells
of dab.chemistry (the board's own string under- and over-voltage trip levels per cell), so
a wrong config never drives a string. Then the driver holds every current command back until
the DC bus has been inside [dab.bus_min_v, dab.bus_max_v] for dab.bus_settle_s, then
resets the board once if the bus transient latched a trip (bus under/over-voltage, or the
setpoint watchdog while no supervisor ran; any other latched fault is left for a person to
clear), and only then lets the supervisor charge or discharge the string.

Setpoint writes count against dab.daily_write_budget (SQLite, per local day); past it the
bridge is turned off once and no more setpoints go out that day.
"""

from __future__ import annotations

from enum import Enum

from edge.ccore import Chemistry, Fault, protection_table
from edge.clock import Clock
from edge.config import DabConfig
from edge.core.model import DabReading
from edge.drivers.budget import Gate, WriteBudget
from edge.drivers.dab import registers as reg
from edge.drivers.modbus_link import LINK_ERRORS, ModbusDevice
from edge.errors import DeviceError

DEADBAND_A = 0.05

# Latched faults that the bus coming up causes by itself (firmware_c/REGISTERS.md fault
# ids): the driver clears these once at start-up, never any other.
FAULT_BUS_OV, FAULT_BUS_UV, FAULT_WATCHDOG = 7, 8, 12
BUS_TRANSIENT_FAULTS = (1 << FAULT_BUS_OV) | (1 << FAULT_BUS_UV) | (1 << FAULT_WATCHDOG)


class Startup(Enum):
    CHECK_STRING = "checking the string against the config"
    WAIT_BUS = "waiting for the DC bus"
    SETTLING = "DC bus settling"
    RESETTING = "resetting after the bus transient"
    READY = "ready"
    HELD = "held: a latched fault needs clearing"
    WRONG_STRING = "held: the string does not match dab.cells and dab.chemistry"


CHEMISTRY_INDEX = {
    "lifepo4": Chemistry.LIFEPO4,
    "lead_acid": Chemistry.LEAD_ACID,
    "zinc": Chemistry.ZINC,
}


def cell_window_v(chemistry: str) -> tuple[float, float]:
    """The average cell voltage the board's own protection allows for this chemistry:
    its string under- and over-voltage trip thresholds, read from the C table (one
    source of truth with the firmware)."""
    rows = {r.fault: r for r in protection_table(CHEMISTRY_INDEX[chemistry])}
    return rows[Fault.STRING_UV].threshold, rows[Fault.STRING_OV].threshold


class DabDriver(ModbusDevice[DabReading]):
    kind = "dab"
    label = "DAB board"

    def __init__(
        self,
        cfg: DabConfig,
        clock: Clock,
        poll_s: float = 1.0,
        budget: WriteBudget | None = None,
    ) -> None:
        super().__init__(cfg.port, cfg.slave_id, cfg.baud, cfg.timeout_s, clock, poll_s)
        self.cfg = cfg
        self.firmware_version: int | None = None
        self.board_id: int | None = None
        self.telemetry: reg.DabTelemetry | None = None
        self.writes = 0
        self.resets = 0  # trips cleared by the driver (start-up) or on request
        self.startup = Startup.CHECK_STRING
        self.budget = budget or WriteBudget("dab", cfg.daily_write_budget)
        self._bus_up_since_s: float | None = None
        self._sent_a: float | None = None

    async def identify(self) -> None:
        self.firmware_version, self.board_id = await self.read(
            3, reg.HOLD_FIRMWARE_VERSION, 2, "firmware version"
        )
        # The board's charge protocol follows the configured chemistry.
        chem = int(CHEMISTRY_INDEX[self.cfg.chemistry])
        await self.write(reg.HOLD_PROTOCOL_CHEMISTRY, [chem], "protocol chemistry")
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
        await self.write(reg.HOLD_WATCHDOG_REFRESH, [1], "watchdog refresh")
        if self.startup is not Startup.READY:
            await self._sequence(t)
        self.store(
            DabReading(
                charge_current_a=t.charge_current_a,
                string_voltage_v=t.string_voltage_v,
                tripped=(
                    t.faults_latched != 0
                    or not t.contactor_closed
                    or self.startup is not Startup.READY
                ),
            )
        )

    async def _sequence(self, t: reg.DabTelemetry) -> None:
        """One start-up step per poll: string as configured, bus up, settled, reset, ready."""
        now = self.clock.now_s()
        if self.startup in (Startup.CHECK_STRING, Startup.WRONG_STRING):
            low, high = cell_window_v(self.cfg.chemistry)
            per_cell = t.string_voltage_v / self.cfg.cells
            if not low <= per_cell <= high:
                if self.startup is not Startup.WRONG_STRING:
                    self.log.error(
                        "DAB board: the string reads %.2f V, %.2f V per cell for dab.cells = %d;"
                        " dab.chemistry = %s allows %.2f to %.2f V per cell. Check dab.cells"
                        " and dab.chemistry (or the string is flat or not connected); no current"
                        " until they match",
                        t.string_voltage_v,
                        per_cell,
                        self.cfg.cells,
                        self.cfg.chemistry,
                        low,
                        high,
                    )
                self.startup = Startup.WRONG_STRING
                return
            self.startup = Startup.WAIT_BUS
        if not self.cfg.bus_min_v <= t.bus_voltage_v <= self.cfg.bus_max_v:
            if self.startup is not Startup.WAIT_BUS:
                self.log.info("DAB board: DC bus at %.1f V, outside the window", t.bus_voltage_v)
            self.startup, self._bus_up_since_s = Startup.WAIT_BUS, None
            return
        if self._bus_up_since_s is None:
            self._bus_up_since_s = now
            self.startup = Startup.SETTLING
        if now - self._bus_up_since_s < self.cfg.bus_settle_s:
            return
        if t.faults_latched == 0:
            self.startup = Startup.READY
            self.log.info(
                "DAB board: DC bus up at %.1f V; charging and discharging allowed",
                t.bus_voltage_v,
            )
        elif t.faults_latched & ~BUS_TRANSIENT_FAULTS:
            if self.startup is not Startup.HELD:
                self.log.warning(
                    "DAB board: latched faults 0x%04x beyond the bus transient; held off until"
                    " someone clears the trip",
                    t.faults_latched,
                )
            self.startup = Startup.HELD
        else:
            # The board refuses a clear inside its lock-out; the next poll tries again.
            if self.startup is not Startup.RESETTING:
                self.log.info(
                    "DAB board: bus settled; clearing the trip its transient latched (0x%04x)",
                    t.faults_latched,
                )
            self.startup = Startup.RESETTING
            await self.write(reg.HOLD_CLEAR_TRIP, [1], "clear trip")
            self.resets += 1

    async def clear_trip(self) -> None:
        """A person's request: clear the board's latched trip (the board keeps its own
        lock-out), and run the start-up checks again before any current flows."""
        await self.write(reg.HOLD_CLEAR_TRIP, [1], "clear trip")
        self.resets += 1
        self.startup, self._bus_up_since_s = Startup.CHECK_STRING, None
        self._sent_a = None

    def on_lost(self) -> None:
        # The board may have restarted: nothing flows until the start-up checks pass again.
        self._sent_a = None
        self.startup, self._bus_up_since_s = Startup.CHECK_STRING, None

    async def apply(self, charge_current_a: float) -> None:
        """Hold charge_current_a (+ = into the string), within the configured limit."""
        if not self.live or self.startup is not Startup.READY:
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
        now = self.clock.now_s()
        values = [reg.CMD_CURRENT, round(a * 1000) & 0xFFFF]
        # Only CMD_OFF is the safe write: a current of 0 A counts as sent only after one.
        gate = self.budget.gate(
            now, safe=False, safe_sent=self._sent_a == 0.0 and self.budget.over_budget > 0
        )
        if gate is Gate.SKIP:
            return
        if gate is Gate.SEND_SAFE:
            a, values = 0.0, [reg.CMD_OFF]  # past the budget: bridge off, once
        try:
            await self.write(reg.HOLD_COMMAND, values, "current reference")
        except DeviceError as exc:
            self.log.warning("DAB board at %s: %s", self.port, exc)
            return
        except LINK_ERRORS as exc:
            self.lost(f"command failed: {exc}")
            return
        self.writes += 1
        self.budget.take(now)
        self._sent_a = a

    async def close(self) -> None:
        """Turn the bridge off, then close the link."""
        if self.live:
            try:
                await self.write(reg.HOLD_COMMAND, [reg.CMD_OFF], "command off")
            except (DeviceError, *LINK_ERRORS):
                pass  # the board's own watchdog ramps it to zero
        self.close_link()
        self.budget.close()
