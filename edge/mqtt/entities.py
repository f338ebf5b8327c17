"""Home Assistant entities, declared as data.

Units, device classes and state classes per docs/reference/ha-mqtt-discovery.md §6.1
and §9: power in W with state_class measurement; SOC as device_class battery in %;
daily energy counters as energy/kWh/total_increasing (the Energy dashboard accepts them,
and they reset at midnight). Power signs follow HA's Energy dashboard: grid + = import,
battery + = discharge.

Each entity on the state topic also says where its value comes from: a source (one part
of the tick, edge/mqtt/sources.py) and a value function of that part, which gives what
the state document carries under the entity's key. Discovery (edge/mqtt/discovery.py) and
the state document (edge/mqtt/state.py) are both read from these tables, so a new entity
is one row here. Rows are made with sensor() and binary_sensor(), so mypy checks each
value function against its source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar

from edge.ccore import fault_names
from edge.core.model import InverterMode
from edge.drivers.link_counters import LINK_FAULT_CLASSES, LinkCounters
from edge.drivers.sofar.registers import SofarLive
from edge.mqtt.sources import (
    BMS,
    BMS_LINK,
    DAB_BOARD,
    DAB_LINK,
    DAB_READING,
    DAB_TELEMETRY,
    INVERTER,
    INVERTER_LINK,
    LOADS,
    PLAN,
    REQUESTS,
    S2_EXPORT_LINK,
    S2_HEAT_PUMP_LINK,
    S2_LINK,
    S2_TANK_LINK,
    STORAGE,
    TICK,
    Source,
    on,
)

T = TypeVar("T")


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
    # Where the state document's value comes from; None on the energy topic, whose totals
    # are edge/energy.py's own document.
    source: Source[Any] | None = None
    value: Callable[[Any], Any] | None = None
    # A retained topic under <base> whose JSON object Home Assistant shows as the entity's
    # attributes (json_attributes_topic), e.g. "plan": the whole plan for a chart card.
    attributes_topic: str | None = None


@dataclass(frozen=True)
class Kind:
    """What Home Assistant is told about a sensor's value."""

    unit: str | None
    device_class: str | None
    state_class: str | None
    precision: int | None = None  # suggested display precision
    entity_category: str | None = None


def _measured(unit: str, device_class: str, precision: int) -> Kind:
    return Kind(unit, device_class, "measurement", precision)


POWER_W = _measured("W", "power", 0)
SOC_PCT = _measured("%", "battery", 0)
TODAY_KWH = Kind("kWh", "energy", "total_increasing", 2)  # the inverter's, reset at midnight
TEXT = Kind(None, None, None)
TIMESTAMP = Kind(None, "timestamp", None)
MONEY_GBP = Kind("GBP", "monetary", None, 2)
AGE_S = Kind("s", "duration", "measurement", 0, "diagnostic")
WRITES = Kind(None, None, "total_increasing", entity_category="diagnostic")


def sensor(
    key: str, name: str, device: str, kind: Kind, source: Source[T], value: Callable[[T], Any]
) -> SensorDescription:
    """A sensor on the state topic: value(part) is what the state document carries under
    key, part being what source reads this tick."""
    k = kind
    return SensorDescription(
        key,
        name,
        device,
        k.unit,
        k.device_class,
        k.state_class,
        k.precision,
        k.entity_category,
        source=source,
        value=value,
    )


def _total(key: str, name: str, device: str = "bridge") -> SensorDescription:
    """A lifetime total for the Energy dashboard (edge/energy.py)."""
    return SensorDescription(
        key, name, device, "kWh", "energy", "total_increasing", 2, topic="energy"
    )


def _today(key: str, name: str, kwh: Callable[[SofarLive], float]) -> SensorDescription:
    return sensor(key, name, "inverter", TODAY_KWH, INVERTER, lambda i: round(kwh(i.live), 2))


def _link_faults(device: str, source: Source[LinkCounters]) -> tuple[SensorDescription, ...]:
    """One diagnostic counter per link fault class, e.g. inverter_link_crc_errors."""
    return tuple(
        sensor(f"{device}_link_{attr}", name, device, WRITES, source, attrgetter(attr))
        for attr, name in LINK_FAULT_CLASSES
    )


