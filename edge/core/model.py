"""The core's inputs and outputs as frozen data.

Signs, stated once for all of edge: grid power + = import from the grid;
battery power + = discharge (Home Assistant's convention); DAB current + = into the
second string (charging), as the firmware defines it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Sample(Generic[T]):
    """A device reading and how old it is at the moment the image was frozen."""

    value: T
    age_s: float


@dataclass(frozen=True)
class InverterReading:
    grid_power_w: float  # + = import
    battery_power_w: float  # + = discharge (AC side)
    battery_soc_pct: float
    load_power_w: float  # everything the house draws, the DAB supply included
    pv_power_w: float


@dataclass(frozen=True)
class DabReading:
    charge_current_a: float  # + = into the string
    string_voltage_v: float
    tripped: bool


@dataclass(frozen=True)
class ProcessImage:
    t_s: float
    inverter: Sample[InverterReading] | None
    dab: Sample[DabReading] | None


class InverterMode(Enum):
    SELF_USE = "self_use"  # the inverter's own loop: the safe state
    PASSIVE = "passive"  # follows our battery power command


@dataclass(frozen=True)
class InverterCommand:
    mode: InverterMode
    battery_power_w: float = 0.0  # + = discharge; used in PASSIVE only


@dataclass(frozen=True)
class Setpoints:
    inverter: InverterCommand
    dab_charge_current_a: float
    reason: str  # why, in words, for the log line and MQTT


@dataclass(frozen=True)
class CoreConfig:
    max_charge_w: float
    max_discharge_w: float
    reserve_soc_pct: float
    max_soc_pct: float
    inverter_stale_after_s: float
    dab_enabled: bool
    dab_max_charge_current_a: float
    dab_stale_after_s: float


@dataclass(frozen=True)
class CoreState:
    """What the core carries from one cycle to the next."""

    reason: str = ""
