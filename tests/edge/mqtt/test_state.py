"""The state document, read from the entity table: its keys for each combination of
devices, from a live supervisor against the simulated house, and its values for a
hand-built tick."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from types import SimpleNamespace

import pytest

from edge.clock import ScaledClock
from edge.config import EdgeConfig
from edge.core.model import (
    BmsReading,
    DabReading,
    InverterCommand,
    InverterMode,
    InverterReading,
    LoadsReading,
    ProcessImage,
    Requests,
    Sample,
    Setpoints,
    SgState,
)
from edge.drivers.dab.driver import DabDriver, Startup
from edge.drivers.dab.registers import DabTelemetry
from edge.drivers.link_counters import LINK_FAULT_CLASSES, LinkCounters
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.loads.sim import EmulatedLoads
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.pylontech.replies import BmsLimits
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.g3_driver import SofarG3Driver
from edge.drivers.sofar.registers import SofarLive
from edge.energy import TOTALS
from edge.mqtt.commands import COMMANDS
from edge.mqtt.entities import BINARY_SENSORS, SENSORS
from edge.mqtt.sources import Devices
from edge.mqtt.state import FIELDS, state_doc
from edge.sim.house import HouseParams
from edge.sim.world import SimulatedWorld, WorldParams
from edge.state_db import StorageHealth
from edge.supervisor import Supervisor

NOON_S = 12 * 3600.0


def link(device: str) -> set[str]:
    """A device's link fault counters (edge/drivers/link_counters.py)."""
    return {f"{device}_link_{attr}" for attr, _name in LINK_FAULT_CLASSES}


# Whatever is fitted: the decision, the requests and settings in force, the inverter.
ALWAYS = {
    "t_s",
    "mode",
    "reason",
    "inverter_writes",
    "safe_state",
    "mode_request",
    "force_charge_w",
    "boost_hot_water",
    "emergency_stop",
    "diverter_enabled",
    "allow_battery_to_heat_water",
    "reserve_soc_pct",
    "max_charge_w",
    "export_limit_w",
    "export_over_limit_w",
    "export_over_limit",
    "grid_power_w",
    "battery_power_w",
    "load_power_w",
    "pv_power_w",
    "battery_soc_pct",
    "battery_voltage_v",
    "battery_temp_degc",
    "inverter_state",
    "inverter_fault",
    "storage_problem",
    "storage_problem_reason",
    "import_today_kwh",
    "export_today_kwh",
    "pv_today_kwh",
    "battery_charge_today_kwh",
    "battery_discharge_today_kwh",
} | link("inverter")
BMS = {
    "bms_charge_limit_a",
    "bms_discharge_limit_a",
    "bms_cell_min_v",
    "bms_cell_max_v",
    "bms_cell_spread_mv",
    "bms_temp_max_degc",
    "bms_soc_pct",
    "bms_alarm",
    "bms_alarms",
} | link("bms")
LOADS = {
    "diverter_setpoint_w",
    "heater_power_w",
    "heat_pump_power_w",
    "heat_pump_sg_ready",
    "tank_temp_degc",
    "diverter_writes",
}
DAB = {
    "dab_charge_current_a",
    "dab_string_voltage_v",
    "dab_power_w",
    "dab_startup",
    "dab_writes",
    "dab_tripped",
    "dab_faults",
} | link("dab")


async def _live_doc(family: str, dab: bool, bms: bool, loads: bool) -> dict:
    """The last state document of a 20 s run of the supervisor with these devices."""
    clock = ScaledClock(start_s=NOON_S, speed=20.0)
    world = SimulatedWorld(
        clock,
        WorldParams(
            house=HouseParams(load_noise_w=0.0),
            inverter_family=family,
            dab=dab,
            dab_bus_rise_s=None,
            pylontech_port=0 if bms else None,
        ),
    )
    inverter_port, dab_port = await world.start()
    cfg = EdgeConfig.model_validate(
        {
            "inverter": {"family": family, "port": f"tcp://127.0.0.1:{inverter_port}"},
            "battery": {"bms_port": f"tcp://127.0.0.1:{world.bms.port}"} if world.bms else {},
            "dab": {"enabled": True, "port": f"tcp://127.0.0.1:{dab_port}"}
            if dab
            else {"enabled": False},
            "mqtt": {"enabled": False},
        }
    )
    driver = SofarG3Driver if family == "sofar_hyd_ep" else SofarDriver
    sup = Supervisor(
        cfg,
        clock,
        driver(cfg.inverter, clock),
        DabDriver(cfg.dab, clock) if dab else None,
        None,
        lambda _line: None,
        LoadsDriver(EmulatedLoads(world.house), cfg.loads.diverter.deadband_w) if loads else None,
        PylontechDriver(cfg.battery.bms_port, cfg.battery.bms_modules, clock)
        if cfg.battery.bms_port
        else None,
    )
    stepping = asyncio.create_task(world.run())
    try:
        await sup.run(NOON_S + 20.0, asyncio.Event())
    finally:
        stepping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stepping
        await world.stop()
    return sup.last_doc


