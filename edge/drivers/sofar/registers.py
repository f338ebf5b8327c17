"""Sofar ME3000SP / HYD-ES live block (FC 0x03, 0x0200-0x0245) and info registers, as data.

Source: docs/reference/sofar-modbus.md §2 (official "SOFARSOLAR ModBus-RTU Communication
Protocol" PDF, 2017-11-27, cross-checked with Sofar2mqtt and ha-solarman) and §2.3
(info block 0x2000-). Raw x scale = value in the unit named by the field. Signs here are
Sofar's own (battery + = charging, grid + = export); decode() turns them into edge's
convention (grid + = import, battery + = discharge) exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from edge.errors import DeviceError

SOURCE = "docs/reference/sofar-modbus.md §2 (Sofar ModBus-RTU protocol PDF 2017-11-27)"

LIVE_START = 0x0200
LIVE_COUNT = 0x0246 - 0x0200  # 70 registers, read in one request
# The meter and battery powers alone (0x020D-0x0215), read on the polls between two full
# reads: 23 response bytes instead of 145, 24 ms instead of 151 ms at 9600 baud, so a load
# step reaches the core within one poll period plus a few tens of milliseconds.
FAST_START = 0x020D
FAST_COUNT = 0x0216 - 0x020D
SERIAL_START = 0x2001  # 14 ASCII characters, 2 per register (FC 0x04), §2.3
SERIAL_COUNT = 7

Kind = Literal["U16", "I16", "U32"]


@dataclass(frozen=True)
class Register:
    """One quantity in the live block. U32 takes two registers, high word first."""

    address: int
    field: str  # name with its unit, in Sofar's sign convention
    kind: Kind
    scale: float  # raw x scale = value
    valid_min: float | None = None  # plausibility range in the field's unit;
    valid_max: float | None = None  # a value outside it is rejected, never used


LIVE_REGISTERS: tuple[Register, ...] = (
    Register(0x0200, "running_state", "U16", 1, 0, 7),
    Register(0x0201, "fault_1", "U16", 1),
    Register(0x0202, "fault_2", "U16", 1),
    Register(0x0203, "fault_3", "U16", 1),
    Register(0x0204, "fault_4", "U16", 1),
    Register(0x0205, "fault_5", "U16", 1),
    Register(0x0206, "grid_voltage_v", "U16", 0.1, 0, 300),
    Register(0x0207, "grid_current_a", "I16", 0.01),
    Register(0x0208, "grid_b_voltage_v", "U16", 0.1),  # unused on single phase
    Register(0x0209, "grid_b_current_a", "I16", 0.01),
    Register(0x020A, "grid_c_voltage_v", "U16", 0.1),
    Register(0x020B, "grid_c_current_a", "I16", 0.01),
    Register(0x020C, "grid_frequency_hz", "U16", 0.01, 0, 70),
    Register(0x020D, "battery_charge_power_w", "I16", 10, -6000, 6000),
    # 0.01 V in practice on ME3000SP (ha-solarman fix 4a97ed5); a 48 V pack is 40-60 V.
    Register(0x020E, "battery_voltage_v", "U16", 0.01, 40, 60),
    Register(0x020F, "battery_charge_current_a", "I16", 0.01, -100, 100),
    Register(0x0210, "battery_soc_pct", "U16", 1, 0, 100),
    Register(0x0211, "battery_temp_degc", "I16", 1, -40, 90),
    Register(0x0212, "grid_export_power_w", "I16", 10, -25000, 25000),
    Register(0x0213, "load_power_w", "U16", 10, 0, 25000),
    Register(0x0214, "inverter_output_power_w", "I16", 10, -6000, 6000),
    Register(0x0215, "pv_power_w", "U16", 10, 0, 25000),
    Register(0x0216, "eps_voltage_v", "U16", 0.1),
    Register(0x0217, "eps_power_w", "U16", 10),
    Register(0x0218, "pv_today_kwh", "U16", 0.01),
    Register(0x0219, "export_today_kwh", "U16", 0.01),
    Register(0x021A, "import_today_kwh", "U16", 0.01),
    Register(0x021B, "load_today_kwh", "U16", 0.01),
    Register(0x021C, "pv_total_kwh", "U32", 1),
    Register(0x021E, "export_total_kwh", "U32", 1),
    Register(0x0220, "import_total_kwh", "U32", 1),
    Register(0x0222, "load_total_kwh", "U32", 1),
    Register(0x0224, "battery_charge_today_kwh", "U16", 0.01),
    Register(0x0225, "battery_discharge_today_kwh", "U16", 0.01),
    Register(0x0226, "battery_charge_total_kwh", "U32", 1),
    Register(0x0228, "battery_discharge_total_kwh", "U32", 1),
    Register(0x022A, "countdown_s", "U16", 1),
    Register(0x022B, "alert", "U16", 1),
    Register(0x022C, "battery_cycles", "U16", 1),
    Register(0x022D, "dc_bus_voltage_v", "I16", 0.1),
    Register(0x022E, "llc_bus_voltage_v", "U16", 0.1),
    Register(0x022F, "buck_current_a", "U16", 0.01),
    Register(0x0230, "meter_r_voltage_v", "U16", 0.1),
    Register(0x0231, "meter_r_current_a", "U16", 0.01),
    Register(0x0232, "meter_s_voltage_v", "U16", 0.1),
    Register(0x0233, "meter_s_current_a", "U16", 0.01),
    Register(0x0234, "meter_t_voltage_v", "U16", 0.1),
    Register(0x0235, "meter_t_current_a", "U16", 0.01),
    Register(0x0236, "pv_current_a", "U16", 0.01),
    Register(0x0237, "battery_soh_pct", "U16", 1),  # ha-solarman's reading (unverified)
    Register(0x0238, "inner_temp_degc", "I16", 1, -40, 120),
    Register(0x0239, "heatsink_temp_degc", "I16", 1, -40, 120),
    Register(0x023A, "country_code", "U16", 1),
    Register(0x023B, "dc_current_component_ma", "I16", 1),
    Register(0x023C, "dc_voltage_component_v", "I16", 0.1),
    Register(0x023D, "battery_fault_1", "U16", 1),
    Register(0x023E, "battery_fault_2", "U16", 1),
    Register(0x023F, "battery_fault_3", "U16", 1),
    Register(0x0240, "battery_fault_4", "U16", 1),
    Register(0x0241, "battery_fault_5", "U16", 1),
    Register(0x0242, "comm_board_message", "U16", 1),
    Register(0x0243, "generation_time_today_min", "U16", 1),
    Register(0x0244, "generation_time_total_h", "U32", 1),
)

# Battery settings (function 0x04, §2.3): installer values, read once, never written.
SETTINGS_START = 0x10B0
SETTINGS: tuple[Register, ...] = (
    Register(0x10B0, "battery_type", "U16", 1),  # fw V1.20: 1 = PYLON
    Register(0x10B1, "battery_capacity_ah", "U16", 1),
    Register(0x10B2, "energy_management_model", "U16", 1),
    Register(0x10B3, "max_charge_voltage_v", "U16", 0.1),
    Register(0x10B4, "max_charge_current_a", "U16", 0.01),
    Register(0x10B5, "over_voltage_protection_v", "U16", 0.1),
    Register(0x10B6, "min_discharge_voltage_v", "U16", 0.1),
    Register(0x10B7, "max_discharge_current_a", "U16", 0.01),
    Register(0x10B8, "under_voltage_protection_v", "U16", 0.1),
    Register(0x10B9, "depth_of_discharge_pct", "U16", 1),
    Register(0x10BA, "periods_of_discharge_h", "U16", 1),
    Register(0x10BB, "empty_battery_voltage_v", "U16", 0.01),
    Register(0x10BC, "full_battery_voltage_v", "U16", 0.01),
)
SETTINGS_COUNT = len(SETTINGS)
BATTERY_TYPES = {0: "DARFON", 1: "PYLON", 2: "SOLTARO", 3: "ALPHA.ESS", 4: "GENERAL"}
VERSION_START = 0x2008  # software (0x2008-0x2009) and hardware (0x200A-0x200B), ASCII


def encode_block(table: Sequence[Register], values: Mapping[str, float]) -> list[int]:
    """{field: value} -> raw registers of a contiguous table of U16 registers."""
    out = [0] * len(table)
    for k, r in enumerate(table):
        out[k] = min(max(round(values.get(r.field, 0.0) / r.scale), 0), 0xFFFF)
    return out


def decode_block(table: Sequence[Register], regs: Sequence[int]) -> dict[str, float]:
    return {r.field: regs[k] * r.scale for k, r in enumerate(table)}


BY_FIELD: Mapping[str, Register] = {r.field: r for r in LIVE_REGISTERS}

# Running state 0x0200, ME3000SP column of §2.1.
RUNNING_STATES: Mapping[int, str] = {
    0: "standby",
    1: "checking",
    2: "charging",
    3: "checking_discharge",
    4: "discharging",
    5: "eps",
    6: "fault",
    7: "permanent_fault",
}


@dataclass(frozen=True)
class SofarLive:
    """A decoded live block, in edge's sign convention."""

    running_state: str
    grid_power_w: float  # + = import from the grid
    battery_power_w: float  # + = discharge
    battery_current_a: float  # + = discharge
    battery_voltage_v: float
    battery_soc_pct: float
    battery_temp_degc: float
    load_power_w: float
    pv_power_w: float
    grid_voltage_v: float
    grid_frequency_hz: float
    import_today_kwh: float
    export_today_kwh: float
    pv_today_kwh: float
    load_today_kwh: float
    battery_charge_today_kwh: float
    battery_discharge_today_kwh: float
    fault_words: tuple[int, ...]


