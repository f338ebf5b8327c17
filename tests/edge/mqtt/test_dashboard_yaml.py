"""The example dashboard (docs/home-assistant-dashboard.yaml) uses only entity ids that
the discovery makes, computed as Home Assistant computes them: the platform, and
Home Assistant's slugify (python-slugify with "_") of default_entity_id's object part."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from slugify import slugify

from edge.config import parse_config
from edge.mqtt.discovery import DeviceIds, Topics, discovery_messages

DASHBOARD = Path(__file__).parents[3] / "docs" / "home-assistant-dashboard.yaml"
# The install the file is written for (its header says so).
IDS = DeviceIds(
    bridge_id="raspberrypi",
    inverter_serial="SE1ES410SIM001",
    site_name="Home",
    dab_id="1",
    bms_serial="PPTAP00000000000",
    devices=("bms", "diverter", "heat_pump"),
)
SITE = parse_config({"planner": {"enabled": True}})  # the plan's entities too
ENTITY = re.compile(r"\b(?:sensor|binary_sensor|select|number|switch|button)\.[a-z0-9_]+\b")


def discovered_entity_ids() -> set[str]:
    out = set()
    for _t, payload in discovery_messages(IDS, Topics("homeassistant", "edge"), cfg=SITE):
        for c in json.loads(payload)["cmps"].values():
            _domain, _, object_id = c["default_entity_id"].partition(".")
            entity = f"{c['p']}.{slugify(object_id, separator='_')}"
            assert entity == c["default_entity_id"]  # what we send is what HA makes of it
            out.add(entity)
    return out


def actions(node: object) -> set[str]:
    """The actions the file calls (button.press): names of the same shape, not entities."""
    if isinstance(node, dict):
        own = {node["perform_action"]} if "perform_action" in node else set()
        return own.union(*(actions(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(actions(v) for v in node))
    return set()


def test_every_entity_id_in_the_dashboard_is_discovered():
    text = DASHBOARD.read_text()
    dashboard = yaml.safe_load(text)
    assert dashboard["views"] and dashboard["title"]
    used = set(ENTITY.findall(text)) - actions(dashboard)  # the cards and the comments
    assert len(used) >= 30
    missing = used - discovered_entity_ids()
    assert not missing, f"not in the discovery: {sorted(missing)}"
    # The Energy dashboard's split of the battery's charge is on it, and the plan.
    assert {
        "sensor.edge_raspberrypi_battery_charge_pv_kwh",
        "sensor.edge_raspberrypi_battery_charge_grid_kwh",
        "sensor.edge_raspberrypi_plan_action",
        "sensor.edge_raspberrypi_plan_heat_pump",
    } <= used


def test_a_misspelt_id_would_be_caught():
    assert "sensor.sofar_se1es410sim001_grid_power" not in discovered_entity_ids()
