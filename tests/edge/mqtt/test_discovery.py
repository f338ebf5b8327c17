"""Discovery payloads are pure data (one per device): checked field by field and against
a snapshot."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import get_args

import pytest

from edge.compose import make_publisher
from edge.config import InverterConfig, parse_config
from edge.mqtt.commands import BY_KEY, COMMANDS
from edge.mqtt.discovery import (
    INVERTER_MODELS,
    DeviceIds,
    Topics,
    control_config,
    device_block,
    discovery_messages,
    entity_id,
    legacy_topics,
    sensor_config,
)
from edge.mqtt.entities import BINARY_SENSORS, SENSORS
from edge.mqtt.sources import PLAN

IDS = DeviceIds(
    bridge_id="pi",
    inverter_serial="SE1ES410SIM001",
    site_name="Home",
    dab_id="1",
    devices=("bms", "diverter", "heat_pump"),
)
TOPICS = Topics("homeassistant", "edge")


def devices(ids: DeviceIds = IDS) -> dict[str, dict]:
    """{device topic: payload}."""
    return {t: json.loads(p) for t, p in discovery_messages(ids, TOPICS)}


def configs(ids: DeviceIds = IDS) -> dict[str, dict]:
    """{unique id: component config, with its device payload's `dev` and availability as
    Home Assistant merges them in}."""
    out = {}
    for payload in devices(ids).values():
        for uid, c in payload["cmps"].items():
            shared = {k: payload[k] for k in ("avty", "avty_mode")}
            out[uid] = {"dev": payload["dev"], **shared, **c}
    return out


def test_required_entities_have_the_right_classes_and_units():
    c = configs()
    for key in ("grid_power_w", "battery_power_w", "load_power_w", "pv_power_w"):
        e = c[f"sofar_SE1ES410SIM001_{key}"]
        assert (e["dev_cla"], e["unit_of_meas"], e["stat_cla"]) == ("power", "W", "measurement")
    soc = c["sofar_SE1ES410SIM001_battery_soc_pct"]
    assert (soc["dev_cla"], soc["unit_of_meas"], soc["stat_cla"]) == ("battery", "%", "measurement")
    imp = c["sofar_SE1ES410SIM001_import_today_kwh"]
    assert (imp["dev_cla"], imp["unit_of_meas"], imp["stat_cla"]) == (
        "energy",
        "kWh",
        "total_increasing",
    )


def test_one_retained_payload_per_device_with_origin_and_components():
    payloads = devices()
    assert set(payloads) == {
        "homeassistant/device/edge_pi/config",
        "homeassistant/device/sofar_SE1ES410SIM001/config",
        "homeassistant/device/edge_dab_1/config",
        "homeassistant/device/edge_pi_bms/config",
        "homeassistant/device/edge_pi_diverter/config",
        "homeassistant/device/edge_pi_heat_pump/config",
    }
    for topic, p in payloads.items():
        assert topic == f"homeassistant/device/{p['dev']['ids'][0]}/config"
        assert p["o"] == {"name": "edge", "sw": "0.1.0"}  # no support_url configured
        assert p["avty_mode"] == "all" and p["cmps"]
        for uid, c in p["cmps"].items():
            # Keyed by unique id; each names its platform and its entity id.
            assert c["uniq_id"] == uid
            assert c["default_entity_id"] == entity_id(c["p"], uid)
            assert "dev" not in c and "o" not in c  # the device's, never overridden


def test_the_origin_carries_the_support_url():
    site = parse_config({"mqtt": {"support_url": "https://example.org/edge/help"}})
    for _t, p in discovery_messages(IDS, TOPICS, cfg=site):
        assert json.loads(p)["o"] == {
            "name": "edge",
            "sw": "0.1.0",
            "url": "https://example.org/edge/help",
        }


def test_unique_ids_are_unique_and_every_entity_is_announced():
    uids = [uid for p in devices().values() for uid in p["cmps"]]
    planned = [s for s in SENSORS if s.source is PLAN]  # only with [planner] enabled
    announced = len(SENSORS) - len(planned) + len(BINARY_SENSORS) + len(COMMANDS)
    assert len(uids) == len(set(uids)) == announced


def test_entity_ids_are_what_home_assistant_makes_of_them():
    # HA lower-cases and slugs the object part of default_entity_id.
    assert entity_id("sensor", "sofar_SE1ES410SIM001_grid_power_w") == (
        "sensor.sofar_se1es410sim001_grid_power_w"
    )
    assert entity_id("sensor", "pylontech_AB-12__x") == "sensor.pylontech_ab_12_x"


def test_legacy_topics_are_the_per_entity_topics_of_every_entity():
    topics = legacy_topics(DeviceIds("pi", "S1", "Home"), TOPICS)
    assert "homeassistant/sensor/sofar_S1_grid_power_w/config" in topics
    assert "homeassistant/button/edge_pi_emergency_stop_button/config" in topics
    # Devices the site file may have had before: the loads and a BMS without a serial.
    assert "homeassistant/sensor/edge_pi_diverter_tank_temp_degc/config" in topics
    assert "homeassistant/sensor/edge_pi_bms_bms_soc_pct/config" in topics
    assert len(topics) == len(set(topics))


def test_entities_of_absent_devices_are_not_announced():
    ids = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home")
    payloads = devices(ids)
    assert {p["dev"]["ids"][0] for p in payloads.values()} == {"edge_pi", "sofar_S1"}
    assert "edge_pi_emergency_stop_button" in configs(ids)  # the controls are always there


def test_each_physical_device_is_its_own_ha_device_via_the_bridge():
    devs = {p["dev"]["ids"][0]: p["dev"] for p in devices().values()}
    assert set(devs) == {
        "edge_pi",
        "sofar_SE1ES410SIM001",
        "edge_dab_1",
        "edge_pi_bms",
        "edge_pi_diverter",
        "edge_pi_heat_pump",
    }
    assert all(d["via_device"] == "edge_pi" for k, d in devs.items() if k != "edge_pi")


SITE = parse_config({"inverter": {"max_charge_w": 2500}, "battery": {"max_soc_pct": 95}})


def test_commands_are_stamped_never_retained_and_bounded_by_the_config():
    fc = control_config(BY_KEY["force_charge_w"], IDS, TOPICS, SITE)
    assert (fc["min"], fc["max"], fc["unit_of_meas"]) == (0, 2500, "W")
    assert fc["cmd_t"] == "edge/cmd/force_charge_w" and fc["ret"] is False
    assert "now().timestamp()" in fc["cmd_tpl"]
    reserve = control_config(BY_KEY["reserve_soc_pct"], IDS, TOPICS, SITE)
    assert (reserve["min"], reserve["max"], reserve["unit_of_meas"]) == (0, 94, "%")
    assert reserve["ent_cat"] == "config"
    limit = control_config(BY_KEY["export_limit_w"], IDS, TOPICS, SITE)
    assert (limit["max"], limit["val_tpl"]) == (25000, "{{ value_json.export_limit_w }}")
    mode = control_config(BY_KEY["mode"], IDS, TOPICS, SITE)
    assert mode["ops"] == ["auto", "self_use", "standby"]
    assert mode["val_tpl"] == "{{ value_json.mode_request }}"


def test_emergency_stop_button_snapshot():
    assert control_config(BY_KEY["emergency_stop"], IDS, TOPICS, SITE) == {
        "p": "button",
        "name": "Emergency stop",
        "uniq_id": "edge_pi_emergency_stop_button",
        "default_entity_id": "button.edge_pi_emergency_stop_button",
        "cmd_t": "edge/cmd/emergency_stop",
        "cmd_tpl": '{"value": {{ value | tojson }}, "sent_s": {{ now().timestamp() }}}',
        "ret": False,
        "pl_prs": "PRESS",
    }


def test_no_dab_entities_without_a_board():
    ids = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home", dab_id=None)
    assert not any("dab" in t or "dab" in p for t, p in discovery_messages(ids, TOPICS))


def test_inverter_entities_need_both_bridge_and_link_availability():
    e = configs()["sofar_SE1ES410SIM001_grid_power_w"]
    assert e["avty"] == [{"topic": "edge/status"}, {"topic": "edge/inverter/status"}]
    assert e["avty_mode"] == "all"
    assert e["dev"]["via_device"] == "edge_pi"


def test_grid_power_payload_snapshot():
    grid = next(s for s in SENSORS if s.key == "grid_power_w")
    assert sensor_config(grid, IDS, TOPICS) == {
        "p": "sensor",
        "name": "Grid power",
        "uniq_id": "sofar_SE1ES410SIM001_grid_power_w",
        "default_entity_id": "sensor.sofar_se1es410sim001_grid_power_w",
        "stat_t": "edge/state",
        "val_tpl": "{{ value_json.grid_power_w }}",
        "unit_of_meas": "W",
        "dev_cla": "power",
        "stat_cla": "measurement",
        "sug_dsp_prc": 0,
    }


def test_links_and_faults_are_binary_sensors():
    c = configs()
    link = c["sofar_SE1ES410SIM001_inverter_link"]
    assert (link["stat_t"], link["pl_on"], link["pl_off"]) == (
        "edge/inverter/status",
        "online",
        "offline",
    )
    assert link["dev_cla"] == "connectivity"
    assert link["avty"] == [{"topic": "edge/status"}]  # disconnected, not unavailable
    assert link["dev"]["ids"] == ["sofar_SE1ES410SIM001"]
    trip = c["edge_dab_1_dab_tripped"]
    assert (trip["dev_cla"], trip["val_tpl"]) == ("problem", "{{ value_json.dab_tripped }}")


@pytest.mark.parametrize(
    ("family", "name", "model"),
    [
        ("sofar_me3000sp", "Sofar ME3000SP", "ME3000SP"),
        ("sofar_hyd_ep", "Sofar HYD-EP", "HYD-EP"),
    ],
)
def test_the_inverter_is_named_by_its_family(family, name, model):
    ids = replace(IDS, inverter_family=family)
    payload = devices(ids)["homeassistant/device/sofar_SE1ES410SIM001/config"]
    assert len(payload["cmps"]) > 10  # its sensors and binary sensors
    for dev in [payload["dev"]]:
        assert (dev["name"], dev["mf"], dev["mdl"], dev["sn"]) == (
            name,
            "Sofar",
            model,
            "SE1ES410SIM001",
        )


def test_every_family_the_site_file_allows_has_a_model():
    families = get_args(InverterConfig.model_fields["family"].annotation)
    assert sorted(INVERTER_MODELS) == sorted(families) == ["sofar_hyd_ep", "sofar_me3000sp"]


def test_the_site_files_family_reaches_discovery():
    cfg = parse_config({"inverter": {"family": "sofar_hyd_ep"}, "site": {"state_db": ":memory:"}})
    publisher = make_publisher(cfg, "SH3ES1", with_dab=False)
    assert publisher.ids.inverter_family == "sofar_hyd_ep"
    assert device_block("inverter", publisher.ids)["mdl"] == "HYD-EP"