@pytest.mark.parametrize(
    ("family", "dab", "bms", "loads", "keys"),
    [
        ("sofar_me3000sp", False, False, False, ALWAYS),
        ("sofar_me3000sp", False, True, False, ALWAYS | BMS),
        ("sofar_me3000sp", False, False, True, ALWAYS | LOADS),
        ("sofar_me3000sp", True, False, False, ALWAYS | DAB),
        ("sofar_me3000sp", True, True, True, ALWAYS | BMS | LOADS | DAB),
        ("sofar_hyd_ep", True, True, True, ALWAYS | BMS | LOADS | DAB),
    ],
)
def test_the_live_state_document_has_these_keys_per_device_combination(
    family, dab, bms, loads, keys
):
    doc = asyncio.run(_live_doc(family, dab, bms, loads))
    assert set(doc) == keys
    assert len(keys) == 37 + 14 * bms + 6 * loads + 12 * dab  # the groups do not overlap


# A hand-built tick: every value distinct, most needing a rounding.
T_S = 43200.12345
IMAGE = ProcessImage(
    t_s=T_S,
    inverter=Sample(InverterReading(120.5, -850.25, 55.5, 640.75, 1610.125), 0.2),
    dab=Sample(DabReading(2.34567, 13.24681, False), 0.3),
    bms=Sample(BmsReading(2500.0, 3600.0), 1.0),
    loads=Sample(LoadsReading(1234.56, 0.04, 48.5), 0.5),
)
SETPOINTS = Setpoints(
    InverterCommand(InverterMode.PASSIVE, -850.0),
    2.5,
    "surplus to the tank",
    diverter_w=1250.04,
    sg_ready=SgState.RECOMMEND,
    export_over_limit_w=12.345,
)
REQUESTS = Requests(
    mode="standby",
    mode_until_s=T_S + 600.0,
    boost_hot_water_until_s=T_S + 60.0,
    allow_battery_to_heat_water=True,
    reserve_soc_pct=30.0,
    export_limit_w=2000.0,
)
LIVE = SofarLive(
    running_state="charging",
    grid_power_w=120.5,
    battery_power_w=-850.25,
    battery_current_a=-16.5,
    battery_voltage_v=51.2371,
    battery_soc_pct=55.5,
    battery_temp_degc=24.0,
    load_power_w=640.75,
    pv_power_w=1610.125,
    grid_voltage_v=240.1,
    grid_frequency_hz=50.01,
    import_today_kwh=3.14159,
    export_today_kwh=1.23456,
    pv_today_kwh=7.891,
    load_today_kwh=5.0,
    battery_charge_today_kwh=2.556,
    battery_discharge_today_kwh=1.0049,
    fault_words=(0, 4, 0),
)
LIMITS = BmsLimits(
    charge_limit_a=50.04,
    discharge_limit_a=74.96,
    cell_min_v=3.301,
    cell_max_v=3.334,
    temp_min_degc=21.0,
    temp_max_degc=27.5,
    soc_pct=61.27,
    alarms=("cell overvoltage", "charge overcurrent"),
)
TELEMETRY = DabTelemetry(
    string_voltage_v=13.25,
    charge_current_a=2.35,
    bus_voltage_v=24.0,
    string_temp_degc=22.0,
    cell_min_v=3.3,
    cell_max_v=3.32,
    control_mode=1,
    command=0,
    protocol_step=1,
    protocol_done=False,
    protection_action=0,
    faults_latched=0b101,
    faults_active=0,
    contactor_closed=True,
    psi_rad=0.1,
    steps=1000,
    firmware_version=1,
    board_id=7,
)


