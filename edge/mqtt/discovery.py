"""Discovery payloads, built by pure functions (no I/O): easy to snapshot-test.

Layout (docs/reference/ha-mqtt-discovery.md §1, §5, §7):
  <prefix>/sensor/<unique_id>/config   retained discovery, one per entity
  <base>/status                        bridge availability, retained, last will "offline"
  <base>/<device>/status               link availability of a device (online/offline)
  <base>/state                         one JSON state document per tick
  <base>/cmd/<key>                     commands in (edge/mqtt/commands.py), never retained
  <base>/cmd/result                    each command's outcome: accepted, or refused and why
Entities use availability_mode "all": unavailable when the bridge or the device link is down.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from edge import __version__
from edge.config import EdgeConfig
from edge.mqtt.commands import COMMANDS, MODES, CommandSpec
from edge.mqtt.entities import (
    BINARY_SENSORS,
    SENSORS,
    BinarySensorDescription,
    SensorDescription,
)

ORIGIN = {"name": "edge", "sw": __version__}
# Devices whose link has its own availability topic (<base>/<device>/status).
LINKED = ("inverter", "dab", "bms")
# Home Assistant stamps every command with its own clock (edge/mqtt/commands.py).
COMMAND_TEMPLATE = '{"value": {{ value | tojson }}, "sent_s": {{ now().timestamp() }}}'
# The inverter as Home Assistant names it, by register family (inverter.family):
# (device name, model). The ME3000SP's family also serves the HYD-ES (docs/hardware.md).
INVERTER_MODELS = {
    "sofar_me3000sp": ("Sofar ME3000SP", "ME3000SP"),
    "sofar_hyd_ep": ("Sofar HYD-EP", "HYD-EP"),
}
# Devices the controller drives without a serial of their own: ids derive from the bridge.
OWN_DEVICES = {
    "bms": ("Battery BMS", "Pylontech", "RS485 console"),
    "diverter": ("Immersion diverter", "edge", "diverter output"),
    "heat_pump": ("Heat pump", "edge", "SG-Ready relays"),
}


@dataclass(frozen=True)
class Topics:
    discovery_prefix: str
    base: str

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def energy(self) -> str:
        return f"{self.base}/energy"

    def device_status(self, device: str) -> str:
        return f"{self.base}/{device}/status"

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/status"

    def command(self, key: str) -> str:
        return f"{self.base}/cmd/{key}"

    def command_key(self, topic: str) -> str | None:
        """The command's key when topic is <base>/cmd/<key>, else None."""
        prefix = f"{self.base}/cmd/"
        key = topic[len(prefix) :] if topic.startswith(prefix) else ""
        return key if key and "/" not in key and key != "result" else None

    @property
    def command_result(self) -> str:
        return f"{self.base}/cmd/result"


@dataclass(frozen=True)
class DeviceIds:
    """Stable hardware identities: unique ids derive from these, never from display names."""

    bridge_id: str  # e.g. the host's machine id or a configured name
    inverter_serial: str
    site_name: str
    dab_id: str | None = None
    bms_serial: str | None = None  # the master module's; None: ids from the bridge
    # Further devices present: any of "bms", "diverter", "heat_pump".
    devices: tuple[str, ...] = ()
    inverter_family: str = "sofar_me3000sp"  # inverter.family: names its model
    satellite: str | None = None  # the tank satellite's name, when the diverter is one

    def has(self, device: str) -> bool:
        if device in ("bridge", "inverter"):
            return True
        if device == "dab":
            return self.dab_id is not None
        return device in self.devices


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", s)


