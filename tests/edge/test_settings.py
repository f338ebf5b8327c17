"""The site file's settings as the supervisor uses them: which apply live, the core's
config built from them, and the reload's merge."""

from __future__ import annotations

import dataclasses

from edge.config import EXAMPLE_CONFIG, EdgeConfig, load_config, parse_config, setting_specs
from edge.core import CoreConfig
from edge.menu.schema import settings as menu_settings
from edge.settings import (
    CORE_FIELDS,
    LIVE_KEYS,
    changed_keys,
    core_config,
    flatten,
    is_live,
    merge_live,
)

# The settings a running supervisor takes at once, in the model's order: what the hand
# list of prefixes gave before each setting said so itself ("policy." and 24 keys).
LIVE = [
    "inverter.max_charge_w",
    "inverter.max_discharge_w",
    "inverter.stale_after_s",
    "inverter.deadband_w",
    "battery.reserve_soc_pct",
    "battery.max_soc_pct",
    "battery.bms_stale_after_s",
    "dab.max_charge_current_a",
    "dab.stale_after_s",
    "mqtt.command_max_age_s",
    "policy.tick_s",
    "policy.request_s",
    "policy.hold_s",
    "policy.flip_threshold_w",
    "loads.diverter.element_w",
    "loads.diverter.tank_max_degc",
    "loads.diverter.deadband_w",
    "loads.heat_pump.power_w",
    "loads.heat_pump.confirm_s",
    "loads.heat_pump.release_s",
    "loads.heat_pump.min_on_s",
    "loads.heat_pump.min_off_s",
    "loads.heat_pump.max_starts_per_h",
    "loads.priority",
    "loads.stale_after_s",
    "planner.plan_max_age_s",
    "planner.replan_s",
    "planner.horizon_h",
    "planner.wear_p_per_kwh",
    "planner.hysteresis_p_per_kwh",
]

# Every setting that feeds the core, away from its default.
TUNED = parse_config(
    {
        "inverter": {"max_charge_w": 2500, "max_discharge_w": 2800, "stale_after_s": 7},
        "battery": {
            "reserve_soc_pct": 15,
            "max_soc_pct": 95,
            "bms_port": "tcp://127.0.0.1:9000",
            "bms_stale_after_s": 12,
        },
        "dab": {"enabled": False, "max_charge_current_a": 4.5, "stale_after_s": 6},
        "policy": {"hold_s": 45, "flip_threshold_w": 400},
        "loads": {
            "priority": ["heat_pump", "tank"],
            "stale_after_s": 11,
            "diverter": {"enabled": False, "element_w": 2000, "tank_max_degc": 55},
            "heat_pump": {
                "enabled": True,
                "power_w": 1200,
                "confirm_s": 200,
                "release_s": 100,
                "min_on_s": 500,
                "min_off_s": 250,
                "max_starts_per_h": 4,
            },
        },
    }
)


def test_the_live_settings_are_these():
    keys = list(flatten(EdgeConfig().model_dump()))
    # 94 + the satellite and the support URL (2), [sources] (30 + the indoor temperature's
    # 3), [s2] (15), the planner (6), its house (12) and its tariff (7)
    assert len(keys) == 169
    assert [k for k in keys if is_live(k)] == LIVE


def test_is_live():
    assert is_live("policy.hold_s") and is_live("loads.priority")
    assert not is_live("inverter.port")
    assert not is_live("loads.diverter.enabled")  # the core's, but needs a restart
    assert not is_live("policy")  # a section is not a setting


def test_the_example_site_gives_this_core_config():
    expected = CoreConfig(
        max_charge_w=3000,
        max_discharge_w=3000,
        reserve_soc_pct=20.0,
        max_soc_pct=100.0,
        inverter_stale_after_s=5.0,
        dab_enabled=True,
        dab_max_charge_current_a=5.0,
        dab_stale_after_s=5.0,
        bms_required=False,
        bms_stale_after_s=10.0,
        loads_stale_after_s=10.0,
        hold_s=60.0,
        flip_threshold_w=500.0,
        tank_enabled=True,
        diverter_element_w=3000.0,
        tank_max_degc=60.0,
        tank_refuse_s=10.0,
        tank_retry_s=900.0,
        loads_priority=("tank", "heat_pump"),
        hp_enabled=False,
        hp_power_w=1400.0,
        hp_confirm_s=240.0,
        hp_release_s=120.0,
        hp_min_on_s=600.0,
        hp_min_off_s=300.0,
        hp_max_starts_per_h=3,
    )
    assert core_config(load_config(EXAMPLE_CONFIG)) == expected
    assert core_config(EdgeConfig()) == expected


def test_every_core_setting_reaches_the_core():
    assert core_config(TUNED) == CoreConfig(
        max_charge_w=2500,
        max_discharge_w=2800,
        reserve_soc_pct=15.0,
        max_soc_pct=95.0,
        inverter_stale_after_s=7.0,
        dab_enabled=False,
        dab_max_charge_current_a=4.5,
        dab_stale_after_s=6.0,
        bms_required=True,
        bms_stale_after_s=12.0,
        loads_stale_after_s=11.0,
        hold_s=45.0,
        flip_threshold_w=400.0,
        tank_enabled=False,
        diverter_element_w=2000.0,
        tank_max_degc=55.0,
        tank_refuse_s=10.0,
        tank_retry_s=900.0,
        loads_priority=("heat_pump", "tank"),
        hp_enabled=True,
        hp_power_w=1200.0,
        hp_confirm_s=200.0,
        hp_release_s=100.0,
        hp_min_on_s=500.0,
        hp_min_off_s=250.0,
        hp_max_starts_per_h=4,
    )