def devices(
    dab: bool = True, bms: bool = True, loads: bool = True, storage: StorageHealth | None = None
) -> Devices:
    """The ports as plain data: what the state document reads of each device."""
    return Devices(
        inverter=SimpleNamespace(
            last_live=LIVE, writes=SimpleNamespace(total=17), counters=LinkCounters(crc_errors=3)
        ),
        dab=SimpleNamespace(
            startup=Startup.READY, writes=42, telemetry=TELEMETRY, counters=LinkCounters(timeouts=2)
        )
        if dab
        else None,
        bms=SimpleNamespace(
            sample=lambda t_s: Sample(LIMITS, t_s - T_S + 1.5),
            counters=LinkCounters(late_replies=1, reconnects=1),
        )
        if bms
        else None,
        loads=SimpleNamespace(writes=SimpleNamespace(diverter=9)) if loads else None,
        storage=storage or StorageHealth(),
    )


def test_the_values_of_a_hand_built_tick():
    full = StorageHealth()  # the state file on a full disk
    full.failed("outbox", sqlite3.OperationalError("database or disk is full"))
    doc = state_doc(IMAGE, SETPOINTS, devices(storage=full), REQUESTS, EdgeConfig())
    assert doc == {
        "t_s": 43200.123,
        "storage_problem": "ON",
        "storage_problem_reason": "outbox: database or disk is full",
        "mode": "passive",
        "reason": "surplus to the tank",
        "inverter_writes": 17,
        "safe_state": "OFF",
        "mode_request": "standby",
        "force_charge_w": 0.0,
        "boost_hot_water": "ON",
        "emergency_stop": "OFF",
        "diverter_enabled": "ON",
        "allow_battery_to_heat_water": "ON",
        "reserve_soc_pct": 30.0,
        "max_charge_w": 3000.0,
        "export_limit_w": 2000.0,
        "export_over_limit_w": 12.3,
        "export_over_limit": "ON",
        "bms_charge_limit_a": 50.0,
        "bms_discharge_limit_a": 75.0,
        "bms_cell_min_v": 3.301,
        "bms_cell_max_v": 3.334,
        "bms_cell_spread_mv": 33.0,
        "bms_temp_max_degc": 27.5,
        "bms_soc_pct": 61.3,
        "bms_alarm": "ON",
        "bms_alarms": "cell overvoltage; charge overcurrent",
        "diverter_setpoint_w": 1250.0,
        "heater_power_w": 1234.6,
        "heat_pump_power_w": 0.0,
        "heat_pump_sg_ready": "recommend",
        "tank_temp_degc": 48.5,
        "diverter_writes": 9,
        "grid_power_w": 120.5,
        "battery_power_w": -850.25,
        "load_power_w": 640.75,
        "pv_power_w": 1610.125,
        "battery_soc_pct": 55.5,
        "battery_voltage_v": 51.24,
        "battery_temp_degc": 24.0,
        "inverter_state": "charging",
        "inverter_fault": "ON",
        "import_today_kwh": 3.14,
        "export_today_kwh": 1.23,
        "pv_today_kwh": 7.89,
        "battery_charge_today_kwh": 2.56,
        "battery_discharge_today_kwh": 1.0,
        "dab_charge_current_a": 2.346,
        "dab_string_voltage_v": 13.247,
        "dab_power_w": 31.1,
        "dab_startup": "ready",
        "dab_writes": 42,
        "dab_tripped": "ON",
        "dab_faults": "string_ov, cell_ov",
        **{k: 0 for k in link("inverter") | link("dab") | link("bms")},
        "inverter_link_crc_errors": 3,
        "dab_link_timeouts": 2,
        "bms_link_late_replies": 1,
        "bms_link_reconnects": 1,
    }