def device_block(device: str, ids: DeviceIds) -> dict[str, Any]:
    bridge = f"edge_{_slug(ids.bridge_id)}"
    if device == "bridge":
        return {
            "ids": [bridge],
            "name": f"{ids.site_name} controller",
            "mf": "edge",
            "mdl": "edge supervisor",
            "sw": __version__,
        }
    if device == "inverter":
        name, model = INVERTER_MODELS[ids.inverter_family]
        return {
            "ids": [f"sofar_{_slug(ids.inverter_serial)}"],
            "name": name,
            "mf": "Sofar",
            "mdl": model,
            "sn": ids.inverter_serial,
            "via_device": bridge,
        }
    if device == "dab":
        dab = _slug(ids.dab_id or "dab")
        return {
            "ids": [f"edge_dab_{dab}"],
            "name": "DAB string",
            "mf": "edge",
            "mdl": "DAB board",
            "via_device": bridge,
        }
    if device == "bms" and ids.bms_serial:
        return {
            "ids": [_owner("bms", ids)],
            "name": "Battery BMS",
            "mf": "Pylontech",
            "mdl": "RS485 console",
            "sn": ids.bms_serial,
            "via_device": bridge,
        }
    if device in OWN_DEVICES:
        name, mf, mdl = OWN_DEVICES[device]
        return {
            "ids": [f"{bridge}_{device}"],
            "name": name,
            "mf": mf,
            "mdl": mdl,
            "via_device": bridge,
        }
    raise ValueError(f"unknown device {device!r}")


def _owner(device: str, ids: DeviceIds) -> str:
    if device == "inverter":
        return f"sofar_{ids.inverter_serial}"
    if device == "dab":
        return f"edge_dab_{ids.dab_id or 'dab'}"
    if device == "bridge":
        return f"edge_{ids.bridge_id}"
    if device == "bms" and ids.bms_serial:
        return _slug(f"pylontech_{ids.bms_serial}")
    return f"edge_{ids.bridge_id}_{device}"


def unique_id(s: SensorDescription | BinarySensorDescription, ids: DeviceIds) -> str:
    return _slug(f"{_owner(s.device, ids)}_{s.key}")


def _common(
    name: str, uid: str, component: str, device: str, ids: DeviceIds, topics: Topics
) -> dict[str, Any]:
    avty = [{"topic": topics.status}]
    if device in LINKED:
        avty.append({"topic": topics.device_status(device)})
    return {
        "name": name,
        "uniq_id": uid,
        "obj_id": uid,
        "default_entity_id": f"{component}.{uid}",
        "avty": avty,
        "avty_mode": "all",
        "dev": device_block(device, ids),
        "o": ORIGIN,
    }


def sensor_config(s: SensorDescription, ids: DeviceIds, topics: Topics) -> dict[str, Any]:
    payload = _common(s.name, unique_id(s, ids), "sensor", s.device, ids, topics)
    state_topic = topics.energy if s.topic == "energy" else topics.state
    payload.update(stat_t=state_topic, val_tpl=f"{{{{ value_json.{s.key} }}}}")
    for key, value in (
        ("unit_of_meas", s.unit),
        ("dev_cla", s.device_class),
        ("stat_cla", s.state_class),
        ("sug_dsp_prc", s.precision),
        ("ent_cat", s.entity_category),
    ):
        if value is not None:
            payload[key] = value
    return payload


def binary_sensor_config(
    b: BinarySensorDescription, ids: DeviceIds, topics: Topics
) -> dict[str, Any]:
    if b.link:
        # A link's own state: shown as disconnected (not unavailable) while the device is
        # silent, so only the controller's availability applies.
        payload = _common(b.name, unique_id(b, ids), "binary_sensor", "bridge", ids, topics)
        payload["dev"] = device_block(b.device, ids)
        payload.update(stat_t=topics.device_status(b.device), pl_on="online", pl_off="offline")
    else:
        payload = _common(b.name, unique_id(b, ids), "binary_sensor", b.device, ids, topics)
        payload.update(stat_t=topics.state, val_tpl=f"{{{{ value_json.{b.key} }}}}")
    if b.device_class is not None:
        payload["dev_cla"] = b.device_class
    return payload


def control_config(
    c: CommandSpec, ids: DeviceIds, topics: Topics, cfg: EdgeConfig
) -> dict[str, Any]:
    """A select, number, switch or button on the controller: commands go to
    <base>/cmd/<key> stamped by HA's clock, never retained."""
    uid = _slug(f"{_owner('bridge', ids)}_{c.key}_{c.component}")
    payload = _common(c.name, uid, c.component, "bridge", ids, topics)
    payload.update(cmd_t=topics.command(c.key), cmd_tpl=COMMAND_TEMPLATE, ret=False)
    if c.state_key is not None:
        payload.update(stat_t=topics.state, val_tpl=f"{{{{ value_json.{c.state_key} }}}}")
    if c.component == "select":
        payload["ops"] = list(MODES)
    elif c.bounds is not None:  # a number
        b = c.bounds(cfg)
        payload.update(min=b.low, max=b.high, unit_of_meas=b.unit, mode="box")
        if b.unit == "W":
            payload.update(step=100, dev_cla="power")
    elif c.component == "button":
        payload["pl_prs"] = "PRESS"
    if c.entity_category is not None:
        payload["ent_cat"] = c.entity_category
    return payload


