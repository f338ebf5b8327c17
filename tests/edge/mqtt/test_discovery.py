"""Discovery payloads are pure data: checked field by field and against a snapshot."""

from __future__ import annotations

import json

from edge.mqtt.discovery import DeviceIds, Topics, discovery_messages, sensor_config
from edge.mqtt.entities import SENSORS

IDS = DeviceIds(bridge_id="pi", inverter_serial="SE1ES410SIM001", site_name="Home", dab_id="1")
TOPICS = Topics("homeassistant", "edge")


def configs() -> dict[str, dict]:
    return {json.loads(p)["uniq_id"]: json.loads(p) for _t, p in discovery_messages(IDS, TOPICS)}


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


def test_unique_ids_are_unique_and_topics_use_them():
    msgs = discovery_messages(IDS, TOPICS)
    uids = [json.loads(p)["uniq_id"] for _t, p in msgs]
    assert len(uids) == len(set(uids)) == len(SENSORS)
    for topic, payload in msgs:
        assert topic == f"homeassistant/sensor/{json.loads(payload)['uniq_id']}/config"


def test_no_dab_entities_without_a_board():
    ids = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home", dab_id=None)
    assert not any("dab" in t for t, _p in discovery_messages(ids, TOPICS))


def test_inverter_entities_need_both_bridge_and_link_availability():
    e = configs()["sofar_SE1ES410SIM001_grid_power_w"]
    assert e["avty"] == [{"topic": "edge/status"}, {"topic": "edge/inverter/status"}]
    assert e["avty_mode"] == "all"
    assert e["dev"]["via_device"] == "edge_pi"


def test_grid_power_payload_snapshot():
    grid = next(s for s in SENSORS if s.key == "grid_power_w")
    assert sensor_config(grid, IDS, TOPICS) == {
        "name": "Grid power",
        "uniq_id": "sofar_SE1ES410SIM001_grid_power_w",
        "obj_id": "sofar_SE1ES410SIM001_grid_power_w",
        "default_entity_id": "sensor.sofar_SE1ES410SIM001_grid_power_w",
        "stat_t": "edge/state",
        "val_tpl": "{{ value_json.grid_power_w }}",
        "avty": [{"topic": "edge/status"}, {"topic": "edge/inverter/status"}],
        "avty_mode": "all",
        "dev": {
            "ids": ["sofar_SE1ES410SIM001"],
            "name": "Sofar ME3000SP",
            "mf": "Sofar",
            "mdl": "ME3000SP",
            "sn": "SE1ES410SIM001",
            "via_device": "edge_pi",
        },
        "o": {"name": "edge", "sw": "0.1.0"},
        "unit_of_meas": "W",
        "dev_cla": "power",
        "stat_cla": "measurement",
        "sug_dsp_prc": 0,
    }
