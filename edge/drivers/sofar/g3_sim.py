"""Sofar HYD-EP (G3) emulator: a pymodbus server with the G3 live blocks (FC 0x03) from
the simulated house, and the control registers (FC 0x10) acting on it as §4.2 describes:
0x1110 = 3 enters passive mode (at what 0x1187-0x118C hold: 0 W until they are first
written), 0 returns to self-use; the six registers 0x1187-0x118C take effect only when
written together, and only the "hold at P" form (minimum = maximum) is modelled; 0x1184
sets how long passive mode lasts without a power write (0 = no timeout) and 0x1185 what
happens then (0 standby, 1 back to the previous mode).

Addresses (§1): only its own slave id is answered; 0x00 is the G3 broadcast for writes
(acted on, never answered); any other frame is ignored, as on a shared RS485 line.
Facts: docs/reference/sofar-modbus.md §1, §4.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from typing import cast

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.drivers.sofar import g3
from edge.drivers.sofar import registers as reg
from edge.drivers.sofar.sim import Addressed, live_values, serve_rtu_over_tcp
from edge.sim.house import House, InverterMode

log = logging.getLogger(__name__)

DEFAULT_SERIAL = "SM2ES410SIM001"  # 'S' + 'M2' = HYD 3000-6000-EP (§5)
MAX_PASSIVE_W = 3000
G3_BROADCAST = 0x00  # §1: writes only, no reply
WRITE_FUNCTIONS = (0x06, 0x10)


def g3_addressing(slave_id: int) -> Callable[[ModbusPDU], Addressed]:
    def addressed(pdu: ModbusPDU) -> Addressed:
        if pdu.dev_id == slave_id:
            return Addressed.ANSWER
        if pdu.dev_id == G3_BROADCAST and pdu.function_code in WRITE_FUNCTIONS:
            return Addressed.BROADCAST
        return Addressed.IGNORE

    return addressed


def g3_values(house: House) -> dict[str, float]:
    """The house's present state in G3 fields and signs."""
    v = live_values(house)
    s = house.state
    return {
        "system_state": 2,  # on grid
        "grid_frequency_hz": v["grid_frequency_hz"],
        "inverter_output_power_w": v["inverter_output_power_w"],
        "pcc_export_power_w": v["grid_export_power_w"],
        "grid_voltage_v": v["grid_voltage_v"],
        "pcc_current_a": abs(s.grid_w) / 240.0,
        "pcc_power_r_w": v["grid_export_power_w"],
        "load_power_w": v["load_power_w"],
        "pv1_voltage_v": 360.0 if s.pv_w > 0 else 0.0,
        "pv1_current_a": s.pv_w / 360.0,
        "pv1_power_w": s.pv_w,
        "battery_voltage_v": v["battery_voltage_v"],
        "battery_current_a": v["battery_charge_current_a"],
        "battery_charge_power_w": v["battery_charge_power_w"],
        "battery_temp_degc": v["battery_temp_degc"],
        "battery_soc_pct": v["battery_soc_pct"],
        "battery_soh_pct": 100,
        "battery_cycles": v["battery_cycles"],
        **{
            k: v[k]
            for k in (
                "pv_today_kwh",
                "pv_total_kwh",
                "load_today_kwh",
                "load_total_kwh",
                "import_today_kwh",
                "import_total_kwh",
                "export_today_kwh",
                "export_total_kwh",
                "battery_charge_today_kwh",
                "battery_charge_total_kwh",
                "battery_discharge_today_kwh",
                "battery_discharge_total_kwh",
            )
        },
    }


def _encode(block: g3.Block, values: dict[str, float]) -> list[int]:
    return reg.encode(values, block.start, block.count, g3.BY_FIELD)