def _get(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda d: d.get(key)


def _plan_sensors() -> tuple[SensorDescription, ...]:
    """The live planner (docs/planner.md, "In Home Assistant"): left out of the document
    where [planner] is not enabled. The action sensor carries the whole plan as its
    attributes, from the retained <base>/plan topic."""
    rows = (
        ("plan_action", "Plan action now", TEXT),
        ("plan_next_action", "Plan next action", TEXT),
        ("plan_next_action_at", "Plan next action at", TIMESTAMP),
        ("plan_target_soc_pct", "Plan target SOC", SOC_PCT),
        ("plan_cost_today_gbp", "Plan cost rest of today", MONEY_GBP),
        ("plan_cost_tomorrow_gbp", "Plan cost tomorrow", MONEY_GBP),
        ("plan_saving_gbp", "Plan saving over the horizon", MONEY_GBP),
        ("plan_age_s", "Plan age", AGE_S),
        ("plan_problem", "Plan problem", Kind(None, None, None, entity_category="diagnostic")),
        # The SG-Ready request of the slot now (edge/planner/status.py, heat_pump_request);
        # heat_pump_sg_ready is what the relays are set to, after the core's rules.
        ("plan_heat_pump", "Plan heat pump request", TEXT),
    )
    out = tuple(sensor(key, name, "bridge", kind, PLAN, _get(key)) for key, name, kind in rows)
    return (dataclasses.replace(out[0], attributes_topic="plan"), *out[1:])


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


SENSORS: tuple[SensorDescription, ...] = (
    _total("grid_import_kwh", "Grid import"),
    _total("grid_export_kwh", "Grid export"),
    _total("battery_charge_kwh", "Battery charged"),
    _total("battery_discharge_kwh", "Battery discharged"),
    # The charge by its source (edge/energy.py states the rule), for HA's Energy dashboard.
    _total("battery_charge_pv_kwh", "Battery charged from PV"),
    _total("battery_charge_grid_kwh", "Battery charged from the grid"),
    _total("pv_kwh", "PV energy"),
    _total("diverted_kwh", "Energy diverted to the tank", "diverter"),
    _total("dab_charge_kwh", "Energy into the second string", "dab"),
    sensor(
        "grid_power_w",
        "Grid power",
        "inverter",
        POWER_W,
        INVERTER,
        lambda i: i.reading.grid_power_w,
    ),
    sensor(
        "battery_power_w",
        "Battery power",
        "inverter",
        POWER_W,
        INVERTER,
        lambda i: i.reading.battery_power_w,
    ),
    sensor(
        "load_power_w",
        "Load power",
        "inverter",
        POWER_W,
        INVERTER,
        lambda i: i.reading.load_power_w,
    ),
    sensor("pv_power_w", "PV power", "inverter", POWER_W, INVERTER, lambda i: i.reading.pv_power_w),
    sensor(
        "battery_soc_pct",
        "Battery SOC",
        "inverter",
        SOC_PCT,
        INVERTER,
        lambda i: i.reading.battery_soc_pct,
    ),
    sensor(
        "battery_voltage_v",
        "Battery voltage",
        "inverter",
        _measured("V", "voltage", 2),
        INVERTER,
        lambda i: round(i.live.battery_voltage_v, 2),
    ),
    _today("import_today_kwh", "Grid import today", lambda live: live.import_today_kwh),
    _today("export_today_kwh", "Grid export today", lambda live: live.export_today_kwh),
    _today("pv_today_kwh", "PV energy today", lambda live: live.pv_today_kwh),
    _today(
        "battery_charge_today_kwh",
        "Battery charged today",
        lambda live: live.battery_charge_today_kwh,
    ),
    _today(
        "battery_discharge_today_kwh",
        "Battery discharged today",
        lambda live: live.battery_discharge_today_kwh,
    ),
    sensor(
        "dab_charge_current_a",
        "String current",
        "dab",
        _measured("A", "current", 2),
        DAB_READING,
        lambda d: round(d.charge_current_a, 3),
    ),
    sensor(
        "dab_string_voltage_v",
        "String voltage",
        "dab",
        _measured("V", "voltage", 2),
        DAB_READING,
        lambda d: round(d.string_voltage_v, 3),
    ),
    sensor(
        "dab_power_w",
        "String power",
        "dab",
        POWER_W,
        DAB_READING,
        lambda d: round(d.charge_current_a * d.string_voltage_v, 1),
    ),
    sensor(
        "dab_startup",
        "Start-up",
        "dab",
        Kind(None, None, None, entity_category="diagnostic"),
        DAB_BOARD,
        lambda board: board.startup.value,
    ),
    sensor("dab_writes", "Board writes", "dab", WRITES, DAB_BOARD, lambda board: board.writes),
    sensor(
        "bms_charge_limit_a",
        "Charge current limit",
        "bms",
        _measured("A", "current", 1),
        BMS,
        lambda b: round(b.charge_limit_a, 1),
    ),
    sensor(
        "bms_discharge_limit_a",
        "Discharge current limit",
        "bms",
        _measured("A", "current", 1),
        BMS,
        lambda b: round(b.discharge_limit_a, 1),
    ),
    sensor(
        "bms_cell_min_v",
        "Lowest cell",
        "bms",
        _measured("V", "voltage", 3),
        BMS,
        lambda b: b.cell_min_v,
    ),
    sensor(
        "bms_cell_max_v",
        "Highest cell",
        "bms",
        _measured("V", "voltage", 3),
        BMS,
        lambda b: b.cell_max_v,
    ),
    sensor(
        "bms_cell_spread_mv",
        "Cell spread",
        "bms",
        _measured("mV", "voltage", 0),
        BMS,
        lambda b: _round(b.cell_spread_mv, 1),
    ),
    sensor(
        "bms_temp_max_degc",
        "Warmest sensor",
        "bms",
        _measured("°C", "temperature", 1),
        BMS,
        lambda b: b.temp_max_degc,
    ),
    sensor("bms_soc_pct", "BMS SOC", "bms", SOC_PCT, BMS, lambda b: _round(b.soc_pct, 1)),
    sensor("bms_alarms", "Alarms", "bms", TEXT, BMS, lambda b: "; ".join(b.alarms) or "none"),
    sensor(
        "heater_power_w",
        "Immersion power",
        "diverter",
        POWER_W,
        LOADS,
        lambda ld: round(ld.reading.heater_w, 1),
    ),
    sensor(
        "diverter_setpoint_w",
        "Immersion setpoint",
        "diverter",
        POWER_W,
        LOADS,
        lambda ld: round(ld.sp.diverter_w, 1),
    ),
    sensor(
        "tank_temp_degc",
        "Tank temperature",
        "diverter",
        _measured("°C", "temperature", 1),
        LOADS,
        lambda ld: ld.reading.tank_temp_degc,
    ),
    sensor(
        "diverter_writes",
        "Diverter writes",
        "diverter",
        WRITES,
        LOADS,
        lambda ld: ld.diverter_writes,
    ),
    sensor(
        "heat_pump_power_w",
        "Heat pump power",
        "heat_pump",
        POWER_W,
        LOADS,
        lambda ld: round(ld.reading.heat_pump_w, 1),
    ),
    sensor(
        "heat_pump_sg_ready",
        "SG-Ready state",
        "heat_pump",
        TEXT,
        LOADS,
        lambda ld: ld.sp.sg_ready.value,
    ),
    sensor("reason", "Decision", "bridge", TEXT, TICK, lambda t: t.sp.reason),
    # Why the state file cannot be written (the disk full), bounded for HA's 255-character
    # state; "none" when every write goes through.
    sensor(
        "storage_problem_reason",
        "Storage problem reason",
        "bridge",
        TEXT,
        STORAGE,
        lambda s: (s.problem or "none")[:250],
    ),
    sensor(
        "inverter_state",
        "Running state",
        "inverter",
        TEXT,
        INVERTER,
        lambda i: i.live.running_state,
    ),
    sensor(
        "battery_temp_degc",
        "Battery temperature",
        "inverter",
        _measured("°C", "temperature", 0),
        INVERTER,
        lambda i: i.live.battery_temp_degc,
    ),
    sensor(
        "dab_faults",
        "Latched faults",
        "dab",
        TEXT,
        DAB_TELEMETRY,
        lambda tm: fault_names(tm.faults_latched) or "none",
    ),
    # The links to an S2 energy manager (docs/s2.md), one session per resource:
    # connecting, handshake, active FRBC, waiting; each left out of the document where
    # that session does not run (all where [s2] is not enabled). s2_link is the battery's.
    sensor("s2_link", "S2 link", "bridge", TEXT, S2_LINK, lambda s: s.shown()),
    sensor("s2_tank_link", "S2 link tank", "bridge", TEXT, S2_TANK_LINK, lambda s: s.shown()),
    sensor(
        "s2_heat_pump_link",
        "S2 link heat pump",
        "bridge",
        TEXT,
        S2_HEAT_PUMP_LINK,
        lambda s: s.shown(),
    ),
    sensor(
        "s2_export_link",
        "S2 link export limit",
        "bridge",
        TEXT,
        S2_EXPORT_LINK,
        lambda s: s.shown(),
    ),
    sensor(
        "inverter_writes",
        "Inverter writes",
        "bridge",
        WRITES,
        TICK,
        lambda t: t.devices.inverter.writes.total,
    ),
    *_link_faults("inverter", INVERTER_LINK),
    *_link_faults("dab", DAB_LINK),
    *_link_faults("bms", BMS_LINK),
    *_plan_sensors(),
)


@dataclass(frozen=True)
class BinarySensorDescription:
    key: str  # key in the state JSON (ON / OFF)
    name: str
    device: str
    device_class: str | None
    link: bool = False  # True: reads <base>/<device>/status (online / offline) instead
    # Where the state document's value ("ON" or "OFF") comes from; None for a link.
    source: Source[Any] | None = None
    value: Callable[[Any], str] | None = None


def binary_sensor(
    key: str,
    name: str,
    device: str,
    device_class: str | None,
    source: Source[T],
    value: Callable[[T], str],
) -> BinarySensorDescription:
    """A binary sensor on the state topic: value(part) is "ON" or "OFF"."""
    return BinarySensorDescription(key, name, device, device_class, source=source, value=value)


def _link(key: str, name: str, device: str) -> BinarySensorDescription:
    return BinarySensorDescription(key, name, device, "connectivity", link=True)


BINARY_SENSORS: tuple[BinarySensorDescription, ...] = (
    binary_sensor(
        "emergency_stop",
        "Emergency stop",
        "bridge",
        "problem",
        REQUESTS,
        lambda r: r["emergency_stop"],
    ),
    binary_sensor(
        "safe_state",
        "Safe state",
        "bridge",
        "problem",
        TICK,
        lambda t: on(t.sp.inverter.mode is InverterMode.SELF_USE),
    ),
    binary_sensor(
        "storage_problem",
        "Storage problem",
        "bridge",
        "problem",
        STORAGE,
        lambda s: on(s.problem is not None),
    ),
    binary_sensor("bms_alarm", "BMS alarm", "bms", "problem", BMS, lambda b: on(bool(b.alarms))),
    binary_sensor(
        "export_over_limit",
        "Export over limit",
        "bridge",
        "problem",
        TICK,
        lambda t: on(t.sp.export_over_limit_w > 0),
    ),
    binary_sensor(
        "inverter_fault",
        "Inverter fault",
        "inverter",
        "problem",
        INVERTER,
        lambda i: on(any(i.live.fault_words)),
    ),
    binary_sensor(
        "dab_tripped",
        "Tripped",
        "dab",
        "problem",
        DAB_TELEMETRY,
        lambda tm: on(bool(tm.faults_latched)),
    ),
    _link("inverter_link", "Inverter link", "inverter"),
    _link("bms_link", "BMS link", "bms"),
    _link("dab_link", "Board link", "dab"),
    binary_sensor(
        "boost_hot_water",
        "Hot-water boost",
        "diverter",
        "running",
        REQUESTS,
        lambda r: r["boost_hot_water"],
    ),
)
