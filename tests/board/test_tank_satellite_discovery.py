"""Home Assistant discovery of the tank satellite: a device payload of its own, linked to
the controller through via_device, fed by the satellite's own state and availability."""

from __future__ import annotations

import json

from edge.mqtt.discovery import DeviceIds, Topics, discovery_messages, satellite_device

IDS = DeviceIds(bridge_id="pi-1", inverter_serial="SN1", site_name="Home", satellite="tank")
TOPICS = Topics("homeassistant", "edge")


def test_the_satellite_is_a_device_of_its_own_linked_to_the_controller():
    msgs = {t: json.loads(p) for t, p in discovery_messages(IDS, TOPICS)}
    controller = next(p["dev"] for p in msgs.values() if p["dev"]["name"] == "Home controller")
    sat = msgs["homeassistant/device/edge_pi-1_satellite_tank/config"]
    assert sat["dev"] == {
        "ids": ["edge_pi-1_satellite_tank"],
        "name": "Tank satellite tank",
        "mf": "edge",
        "mdl": "tank satellite (MicroPython)",
        "via_device": controller["ids"][0],
    }
    assert sat["o"]["name"] == "edge"
    assert sat["avty"] == [
        {"topic": "edge/status"},
        {"topic": "edge/satellite/tank/availability"},
    ]
    assert sat["avty_mode"] == "all"
    cmps = sat["cmps"]
    assert len(cmps) == 8 and {c["p"] for c in cmps.values()} == {"sensor"}
    temp = cmps["edge_pi-1_satellite_tank_tank_temp_degc"]
    assert temp["stat_t"] == "edge/satellite/tank/state"
    assert temp["val_tpl"] == "{{ value_json.tank_temp_degc }}"
    assert temp["default_entity_id"] == "sensor.edge_pi_1_satellite_tank_tank_temp_degc"
    assert (temp["unit_of_meas"], temp["dev_cla"], temp["stat_cla"]) == (
        "°C",
        "temperature",
        "measurement",
    )
    rssi = cmps["edge_pi-1_satellite_tank_rssi_dbm"]
    assert rssi["ent_cat"] == "diagnostic" and rssi["unit_of_meas"] == "dBm"


def test_without_a_satellite_there_is_no_satellite_device():
    plain = DeviceIds(bridge_id="pi-1", inverter_serial="SN1", site_name="Home")
    assert satellite_device(plain, TOPICS) is None
    assert not any("satellite" in t for t, _p in discovery_messages(plain, TOPICS))