class SofarG3Emulator:
    """Serve one emulated HYD-EP for `house` on host:port (port 0 picks a free one)."""

    def __init__(
        self,
        house: House,
        host: str = "127.0.0.1",
        port: int = 0,
        slave_id: int = 1,
        serial: str = DEFAULT_SERIAL,
    ) -> None:
        self.house = house
        self.host = host
        self.port = port
        self.slave_id = slave_id
        self.serial = serial
        self.mode = g3.MODE_SELF_USE
        self.mode_writes = 0  # EEPROM-backed: a real inverter wears out on these
        self.power_writes = 0
        self.ignored_writes = 0  # partial writes of the six power registers
        # What 0x1187-0x118C hold, in edge's sign (+ = discharge): 0 W until written.
        self.passive_w = 0.0
        self.on_command: Callable[[int, int], None] | None = None
        self._server: ModbusTcpServer | None = None

    def _apply_passive(self) -> None:
        if self.mode == g3.MODE_PASSIVE:
            self.house.command_passive(self.passive_w)

    def _set_timeout(self, timeout_s: int | None, action: int | None) -> None:
        inv = self.house.inverter
        p = inv.p
        if timeout_s is not None:
            # 0 = no timeout (§4.2), not the model's default.
            p = dataclasses.replace(p, heartbeat_timeout_s=float(timeout_s) or math.inf)
        if action is not None:
            p = dataclasses.replace(p, timeout_standby=action == g3.TIMEOUT_ACTION_STANDBY)
        inv.p = p

    async def _on_access(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if set_values is None:
            if (
                self.mode == g3.MODE_PASSIVE
                and self.house.inverter.mode is not InverterMode.PASSIVE
            ):
                self.mode = g3.MODE_SELF_USE  # the passive timeout ran out: previous mode
            registers[g3.REG_MODE - start_address] = self.mode
            values = g3_values(self.house)
            for b in g3.FULL_BLOCKS:
                if b.start <= address < b.start + b.count:
                    off = b.start - start_address
                    registers[off : off + b.count] = _encode(b, values)
            return None
        if function_code != 0x10:
            return ExcCodes.ILLEGAL_FUNCTION  # G3 control wants FC 0x10 (§4.2)
        vals = [int(v) for v in set_values]
        end = address + count
        if address <= g3.REG_MODE < end:
            mode = vals[g3.REG_MODE - address]
            if mode not in (g3.MODE_SELF_USE, g3.MODE_PASSIVE):
                return ExcCodes.ILLEGAL_VALUE  # the others are not modelled
            self.mode, self.mode_writes = mode, self.mode_writes + 1
            if mode == g3.MODE_SELF_USE:
                self.house.command_auto()
            else:
                self._apply_passive()
        action_reg = g3.REG_PASSIVE_TIMEOUT + 1
        if address <= g3.REG_PASSIVE_TIMEOUT < end or address <= action_reg < end:
            timeout_s = (
                vals[g3.REG_PASSIVE_TIMEOUT - address]
                if address <= g3.REG_PASSIVE_TIMEOUT < end
                else None
            )
            action = vals[action_reg - address] if address <= action_reg < end else None
            if action not in (None, g3.TIMEOUT_ACTION_STANDBY, g3.TIMEOUT_ACTION_PREVIOUS_MODE):
                return ExcCodes.ILLEGAL_VALUE
            self._set_timeout(timeout_s, action)
        if g3.REG_PASSIVE_POWER <= address < g3.REG_PASSIVE_POWER + g3.PASSIVE_POWER_COUNT:
            if address != g3.REG_PASSIVE_POWER or count != g3.PASSIVE_POWER_COUNT:
                self.ignored_writes += 1  # single writes are ignored (§4.2)
                current = registers[address - start_address : end - start_address]
                cast(list[int], set_values)[:] = current
                return None
            lo = g3.i32_of(vals[2], vals[3])
            hi = g3.i32_of(vals[4], vals[5])
            if lo != hi or abs(lo) > MAX_PASSIVE_W:
                return ExcCodes.ILLEGAL_VALUE
            self.passive_w = -float(lo)  # G3: + = charge
            self.power_writes += 1
            self.house.heartbeat()
            self._apply_passive()
            if self.on_command is not None:
                self.on_command(g3.REG_PASSIVE_POWER, lo)
        return None

    def _device(self) -> SimDevice:
        values = g3_values(self.house)
        blocks = [
            SimData(b.start, values=_encode(b, values), datatype=DataType.REGISTERS)
            for b in g3.FULL_BLOCKS
        ]
        return SimDevice(
            id=self.slave_id,
            simdata=[
                *blocks,
                SimData(
                    g3.SERIAL.start,
                    values=reg.encode_serial(self.serial, g3.SERIAL.count),
                    datatype=DataType.REGISTERS,
                    readonly=True,
                ),
                SimData(0x1104, values=[1], datatype=DataType.REGISTERS),
                SimData(g3.REG_MODE, values=[self.mode], datatype=DataType.REGISTERS),
                SimData(g3.REG_PASSIVE_TIMEOUT, values=[0, 0, 0], datatype=DataType.REGISTERS),
                SimData(g3.REG_PASSIVE_POWER, values=[0] * 6, datatype=DataType.REGISTERS),
            ],
            action=self._on_access,
        )

    async def start(self) -> int:
        self._server, self.port = await serve_rtu_over_tcp(
            self._device(), self.host, self.port, g3_addressing(self.slave_id)
        )
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