def test_a_reload_takes_the_live_settings_and_keeps_the_rest():
    running = EdgeConfig()
    new = TUNED.model_copy(
        update={"inverter": TUNED.inverter.model_copy(update={"port": "/dev/ttyUSB3"})}
    )
    changed = changed_keys(running, new)
    assert "inverter.port" in changed and "policy.hold_s" in changed
    merged = flatten(merge_live(running, new).model_dump())
    before, after = flatten(running.model_dump()), flatten(new.model_dump())
    for key in changed:
        assert merged[key] == (after[key] if is_live(key) else before[key]), key
    assert merged["policy.hold_s"] == 45.0
    assert merged["inverter.port"] == running.inverter.port
    assert merged["battery.bms_port"] is None
    assert merged["loads.diverter.enabled"] is True


# STYLE: units in names. A name's suffix and the unit its setting declares agree.
SUFFIX_UNITS = (
    ("_degc", "°C"),
    ("_deg", "°"),
    ("_pct", "%"),
    ("_kwp", "kWp"),
    ("_wh", "Wh"),
    ("_ah", "Ah"),
    ("_hz", "Hz"),
    ("_mb", "MB"),
    ("_p_per_kwh", "p/kWh"),
    ("_w_per_k", "W/K"),
    ("_kwh_per_k", "kWh/K"),
    ("_per_k", "per K"),
    ("_k", "K"),
    ("_per_h", "per hour"),
    ("_days", "d"),
    ("_h", "h"),
    ("_s", "s"),
    ("_w", "W"),
    ("_v", "V"),
    ("_a", "A"),
    ("_l", "l"),
)


def test_each_setting_declares_the_unit_its_name_says():
    wrong = {}
    for spec in setting_specs(EdgeConfig):
        named = next((unit for suffix, unit in SUFFIX_UNITS if spec.key.endswith(suffix)), None)
        if spec.unit != named:
            wrong[spec.key] = (spec.unit, named)
    assert wrong == {}


def test_the_live_keys_and_the_core_fields_are_read_from_the_declarations():
    specs = setting_specs(EdgeConfig)
    assert sorted(LIVE_KEYS) == sorted(s.key for s in specs if s.live) == sorted(LIVE)
    assert dict(CORE_FIELDS) == {
        "inverter.max_charge_w": "max_charge_w",
        "inverter.max_discharge_w": "max_discharge_w",
        "inverter.stale_after_s": "inverter_stale_after_s",
        "battery.reserve_soc_pct": "reserve_soc_pct",
        "battery.max_soc_pct": "max_soc_pct",
        "battery.bms_stale_after_s": "bms_stale_after_s",
        "dab.enabled": "dab_enabled",
        "dab.max_charge_current_a": "dab_max_charge_current_a",
        "dab.stale_after_s": "dab_stale_after_s",
        "policy.hold_s": "hold_s",
        "policy.flip_threshold_w": "flip_threshold_w",
        "loads.diverter.enabled": "tank_enabled",
        "loads.diverter.element_w": "diverter_element_w",
        "loads.diverter.tank_max_degc": "tank_max_degc",
        "loads.heat_pump.enabled": "hp_enabled",
        "loads.heat_pump.power_w": "hp_power_w",
        "loads.heat_pump.confirm_s": "hp_confirm_s",
        "loads.heat_pump.release_s": "hp_release_s",
        "loads.heat_pump.min_on_s": "hp_min_on_s",
        "loads.heat_pump.min_off_s": "hp_min_off_s",
        "loads.heat_pump.max_starts_per_h": "hp_max_starts_per_h",
        "loads.priority": "loads_priority",
        "loads.stale_after_s": "loads_stale_after_s",
        "planner.enabled": "planner_enabled",
        "planner.plan_max_age_s": "plan_max_age_s",
    }


def test_every_core_field_is_fed_or_keeps_the_cores_default():
    fed = {core for _key, core in CORE_FIELDS} | {"bms_required"}  # the one derived here
    kept = {"tank_refuse_s", "tank_retry_s"}  # the core's own constants
    assert fed | kept == {f.name for f in dataclasses.fields(CoreConfig)}
    assert not fed & kept


def test_the_menu_shows_what_each_setting_declares():
    shown = {s.key: s for s in menu_settings()}
    for spec in setting_specs(EdgeConfig):
        s = shown.pop(spec.key)
        assert (s.unit, s.live, s.help) == (spec.unit, spec.live, spec.help), spec.key
    assert shown == {}
    hold = next(s for s in menu_settings() if s.key == "policy.hold_s")
    assert (hold.unit, hold.live, hold.low, hold.high) == ("s", True, 0.0, 3600.0)
    assert hold.help == "No charge/discharge reversal within this time..."
    port = next(s for s in menu_settings() if s.key == "inverter.port")
    assert (port.unit, port.live) == (None, False)
