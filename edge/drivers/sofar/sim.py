"""Sofar ME3000SP emulator: a pymodbus server speaking Modbus RTU framing over TCP.

It serves the live block 0x0200-0x0245 (FC 0x03, read-only) and the serial number at
0x2001-0x2007 (FC 0x03/0x04) from a simulated house, and accepts the passive-mode
commands (0x42) and the heartbeat (0x49) as real custom PDUs. Registers are refreshed
from the house on every read, so a reading is never older than the request.

Addresses as on the bus (§1): only frames for its own slave id are answered; a frame for
another id is ignored (no reply, no effect), as a device on a shared RS485 line does. The
storage family's broadcast is 0x88 and gets no reply (§1, §3.2): only the heartbeat is
acted on (the reference shows no other broadcast in use, so no other acts). Address 0,
Modbus's usual broadcast, is not this family's: ignored (the reference is silent on it).
Facts: docs/reference/sofar-modbus.md §1-3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum
from typing import Any, cast

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.drivers.sofar import registers as reg
from edge.drivers.sofar.pdu import (
    STANDBY_MAGIC,
    STATUS_BATTERY_EMPTY,
    STATUS_BATTERY_FULL,
    STATUS_CHARGE_ENABLED,
    STATUS_DISCHARGE_ENABLED,
    HeartbeatRequest,
    PassiveCmd,
    PassiveRequest,
    PassiveResult,
)
from edge.sim.house import House

log = logging.getLogger(__name__)

MAX_PASSIVE_W = 3000  # ME3000SP (§3.1)
STORAGE_BROADCAST = 0x88  # §1, §3.2: time sync and heartbeat, never answered
DEFAULT_SERIAL = "SE1ES410SIM001"  # 'S' + 'E1' = ME3000SP (§5), 14 characters


# The battery settings an installer would have entered for two Pylontech US2000
# (pylontech.md §3: charge 53.2 V, protections 54.0 / 44.5 V; the 50 A per module the
# emulated BMS allows is this project's assumption, above the data sheet's recommended 25 A).
SETTINGS_VALUES = {
    "battery_type": 1,
    "battery_capacity_ah": 100,
    "energy_management_model": 0,
    "max_charge_voltage_v": 53.2,
    "max_charge_current_a": 50.0,
    "over_voltage_protection_v": 54.0,
    "min_discharge_voltage_v": 46.0,
    "max_discharge_current_a": 50.0,
    "under_voltage_protection_v": 44.5,
    "depth_of_discharge_pct": 90,
    "periods_of_discharge_h": 0,
    "empty_battery_voltage_v": 45.0,
    "full_battery_voltage_v": 53.5,
}
SOFTWARE_VERSION = "V140"
HARDWARE_VERSION = "V100"


def live_values(house: House) -> dict[str, float]:
    """What the inverter reports for the house's present state, in Sofar's signs."""
    s = house.state
    pack = house.pack
    if s.battery_w < -1:
        state = 2  # charging
    elif s.battery_w > 1:
        state = 4  # discharging
    else:
        state = 0  # standby
    e = s.energy_wh
    house_w = s.load_w + s.dab_w + s.heater_w + s.heat_pump_w
    return {
        "running_state": state,
        "grid_voltage_v": 240.0,
        # §2 gives 0x0207 no sign of its own: Sofar's, as 0x0212 (+ export).
        "grid_current_a": -s.grid_w / 240.0,
        "grid_frequency_hz": 50.0,
        "battery_charge_power_w": -s.battery_w,
        "battery_voltage_v": pack.voltage_v,
        "battery_charge_current_a": pack.current_a,
        "battery_soc_pct": s.soc_pct,
        "battery_temp_degc": pack.temp_degc,
        "grid_export_power_w": -s.grid_w,
        # The load CT sees everything the house draws: appliances, the DAB board's supply,
        # the immersion heater and the heat pump.
        "load_power_w": house_w,
        "inverter_output_power_w": s.battery_w,
        "pv_power_w": s.pv_w,
        "eps_voltage_v": 0.0,
        "eps_power_w": 0.0,
        "pv_today_kwh": e["pv"] / 1000.0,
        "export_today_kwh": e["export"] / 1000.0,
        "import_today_kwh": e["import"] / 1000.0,
        "load_today_kwh": (e["load"] + e["dab"] + e["heater"] + e["heat_pump"]) / 1000.0,
        "pv_total_kwh": e["pv"] / 1000.0,
        "export_total_kwh": e["export"] / 1000.0,
        "import_total_kwh": e["import"] / 1000.0,
        "load_total_kwh": (e["load"] + e["dab"] + e["heater"] + e["heat_pump"]) / 1000.0,
        "battery_charge_today_kwh": e["battery_charge"] / 1000.0,
        "battery_discharge_today_kwh": e["battery_discharge"] / 1000.0,
        "battery_charge_total_kwh": e["battery_charge"] / 1000.0,
        "battery_discharge_total_kwh": e["battery_discharge"] / 1000.0,
        "battery_cycles": pack.cycles,
        "battery_soh_pct": 100,
        "dc_bus_voltage_v": 380.0,
        "meter_r_voltage_v": 240.0,
        "meter_r_current_a": abs(s.grid_w) / 240.0,
        "pv_current_a": s.pv_w / 240.0,
        "inner_temp_degc": 35.0,
        "heatsink_temp_degc": 40.0,
        "country_code": 1,
    }


class Addressed(Enum):
    """What a device on the bus does with a request frame, by its address."""

    ANSWER = "answer"  # its own slave id
    BROADCAST = "broadcast"  # acted on, never answered
    IGNORE = "ignore"  # another device's frame: no reply, no effect


def storage_addressing(slave_id: int) -> Callable[[ModbusPDU], Addressed]:
    """The ME3000SP / HYD-ES rule (§1, §3.2): its own id; 0x88 for the heartbeat only."""

    def addressed(pdu: ModbusPDU) -> Addressed:
        if pdu.dev_id == slave_id:
            return Addressed.ANSWER
        if pdu.dev_id == STORAGE_BROADCAST and pdu.function_code == HeartbeatRequest.function_code:
            return Addressed.BROADCAST
        return Addressed.IGNORE

    return addressed


async def serve_rtu_over_tcp(
    device: SimDevice,
    host: str,
    port: int,
    addressed: Callable[[ModbusPDU], Addressed],
    custom_pdu: list[Any] | None = None,
) -> tuple[ModbusTcpServer, int]:
    """A pymodbus server for `device`, Modbus RTU framing over TCP, serving in the
    background; returns it and its TCP port (port 0 picks a free one). `addressed` says
    what the device does with each request frame: pymodbus itself would answer any id."""

    def on_pdu(sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending:
            return pdu
        verdict = addressed(pdu)
        if verdict is Addressed.IGNORE:
            # pymodbus drops a request whose trace returns None: nothing is sent.
            return cast(ModbusPDU, None)
        if verdict is Addressed.BROADCAST:
            pdu.dev_id = 0  # the server runs a request to id 0 on every device, silently
        return pdu

    server = ModbusTcpServer(
        device,
        framer=FramerType.RTU,
        address=(host, port),
        custom_pdu=custom_pdu or [],
        broadcast_enable=True,
        trace_pdu=on_pdu,
    )
    await server.serve_forever(background=True)
    transport: Any = server.transport
    return server, int(transport.sockets[0].getsockname()[1])


class SofarEmulator:
    """Serve one emulated inverter for `house` on host:port (port 0 picks a free one)."""

    def __init__(
        self,
        house: House,
        host: str = "127.0.0.1",
        port: int = 0,
        slave_id: int = 1,
        serial: str = DEFAULT_SERIAL,
        passive_mode_enabled: bool = True,
    ) -> None:
        self.house = house
        self.host = host
        self.port = port
        self.slave_id = slave_id
        self.serial = serial
        # The LCD setting "passive mode": without it every 0x42 command is refused (§3).
        self.passive_mode_enabled = passive_mode_enabled
        self.passive_commands = 0  # accepted 0x42 commands
        # Called with (command, value) for every accepted 0x42 command (benchmarks).
        self.on_command: Callable[[int, int], None] | None = None
        self.heartbeats = 0
        self._server: ModbusTcpServer | None = None

    async def _on_read(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if set_values is None and address < reg.LIVE_START + reg.LIVE_COUNT:
            off = reg.LIVE_START - start_address
            registers[off : off + reg.LIVE_COUNT] = reg.encode(live_values(self.house))
        return None

    async def _on_passive(self, cmd: int, value: int) -> tuple[int, int]:
        h = self.house
        status = (0 if h.battery_full else STATUS_CHARGE_ENABLED) | (
            0 if h.battery_empty else STATUS_DISCHARGE_ENABLED
        )
        status |= (STATUS_BATTERY_FULL if h.battery_full else 0) | (
            STATUS_BATTERY_EMPTY if h.battery_empty else 0
        )
        if not self.passive_mode_enabled:
            return status, PassiveResult.INVALID_WORK_MODE
        if cmd == PassiveCmd.STANDBY and value == STANDBY_MAGIC:
            h.command_passive(0.0)
        elif cmd == PassiveCmd.DISCHARGE and 0 <= value <= MAX_PASSIVE_W:
            h.command_passive(float(value))
        elif cmd == PassiveCmd.CHARGE and 0 <= value <= MAX_PASSIVE_W:
            h.command_passive(-float(value))
        elif cmd == PassiveCmd.AUTO:
            h.command_auto()
        else:
            log.info("emulated inverter: refused 0x42 cmd 0x%04X value %d", cmd, value)
            return status, PassiveResult.INVALID_VALUE
        self.passive_commands += 1
        if self.on_command is not None:
            self.on_command(cmd, value)
        return status, PassiveResult.ACCEPTED

    async def _on_heartbeat(self) -> None:
        self.heartbeats += 1
        self.house.heartbeat()

    def _device(self) -> SimDevice:
        return SimDevice(
            id=self.slave_id,
            simdata=[
                SimData(
                    reg.LIVE_START,
                    values=reg.encode(live_values(self.house)),
                    datatype=DataType.REGISTERS,
                    readonly=True,
                ),
                SimData(
                    reg.SETTINGS_START,
                    values=reg.encode_block(reg.SETTINGS, SETTINGS_VALUES),
                    datatype=DataType.REGISTERS,
                    readonly=True,
                ),
                SimData(0x2000, values=[0x0001], datatype=DataType.REGISTERS, readonly=True),
                SimData(
                    reg.SERIAL_START,
                    values=reg.encode_serial(self.serial)
                    + reg.encode_serial(SOFTWARE_VERSION, 2)
                    + reg.encode_serial(HARDWARE_VERSION, 2),
                    datatype=DataType.REGISTERS,
                    readonly=True,
                ),
            ],
            action=self._on_read,
        )

    async def start(self) -> int:
        """Start serving in the background; returns the TCP port."""
        self._server, self.port = await serve_rtu_over_tcp(
            self._device(),
            self.host,
            self.port,
            storage_addressing(self.slave_id),
            [PassiveRequest.bind(self._on_passive), HeartbeatRequest.bind(self._on_heartbeat)],
        )
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
