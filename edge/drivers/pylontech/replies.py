"""Decoders for the Pylontech replies the driver reads besides 0x92: analog values (0x42)
and alarm info (0x44), for every module at once (INFO 0xFF to the master), and the
charge-management limits (0x92) the driver publishes as BmsLimits.

Layouts: docs/reference/pylontech.md §1.6 and §1.7. Cell voltages in mV, temperatures
in 0.1 K with a 273.1 K offset, current in 0.1 A (+ = charging). Status1 bit positions are
the reference's reading of the PDF item order (marked unverified there).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from edge.drivers.pylontech.frames import TEMP_OFFSET, FrameError

# Plausibility: a LiFePO4 cell reads 2.0-4.0 V in any state a BMS reports; outside that
# the reply is garbled, and rejected.
CELL_MIN_PLAUSIBLE_V, CELL_MAX_PLAUSIBLE_V = 1.0, 4.5
TEMP_MIN_PLAUSIBLE_DEGC, TEMP_MAX_PLAUSIBLE_DEGC = -40.0, 100.0
MAX_MODULE_CURRENT_A = 200.0  # beyond any Pylontech module's rating: implausible

STATUS1_BITS = (  # (bit, what), pylontech.md §1.7
    (7, "module under-voltage"),
    (6, "charge over-temperature"),
    (5, "discharge over-temperature"),
    (4, "discharge over-current"),
    (2, "charge over-current"),
    (1, "cell under-voltage"),
    (0, "module over-voltage"),
)
LEVEL = {0x01: "below its lower limit", 0x02: "above its upper limit", 0xF0: "in error"}


@dataclass(frozen=True)
class ModuleAnalog:
    cell_voltages_v: tuple[float, ...]
    temperatures_degc: tuple[float, ...]  # BMS board, then the cell groups
    current_a: float  # + = charging
    voltage_v: float
    remaining_ah: float
    total_ah: float
    cycles: int


class _Cursor:
    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, fmt: str) -> tuple[int, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise FrameError(f"{self.what}: INFO ends after {len(self.data)} bytes, expected more")
        out = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return out

    def byte(self) -> int:
        return self.take(">B")[0]

    def u24(self) -> int:
        hi, lo = self.take(">BH")
        return (hi << 16) | lo


def decode_analog(info: bytes, modules: int) -> list[ModuleAnalog]:
    """INFO of a 0x42 reply to INFO 0xFF: INFOFLAG, module count, then each module."""
    c = _Cursor(info, "analog values (0x42)")
    c.byte()  # INFOFLAG
    count = c.byte()
    if count != modules:
        raise FrameError(f"analog values for {count} modules, expected {modules}")
    out = []
    for m in range(modules):
        cells = c.take(f">{c.byte()}H")
        temps = c.take(f">{c.byte()}h")
        current, voltage, remaining, user_items, total, cycles = c.take(">hHHBHH")
        if user_items == 4:  # modules above 65 Ah: the 24-bit fields hold the capacity
            remaining, total = c.u24(), c.u24()
        m_out = ModuleAnalog(
            cell_voltages_v=tuple(mv / 1000.0 for mv in cells),
            temperatures_degc=tuple((t - TEMP_OFFSET) / 10.0 for t in temps),
            current_a=current / 10.0,
            voltage_v=voltage / 1000.0,
            remaining_ah=remaining / 1000.0,
            total_ah=total / 1000.0,
            cycles=cycles,
        )
        for v in m_out.cell_voltages_v:
            if not CELL_MIN_PLAUSIBLE_V <= v <= CELL_MAX_PLAUSIBLE_V:
                raise FrameError(f"module {m + 1}: cell voltage {v:g} V is implausible")
        for t in m_out.temperatures_degc:
            if not TEMP_MIN_PLAUSIBLE_DEGC <= t <= TEMP_MAX_PLAUSIBLE_DEGC:
                raise FrameError(f"module {m + 1}: temperature {t:g} degC is implausible")
        out.append(m_out)
    return out


def decode_alarms(info: bytes, modules: int) -> list[str]:
    """INFO of a 0x44 reply to INFO 0xFF -> the active alarms, one line each, e.g.
    'module 2: cell 7 voltage above its upper limit'; [] when all is normal."""
    c = _Cursor(info, "alarm info (0x44)")
    c.byte()  # DATAFLAG
    alarms: list[str] = []
    for m in range(1, modules + 1):
        c.byte()  # command value
        for k, s in enumerate(c.take(f">{c.byte()}B"), start=1):
            if s:
                alarms.append(f"module {m}: cell {k} voltage {LEVEL.get(s, f'status 0x{s:02X}')}")
        for k, s in enumerate(c.take(f">{c.byte()}B"), start=1):
            if s:
                alarms.append(f"module {m}: temperature {k} {LEVEL.get(s, f'status 0x{s:02X}')}")
        for name, s in zip(
            ("charge current", "module voltage", "discharge current"), c.take(">3B"), strict=True
        ):
            if s:
                alarms.append(f"module {m}: {name} {LEVEL.get(s, f'status 0x{s:02X}')}")
        status1, _status2, _status3, status4, status5 = c.take(">5B")
        alarms += [f"module {m}: {what}" for bit, what in STATUS1_BITS if status1 >> bit & 1]
        errors = [k + 1 for k in range(8) if status4 >> k & 1]
        errors += [k + 9 for k in range(8) if status5 >> k & 1]
        alarms += [f"module {m}: cell {k} voltage error" for k in errors]
    return alarms


@dataclass(frozen=True)
class BmsLimits:
    """The pack's current limits, DC side (A, >= 0), summed over the modules."""

    charge_limit_a: float
    discharge_limit_a: float
    cell_min_v: float | None = None  # over every cell of every module
    cell_max_v: float | None = None
    temp_min_degc: float | None = None
    temp_max_degc: float | None = None
    soc_pct: float | None = None  # remaining / total capacity (the BMS sends no SOC)
    alarms: tuple[str, ...] = ()

    @property
    def cell_spread_mv(self) -> float | None:
        if self.cell_min_v is None or self.cell_max_v is None:
            return None
        return (self.cell_max_v - self.cell_min_v) * 1000.0


def decode_charge_management(info: bytes) -> tuple[float, float]:
    """INFO of a 0x92 reply -> (charge, discharge) limits in A; raises FrameError."""
    if len(info) < 10:
        raise FrameError(f"charge-management INFO of {len(info)} bytes, expected 10")
    _adr, _v_chg, _v_dis, charge, discharge, _status = struct.unpack(">BHHhhB", info[:10])
    # Some firmware reports the discharge limit negative (python-pylontech): its size counts.
    charge_a, discharge_a = charge / 10.0, abs(discharge) / 10.0
    for what, a in (("charge", charge_a), ("discharge", discharge_a)):
        if not 0.0 <= a <= MAX_MODULE_CURRENT_A:
            raise FrameError(f"{what} current limit {a:g} A is outside 0..{MAX_MODULE_CURRENT_A:g}")
    return charge_a, discharge_a
