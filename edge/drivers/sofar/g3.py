"""Sofar HYD-EP ("G3" protocol) registers: live data in five blocks (FC 0x03) and the
passive-mode control registers (FC 0x10 only).

Source: docs/reference/sofar-modbus.md §4 (ha-solarman sofar_g3hyd.yaml, evcc
sofarsolar-g3.yaml, solax-modbus plugin_sofar.py). Fields keep Sofar's G3 signs (PCC power
+ = export, battery power + = charging); the decoders turn them into edge's signs once.

Control (§4.2): 0x1110 is the energy-storage mode (0 self-use, 3 passive). Most of
the G3's writable parameters are EEPROM-backed (§4.2), so the driver treats the mode as one
and writes it only when the mode changes. In passive mode the six
registers 0x1187-0x118C (grid target, minimum and maximum battery power, I32 each) must go
in one FC 0x10 request; the driver holds the battery at P with (grid 0, min P, max P), the
"force at P" recipe, so the unverified sign of the grid target never matters (it is 0).
0x1184-0x1185 set the passive timeout and its action: without a write for that long the
inverter returns to its previous mode (self-use), as the ME3000SP does without heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.drivers.sofar.registers import (
    Register,
    SofarLive,
    SofarPowers,
    decode_fields,
)

SOURCE = "docs/reference/sofar-modbus.md §4 (Sofar G3 protocol V1.22 via ha-solarman, evcc)"


@dataclass(frozen=True)
class Block:
    start: int
    count: int


SYSTEM = Block(0x0404, 0x0411 - 0x0404)  # state and 12 fault words
GRID = Block(0x0484, 0x04B0 - 0x0484)  # frequency .. load power
PV = Block(0x0584, 0x058A - 0x0584)  # PV1 and PV2 voltage, current, power
BATTERY = Block(0x0604, 0x060B - 0x0604)
ENERGY = Block(0x0684, 0x069C - 0x0684)  # today and total, U32 high word first
SERIAL = Block(0x0445, 7)  # 14 ASCII characters
FAST_BLOCKS = (GRID, PV, BATTERY)  # the powers and SOC, on every poll
FULL_BLOCKS = (SYSTEM, GRID, PV, BATTERY, ENERGY)

LIVE_REGISTERS: tuple[Register, ...] = (
    Register(0x0404, "system_state", "U16", 1, 0, 9),
    *(Register(0x0405 + k, f"fault_{k + 1}", "U16", 1) for k in range(12)),
    Register(0x0484, "grid_frequency_hz", "U16", 0.01, 0, 70),
    Register(0x0485, "inverter_output_power_w", "I16", 10, -15000, 15000),
    Register(0x0488, "pcc_export_power_w", "I16", 10, -25000, 25000),
    Register(0x048D, "grid_voltage_v", "U16", 0.1, 0, 300),
    Register(0x048E, "output_current_a", "U16", 0.01),
    Register(0x0492, "pcc_current_a", "U16", 0.01),
    Register(0x0493, "pcc_power_r_w", "I16", 10),
    Register(0x04AE, "external_pv_power_w", "U16", 10, 0, 25000),
    Register(0x04AF, "load_power_w", "I16", 10, 0, 25000),
    Register(0x0584, "pv1_voltage_v", "U16", 0.1, 0, 1000),
    Register(0x0585, "pv1_current_a", "U16", 0.01, 0, 30),
    Register(0x0586, "pv1_power_w", "U16", 10, 0, 15000),
    Register(0x0587, "pv2_voltage_v", "U16", 0.1, 0, 1000),
    Register(0x0588, "pv2_current_a", "U16", 0.01, 0, 30),
    Register(0x0589, "pv2_power_w", "U16", 10, 0, 15000),
    Register(0x0604, "battery_voltage_v", "U16", 0.1, 40, 60),
    Register(0x0605, "battery_current_a", "I16", 0.01, -150, 150),
    Register(0x0606, "battery_charge_power_w", "I16", 10, -6000, 6000),
    Register(0x0607, "battery_temp_degc", "I16", 1, -40, 90),
    Register(0x0608, "battery_soc_pct", "U16", 1, 0, 100),
    Register(0x0609, "battery_soh_pct", "U16", 1, 0, 100),
    Register(0x060A, "battery_cycles", "U16", 1),
    Register(0x0684, "pv_today_kwh", "U32", 0.01),
    Register(0x0686, "pv_total_kwh", "U32", 0.1),
    Register(0x0688, "load_today_kwh", "U32", 0.01),
    Register(0x068A, "load_total_kwh", "U32", 0.1),
    Register(0x068C, "import_today_kwh", "U32", 0.01),
    Register(0x068E, "import_total_kwh", "U32", 0.1),
    Register(0x0690, "export_today_kwh", "U32", 0.01),
    Register(0x0692, "export_total_kwh", "U32", 0.1),
    Register(0x0694, "battery_charge_today_kwh", "U32", 0.01),
    Register(0x0696, "battery_charge_total_kwh", "U32", 0.1),
    Register(0x0698, "battery_discharge_today_kwh", "U32", 0.01),
    Register(0x069A, "battery_discharge_total_kwh", "U32", 0.1),
)
BY_FIELD: Mapping[str, Register] = {r.field: r for r in LIVE_REGISTERS}

# System state 0x0404 (§4.1).
SYSTEM_STATES: Mapping[int, str] = {
    0: "waiting",
    1: "checking",
    2: "on_grid",
    3: "eps",
    4: "fault",
    5: "permanent_fault",
    6: "upgrading",
    7: "self_charging",
    8: "svg",
    9: "pid",
}

# Control registers (§4.2).
REG_MODE = 0x1110
MODE_SELF_USE, MODE_PASSIVE = 0, 3
REG_PASSIVE_TIMEOUT = 0x1184  # with 0x1185, the action
TIMEOUT_ACTION_STANDBY, TIMEOUT_ACTION_PREVIOUS_MODE = 0, 1
REG_PASSIVE_POWER = 0x1187  # six registers: grid target, min and max battery power (I32)
PASSIVE_POWER_COUNT = 6


def _i32(value: int) -> list[int]:
    raw = value & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def i32_of(hi: int, lo: int) -> int:
    raw = (hi << 16) | lo
    return raw - 0x100000000 if raw >= 0x80000000 else raw


def passive_power_registers(battery_power_w: float) -> list[int]:
    """0x1187-0x118C for holding the battery at battery_power_w (edge's sign: + =
    discharge): grid target 0, minimum = maximum = the power in G3's sign (+ = charge)."""
    p = -round(battery_power_w)
    return _i32(0) + _i32(p) + _i32(p)