def test_a_quiet_tick_and_what_is_left_out():
    """Safe state, no faults, no alarms, a BMS and a DAB board not yet heard, no loads
    reading: their keys are left out rather than sent as zeros."""
    quiet = SofarLive(**{**LIVE.__dict__, "fault_words": (0, 0, 0)})
    image = ProcessImage(T_S, IMAGE.inverter, None, None, None)
    sp = Setpoints(InverterCommand(InverterMode.SELF_USE), 0.0, "BMS silent")
    ports = Devices(
        inverter=SimpleNamespace(
            last_live=quiet, writes=SimpleNamespace(total=0), counters=LinkCounters()
        ),
        dab=SimpleNamespace(
            startup=Startup.WAIT_BUS, writes=0, telemetry=None, counters=LinkCounters()
        ),
        bms=SimpleNamespace(sample=lambda t_s: None, counters=LinkCounters(timeouts=4)),
        loads=SimpleNamespace(writes=SimpleNamespace(diverter=0)),
        storage=StorageHealth(),
    )
    doc = state_doc(image, sp, ports, Requests(emergency_stop=True), EdgeConfig())
    # A device not heard yet still shows its link's faults: that is when they matter.
    assert set(doc) == ALWAYS | {"dab_startup", "dab_writes"} | link("dab") | link("bms")
    assert doc["bms_link_timeouts"] == 4
    assert (doc["storage_problem"], doc["storage_problem_reason"]) == ("OFF", "none")
    assert (doc["mode"], doc["safe_state"], doc["inverter_fault"]) == ("self_use", "ON", "OFF")
    assert (doc["emergency_stop"], doc["mode_request"], doc["export_limit_w"]) == (
        "ON",
        "auto",
        25000.0,
    )
    assert (doc["export_over_limit_w"], doc["export_over_limit"]) == (0.0, "OFF")
    assert doc["dab_startup"] == "waiting for the DC bus"
    assert doc["reserve_soc_pct"] == 20.0  # the config's, no request


def test_no_inverter_reading_no_inverter_keys():
    image = ProcessImage(T_S, None, None)
    sp = Setpoints(InverterCommand(InverterMode.SELF_USE), 0.0, "inverter silent")
    doc = state_doc(image, sp, devices(dab=False, bms=False, loads=False), Requests(), EdgeConfig())
    assert set(doc) == ALWAYS - {
        "grid_power_w",
        "battery_power_w",
        "load_power_w",
        "pv_power_w",
        "battery_soc_pct",
        "battery_voltage_v",
        "battery_temp_degc",
        "inverter_state",
        "inverter_fault",
        "import_today_kwh",
        "export_today_kwh",
        "pv_today_kwh",
        "battery_charge_today_kwh",
        "battery_discharge_today_kwh",
    }


def test_every_key_comes_from_the_tables():
    """The document is the entities' keys, the controls' state keys and the few listed
    fields that no entity reads; nothing else, and nothing twice."""
    entities = [s.key for s in SENSORS if s.topic == "state"] + [
        b.key for b in BINARY_SENSORS if not b.link
    ]
    controls = [c.state_key for c in COMMANDS if c.state_key is not None]
    fields = [key for key, _read in FIELDS]
    assert fields == ["t_s", "mode", "export_over_limit_w"]
    listed = entities + controls + fields
    assert len(listed) == len(set(listed)) == 83
    doc = state_doc(IMAGE, SETPOINTS, devices(), REQUESTS, EdgeConfig())
    # the S2 sessions' keys are there only where [s2] is enabled
    # (tests/edge/s2/test_status.py), the plan's keys only where [planner] is
    # (tests/edge/planner/test_live.py)
    planned = {s.key for s in SENSORS if s.key.startswith("plan_")}
    s2 = {"s2_link", "s2_tank_link", "s2_heat_pump_link", "s2_export_link"}
    assert set(doc) == set(listed) - s2 - planned == ALWAYS | BMS | LOADS | DAB


def test_each_entity_on_the_state_topic_has_a_value_function_and_the_totals_do_not():
    for s in SENSORS:
        has_value = s.source is not None and s.value is not None
        assert has_value == (s.topic == "state"), s.key
    for b in BINARY_SENSORS:
        has_value = b.source is not None and b.value is not None
        assert has_value == (not b.link), b.key
    # The totals are edge/energy.py's own document, on the energy topic.
    assert [s.key for s in SENSORS if s.topic == "energy"] == list(TOTALS)


def test_each_source_is_read_once_a_tick():
    asked = []

    def sample(t_s):
        asked.append(t_s)
        return Sample(LIMITS, 1.0)

    ports = devices()
    bms = SimpleNamespace(sample=sample, counters=LinkCounters())
    ports = Devices(ports.inverter, ports.dab, bms, ports.loads)
    doc = state_doc(IMAGE, SETPOINTS, ports, REQUESTS, EdgeConfig())
    assert asked == [T_S]  # nine keys, one read
    assert doc["bms_alarms"] == "cell overvoltage; charge overcurrent"
