"""Home Assistant entities, declared as data.

Units, device classes and state classes per docs/reference/ha-mqtt-discovery.md §6.1
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
    device: str  # "bridge" | "inverter" | "dab" | "bms" | "diverter" | "heat_pump"
    unit: str | None
    device_class: str | None
    state_class: str | None
    precision: int | None = None
    entity_category: str | None = None
    topic: str = "state"  # "state": <base>/state each tick; "energy": <base>/energy totals


def _total(key: str, name: str, device: str = "bridge") -> SensorDescription:
    """A lifetime total for the Energy dashboard (edge/energy.py)."""
    return SensorDescription(
        key, name, device, "kWh", "energy", "total_increasing", 2, topic="energy"
    )


SENSORS: tuple[SensorDescription, ...] = (
    _total("grid_import_kwh", "Grid import"),
    _total("grid_export_kwh", "Grid export"),
    _total("battery_charge_kwh", "Battery charged"),
    _total("battery_discharge_kwh", "Battery discharged"),
    _total("pv_kwh", "PV energy"),
    _total("diverted_kwh", "Energy diverted to the tank", "diverter"),
    _total("dab_charge_kwh", "Energy into the second string", "dab"),
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
        "dab_startup", "Start-up", "dab", None, None, None, entity_category="diagnostic"
    ),
    SensorDescription(
        "dab_writes",
        "Board writes",
        "dab",
        None,
        None,
        "total_increasing",
        entity_category="diagnostic",
    ),
    SensorDescription(
        "bms_charge_limit_a", "Charge current limit", "bms", "A", "current", "measurement", 1
    ),
    SensorDescription(
        "bms_discharge_limit_a", "Discharge current limit", "bms", "A", "current", "measurement", 1
    ),
    SensorDescription("bms_cell_min_v", "Lowest cell", "bms", "V", "voltage", "measurement", 3),
    SensorDescription("bms_cell_max_v", "Highest cell", "bms", "V", "voltage", "measurement", 3),
    SensorDescription(
        "bms_cell_spread_mv", "Cell spread", "bms", "mV", "voltage", "measurement", 0
    ),
    SensorDescription(
        "bms_temp_max_degc", "Warmest sensor", "bms", "°C", "temperature", "measurement", 1
    ),
    SensorDescription("bms_soc_pct", "BMS SOC", "bms", "%", "battery", "measurement", 0),
    SensorDescription("bms_alarms", "Alarms", "bms", None, None, None),
    SensorDescription(
        "heater_power_w", "Immersion power", "diverter", "W", "power", "measurement", 0
    ),
    SensorDescription(
        "diverter_setpoint_w", "Immersion setpoint", "diverter", "W", "power", "measurement", 0
    ),
    SensorDescription(
        "tank_temp_degc", "Tank temperature", "diverter", "°C", "temperature", "measurement", 1
    ),
    SensorDescription(
        "diverter_writes",
        "Diverter writes",
        "diverter",
        None,
        None,
        "total_increasing",
        entity_category="diagnostic",
    ),
    SensorDescription(
        "heat_pump_power_w", "Heat pump power", "heat_pump", "W", "power", "measurement", 0
    ),
    SensorDescription("heat_pump_sg_ready", "SG-Ready state", "heat_pump", None, None, None),
    SensorDescription("reason", "Decision", "bridge", None, None, None),
    SensorDescription("inverter_state", "Running state", "inverter", None, None, None),
    SensorDescription(
        "battery_temp_degc",
        "Battery temperature",
        "inverter",
        "°C",
        "temperature",
        "measurement",
        0,
    ),
    SensorDescription("dab_faults", "Latched faults", "dab", None, None, None),
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


@dataclass(frozen=True)
class BinarySensorDescription:
    key: str  # key in the state JSON (ON / OFF)
    name: str
    device: str
    device_class: str | None
    link: bool = False  # True: reads <base>/<device>/status (online / offline) instead


BINARY_SENSORS: tuple[BinarySensorDescription, ...] = (
    BinarySensorDescription("emergency_stop", "Emergency stop", "bridge", "problem"),
    BinarySensorDescription("safe_state", "Safe state", "bridge", "problem"),
    BinarySensorDescription("bms_alarm", "BMS alarm", "bms", "problem"),
    BinarySensorDescription("export_over_limit", "Export over limit", "bridge", "problem"),
    BinarySensorDescription("inverter_fault", "Inverter fault", "inverter", "problem"),
    BinarySensorDescription("dab_tripped", "Tripped", "dab", "problem"),
    BinarySensorDescription("inverter_link", "Inverter link", "inverter", "connectivity", True),
    BinarySensorDescription("bms_link", "BMS link", "bms", "connectivity", True),
    BinarySensorDescription("dab_link", "Board link", "dab", "connectivity", True),
    BinarySensorDescription("boost_hot_water", "Hot-water boost", "diverter", "running"),
)