def decode_blocks(reads: Mapping[Block, Sequence[int]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for block, regs in reads.items():
        out.update(decode_fields(regs, block.start, block.count, LIVE_REGISTERS))
    return out


def powers(f: Mapping[str, float]) -> SofarPowers:
    return SofarPowers(
        grid_power_w=-f["pcc_export_power_w"],
        battery_power_w=-f["battery_charge_power_w"],
        battery_soc_pct=f["battery_soc_pct"],
        load_power_w=f["load_power_w"],
        pv_power_w=f["pv1_power_w"] + f["pv2_power_w"],
    )


def live(f: Mapping[str, float]) -> SofarLive:
    p = powers(f)
    return SofarLive(
        running_state=SYSTEM_STATES.get(int(f["system_state"]), "unknown"),
        grid_power_w=p.grid_power_w,
        battery_power_w=p.battery_power_w,
        battery_current_a=-f["battery_current_a"],
        battery_voltage_v=f["battery_voltage_v"],
        battery_soc_pct=p.battery_soc_pct,
        battery_temp_degc=f["battery_temp_degc"],
        load_power_w=p.load_power_w,
        pv_power_w=p.pv_power_w,
        grid_voltage_v=f["grid_voltage_v"],
        grid_frequency_hz=f["grid_frequency_hz"],
        import_today_kwh=f["import_today_kwh"],
        export_today_kwh=f["export_today_kwh"],
        pv_today_kwh=f["pv_today_kwh"],
        load_today_kwh=f["load_today_kwh"],
        battery_charge_today_kwh=f["battery_charge_today_kwh"],
        battery_discharge_today_kwh=f["battery_discharge_today_kwh"],
        fault_words=tuple(int(f[f"fault_{k}"]) for k in range(1, 13)),
    )
