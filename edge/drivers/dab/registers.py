"""The DAB board's Modbus register map, as the supervisor's driver uses it.

Source: firmware_c/REGISTERS.md, i.e. the board's own table in firmware_c/src/board_regs.c;
tests/firmware_c/test_modbus.py checks this module against the C table. Raw x scale =
value in the unit of the field name. Sign: current + = into the string (charging).
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "firmware_c/REGISTERS.md (firmware_c/src/board_regs.c)"


@dataclass(frozen=True)
class Reg:
    address: int
    name: str  # the C table's name
    scale: float = 1.0
    signed: bool = False


# Input registers 0..20, read in one request.
TELEMETRY: tuple[Reg, ...] = (
    Reg(0, "string_voltage_mV", 0.001),
    Reg(1, "string_current_mA", 0.001, signed=True),
    Reg(2, "bus_voltage_mV", 0.001),
    Reg(3, "string_temp_ddegC", 0.1, signed=True),
    Reg(4, "cell_min_mV", 0.001),
    Reg(5, "cell_max_mV", 0.001),
    Reg(6, "control_mode"),
    Reg(7, "command"),
    Reg(8, "protocol_step"),
    Reg(9, "protocol_done"),
    Reg(10, "protection_action"),
    Reg(11, "faults_latched_hi"),
    Reg(12, "faults_latched_lo"),
    Reg(13, "faults_active_hi"),
    Reg(14, "faults_active_lo"),
    Reg(15, "contactor_closed"),
    Reg(16, "psi_100urad", 1e-4, signed=True),
    Reg(17, "steps_hi"),
    Reg(18, "steps_lo"),
    Reg(19, "firmware_version"),
    Reg(20, "board_id"),
)
TELEMETRY_START = 0
TELEMETRY_COUNT = 21
TRIPS_START = 32  # one trip counter per fault id, 15 of them

# Holding registers.
HOLD_COMMAND = 0
HOLD_CURRENT_REF_MA = 1
HOLD_VOLTAGE_REF_MV = 2
HOLD_POWER_REF_DW = 3
HOLD_PROTOCOL_CHEMISTRY = 4
HOLD_CLEAR_TRIP = 5
HOLD_WATCHDOG_REFRESH = 6
HOLD_FIRMWARE_VERSION = 16
HOLD_BOARD_ID = 17

CMD_OFF, CMD_CURRENT, CMD_V_STRING, CMD_V_BUS, CMD_PROTOCOL = range(5)


@dataclass(frozen=True)
class DabTelemetry:
    string_voltage_v: float
    charge_current_a: float  # + = into the string
    bus_voltage_v: float
    string_temp_degc: float
    cell_min_v: float
    cell_max_v: float
    control_mode: int
    command: int
    protocol_step: int
    protocol_done: bool
    protection_action: int
    faults_latched: int  # bit per fault id
    faults_active: int
    contactor_closed: bool
    psi_rad: float
    steps: int
    firmware_version: int
    board_id: int


def _signed(raw: int) -> int:
    return raw - 0x10000 if raw >= 0x8000 else raw


def decode_telemetry(regs: list[int]) -> DabTelemetry:
    if len(regs) != TELEMETRY_COUNT:
        raise ValueError(f"telemetry block has {len(regs)} registers, expected {TELEMETRY_COUNT}")
    v = {
        r.name: (_signed(regs[r.address]) if r.signed else regs[r.address]) * r.scale
        for r in TELEMETRY
    }
    return DabTelemetry(
        string_voltage_v=v["string_voltage_mV"],
        charge_current_a=v["string_current_mA"],
        bus_voltage_v=v["bus_voltage_mV"],
        string_temp_degc=v["string_temp_ddegC"],
        cell_min_v=v["cell_min_mV"],
        cell_max_v=v["cell_max_mV"],
        control_mode=int(v["control_mode"]),
        command=int(v["command"]),
        protocol_step=int(v["protocol_step"]),
        protocol_done=bool(v["protocol_done"]),
        protection_action=int(v["protection_action"]),
        faults_latched=(int(v["faults_latched_hi"]) << 16) | int(v["faults_latched_lo"]),
        faults_active=(int(v["faults_active_hi"]) << 16) | int(v["faults_active_lo"]),
        contactor_closed=bool(v["contactor_closed"]),
        psi_rad=v["psi_100urad"],
        steps=(int(v["steps_hi"]) << 16) | int(v["steps_lo"]),
        firmware_version=int(v["firmware_version"]),
        board_id=int(v["board_id"]),
    )