def _to_signed(raw: int) -> int:
    # Two's complement (Sofar2mqtt's "65535 - raw" is off by one: §2).
    return raw - 0x10000 if raw >= 0x8000 else raw


def decode_fields(
    regs: Sequence[int],
    start: int = LIVE_START,
    count: int = LIVE_COUNT,
    table: Sequence[Register] = LIVE_REGISTERS,
) -> dict[str, float]:
    """Raw registers from `start` -> {field: value} in Sofar's signs, for the registers
    of `table` wholly inside the read; raises DeviceError on an implausible value."""
    if len(regs) != count:
        raise DeviceError(f"read of 0x{start:04X} has {len(regs)} registers, expected {count}")
    out: dict[str, float] = {}
    for r in table:
        i = r.address - start
        if i < 0 or i + (2 if r.kind == "U32" else 1) > count:
            continue
        if r.kind == "U32":
            raw = (regs[i] << 16) | regs[i + 1]
        elif r.kind == "I16":
            raw = _to_signed(regs[i])
        else:
            raw = regs[i]
        value = raw * r.scale
        if (r.valid_min is not None and value < r.valid_min) or (
            r.valid_max is not None and value > r.valid_max
        ):
            raise DeviceError(
                f"register 0x{r.address:04X} ({r.field}) = {value:g} is outside the plausible "
                f"range {r.valid_min:g}..{r.valid_max:g}; reading rejected"
            )
        out[r.field] = value
    return out


