"""Home Assistant entities, declared as data.

Units, device classes and state classes per shared/reference/ha-mqtt-discovery.md §6.1
and §9: power in W with state_class measurement; SOC as device_class battery in %;
daily energy counters as energy/kWh/total_increasing (the Energy dashboard accepts them,
and they reset at midnight). Power signs follow HA's Energy dashboard: grid + = import,
battery + = discharge.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SensorDescription:
    key: str  # key in the state JSON and suffix of the unique_id
    name: str
    device: str  # "bridge" | "inverter" | "dab"
    unit: str | None
    device_class: str | None
    state_class: str | None
    precision: int | None = None
    entity_category: str | None = None


SENSORS: tuple[SensorDescription, ...] = (
    SensorDescription("grid_power_w", "Grid power", "inverter", "W", "power", "measurement", 0),
    SensorDescription(
        "battery_power_w", "Battery power", "inverter", "W", "power", "measurement", 0
    ),
    SensorDescription("load_power_w", "Load power", "inverter", "W", "power", "measurement", 0),
    SensorDescription("pv_power_w", "PV power", "inverter", "W", "power", "measurement", 0),
    SensorDescription(
        "battery_soc_pct", "Battery SOC", "inverter", "%", "battery", "measurement", 0
    ),
    SensorDescription(
        "battery_voltage_v", "Battery voltage", "inverter", "V", "voltage", "measurement", 2
    ),
    SensorDescription(
        "import_today_kwh", "Grid import today", "inverter", "kWh", "energy", "total_increasing", 2
    ),
    SensorDescription(
        "export_today_kwh", "Grid export today", "inverter", "kWh", "energy", "total_increasing", 2
    ),
    SensorDescription(
        "pv_today_kwh", "PV energy today", "inverter", "kWh", "energy", "total_increasing", 2
    ),
    SensorDescription(
        "battery_charge_today_kwh",
        "Battery charged today",
        "inverter",
        "kWh",
        "energy",
        "total_increasing",
        2,
    ),
    SensorDescription(
        "battery_discharge_today_kwh",
        "Battery discharged today",
        "inverter",
        "kWh",
        "energy",
        "total_increasing",
        2,
    ),
    SensorDescription(
        "dab_charge_current_a", "String current", "dab", "A", "current", "measurement", 2
    ),
    SensorDescription(
        "dab_string_voltage_v", "String voltage", "dab", "V", "voltage", "measurement", 2
    ),
    SensorDescription("dab_power_w", "String power", "dab", "W", "power", "measurement", 0),
    SensorDescription(
        "inverter_writes",
        "Inverter writes",
        "bridge",
        None,
        None,
        "total_increasing",
        entity_category="diagnostic",
    ),
)