# The tank satellite (board/tank-satellite): its own device, linked to the controller,
# fed by its own state topic (<base>/satellite/<name>/state, docs/satellite.md) and
# available while both it (its retained availability and last will) and the controller
# are. Rows: (key in its state, name, unit, device_class, state_class, entity_category).
SATELLITE_SENSORS: tuple[tuple[str, str, str | None, str | None, str | None, str | None], ...] = (
    ("power_w", "Element power", "W", "power", "measurement", None),
    ("tank_temp_degc", "Tank temperature", "°C", "temperature", "measurement", None),
    ("reason", "Element state", None, None, None, None),
    ("refused", "Last refused command", None, None, None, "diagnostic"),
    ("uptime_s", "Uptime", "s", "duration", "measurement", "diagnostic"),
    ("mem_free_b", "Free memory", "B", "data_size", "measurement", "diagnostic"),
    ("rssi_dbm", "Wi-Fi signal", "dBm", "signal_strength", "measurement", "diagnostic"),
    ("version", "Firmware version", None, None, None, "diagnostic"),
)


def satellite_messages(ids: DeviceIds, topics: Topics) -> list[tuple[str, dict[str, Any]]]:
    """Discovery of the tank satellite's entities, or none without one."""
    if ids.satellite is None:
        return []
    name = ids.satellite
    bridge = f"edge_{_slug(ids.bridge_id)}"
    owner = f"{bridge}_satellite_{_slug(name)}"
    root = f"{topics.base}/satellite/{name}"
    device = {
        "ids": [owner],
        "name": f"Tank satellite {name}",
        "mf": "edge",
        "mdl": "tank satellite (MicroPython)",
        "via_device": bridge,
    }
    out = []
    for key, label, unit, device_class, state_class, category in SATELLITE_SENSORS:
        uid = f"{owner}_{key}"
        entity: dict[str, Any] = {
            "name": label,
            "uniq_id": uid,
            "obj_id": uid,
            "default_entity_id": f"sensor.{uid}",
            "avty": [{"topic": topics.status}, {"topic": f"{root}/availability"}],
            "avty_mode": "all",
            "dev": device,
            "o": ORIGIN,
            "stat_t": f"{root}/state",
            "val_tpl": f"{{{{ value_json.{key} }}}}",
        }
        for field, value in (
            ("unit_of_meas", unit),
            ("dev_cla", device_class),
            ("stat_cla", state_class),
            ("ent_cat", category),
        ):
            if value is not None:
                entity[field] = value
        out.append((f"{topics.discovery_prefix}/sensor/{uid}/config", entity))
    return out


def discovery_messages(
    ids: DeviceIds,
    topics: Topics,
    sensors: Iterable[SensorDescription] = SENSORS,
    cfg: EdgeConfig | None = None,
) -> list[tuple[str, str]]:
    """(topic, JSON payload) for every entity of the devices present."""
    out = []
    prefix = topics.discovery_prefix
    for s in sensors:
        if ids.has(s.device):
            entity = sensor_config(s, ids, topics)
            out.append((f"{prefix}/sensor/{entity['uniq_id']}/config", entity))
    for b in BINARY_SENSORS:
        if ids.has(b.device):
            entity = binary_sensor_config(b, ids, topics)
            out.append((f"{prefix}/binary_sensor/{entity['uniq_id']}/config", entity))
    site = cfg if cfg is not None else EdgeConfig()
    for c in COMMANDS:
        entity = control_config(c, ids, topics, site)
        out.append((f"{prefix}/{c.component}/{entity['uniq_id']}/config", entity))
    out.extend(satellite_messages(ids, topics))
    return [(topic, json.dumps(entity, sort_keys=True)) for topic, entity in out]