def decode(regs: Sequence[int]) -> SofarLive:
    f = decode_fields(regs)
    return SofarLive(
        running_state=RUNNING_STATES.get(int(f["running_state"]), "unknown"),
        grid_power_w=-f["grid_export_power_w"],
        battery_power_w=-f["battery_charge_power_w"],
        battery_current_a=-f["battery_charge_current_a"],
        battery_voltage_v=f["battery_voltage_v"],
        battery_soc_pct=f["battery_soc_pct"],
        battery_temp_degc=f["battery_temp_degc"],
        load_power_w=f["load_power_w"],
        pv_power_w=f["pv_power_w"],
        grid_voltage_v=f["grid_voltage_v"],
        grid_frequency_hz=f["grid_frequency_hz"],
        import_today_kwh=f["import_today_kwh"],
        export_today_kwh=f["export_today_kwh"],
        pv_today_kwh=f["pv_today_kwh"],
        load_today_kwh=f["load_today_kwh"],
        battery_charge_today_kwh=f["battery_charge_today_kwh"],
        battery_discharge_today_kwh=f["battery_discharge_today_kwh"],
        fault_words=tuple(int(f[f"fault_{k}"]) for k in range(1, 6)),
    )


@dataclass(frozen=True)
class SofarPowers:
    """The fast block (FAST_START..): powers and the battery's state, edge's signs."""

    grid_power_w: float  # + = import
    battery_power_w: float  # + = discharge
    battery_soc_pct: float
    load_power_w: float
    pv_power_w: float


def decode_powers(regs: Sequence[int]) -> SofarPowers:
    f = decode_fields(regs, FAST_START, FAST_COUNT)
    return SofarPowers(
        grid_power_w=-f["grid_export_power_w"],
        battery_power_w=-f["battery_charge_power_w"],
        battery_soc_pct=f["battery_soc_pct"],
        load_power_w=f["load_power_w"],
        pv_power_w=f["pv_power_w"],
    )


def encode(
    values: Mapping[str, float],
    start: int = LIVE_START,
    count: int = LIVE_COUNT,
    by_field: Mapping[str, Register] = BY_FIELD,
) -> list[int]:
    """{field: value} in Sofar's signs -> raw registers start..start+count; unnamed
    registers, and fields outside the range, read 0.

    Used by the emulators; values are rounded to the register's resolution and
    saturated to the register's raw range, as a real device would report them.
    """
    regs = [0] * count
    for field, value in values.items():
        r = by_field[field]
        i = r.address - start
        if i < 0 or i + (2 if r.kind == "U32" else 1) > count:
            continue
        raw = round(value / r.scale)
        if r.kind == "U32":
            raw = min(max(raw, 0), 0xFFFFFFFF)
            regs[i], regs[i + 1] = raw >> 16, raw & 0xFFFF
        elif r.kind == "I16":
            regs[i] = min(max(raw, -0x8000), 0x7FFF) & 0xFFFF
        else:
            regs[i] = min(max(raw, 0), 0xFFFF)
    return regs


def decode_serial(regs: Sequence[int]) -> str:
    """0x2001-0x2007: 14 ASCII characters, high byte first (§2.3)."""
    raw = b"".join(int(r).to_bytes(2, "big") for r in regs)
    return raw.decode("ascii", errors="replace").strip("\x00 ")


def encode_serial(serial: str, registers: int = SERIAL_COUNT) -> list[int]:
    raw = serial.encode("ascii").ljust(2 * registers, b"\x00")[: 2 * registers]
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
