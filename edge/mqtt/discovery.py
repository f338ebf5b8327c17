"""Discovery payloads, built by pure functions (no I/O): easy to snapshot-test.

Layout (docs/mqtt-home-assistant.md; Home Assistant's MQTT docs, "Device discovery
payload"):
  <prefix>/device/<device_id>/config   retained discovery, one per device: `dev`, `o`
                                       (origin), the shared availability and `cmps`
                                       (its entities, keyed by unique id, each with `p`)
  <base>/status                        bridge availability, retained, last will "offline"
  <base>/<device>/status               link availability of a device (online/offline)
  <base>/state                         one JSON state document per tick
  <base>/plan                          the planner's whole plan, retained, at each new plan
  <base>/cmd/<key>                     commands in (edge/mqtt/commands.py), never retained
  <base>/cmd/result                    each command's outcome: accepted, or refused and why
Entities use availability_mode "all": unavailable when the bridge or the device link is down.

Earlier releases sent one payload per entity on <prefix>/<component>/<unique_id>/config;
legacy_topics() names those, for the migration (edge/mqtt/migration.py). A new device is
one more entry in DEVICES (and its rows in entities.py); a device's payload is built from
the rows whose `device` names it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
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
from edge.mqtt.sources import PLAN

# The devices, in the order their payloads go out.
DEVICES = ("bridge", "inverter", "dab", "bms", "diverter", "heat_pump")
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

    @property
    def plan(self) -> str:
        """The live planner's whole plan, retained (edge/planner/status.py)."""
        return f"{self.base}/plan"

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


def ha_slug(text: str) -> str:
    """Home Assistant's slugify (homeassistant.util.slugify, python-slugify with "_"), for
    the ASCII ids we make: lower case, every run of other characters one "_", none at
    either end. HA makes an entity id as `<domain>.<slug of default_entity_id's object
    part>`; sending the slug keeps what we announce and what HA shows the same."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "unknown"


def entity_id(component: str, uid: str) -> str:
    """The entity id Home Assistant gives an entity on first discovery (it keeps it after;
    a user may rename it)."""
    return f"{component}.{ha_slug(uid)}"


def availability(device: str, topics: Topics) -> list[dict[str, str]]:
    """The bridge's status, and the device's own link status when it has one."""
    avty = [{"topic": topics.status}]
    if device in LINKED:
        avty.append({"topic": topics.device_status(device)})
    return avty


def _common(name: str, uid: str, component: str) -> dict[str, Any]:
    """What every component of a device payload carries: the platform and the ids."""
    return {
        "p": component,
        "name": name,
        "uniq_id": uid,
        "default_entity_id": entity_id(component, uid),
    }


def sensor_config(s: SensorDescription, ids: DeviceIds, topics: Topics) -> dict[str, Any]:
    """A sensor as a component of its device's payload."""
    payload = _common(s.name, unique_id(s, ids), "sensor")
    state_topic = topics.energy if s.topic == "energy" else topics.state
    payload.update(stat_t=state_topic, val_tpl=f"{{{{ value_json.{s.key} }}}}")
    if s.attributes_topic is not None:
        payload["json_attr_t"] = f"{topics.base}/{s.attributes_topic}"
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
    """A binary sensor as a component of its device's payload."""
    payload = _common(b.name, unique_id(b, ids), "binary_sensor")
    if b.link:
        # A link's own state: shown as disconnected (not unavailable) while the device is
        # silent, so only the controller's availability applies (overrides the shared one).
        payload.update(
            avty=availability("bridge", topics),
            stat_t=topics.device_status(b.device),
            pl_on="online",
            pl_off="offline",
        )
    else:
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
    payload = _common(c.name, uid, c.component)
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


def origin(cfg: EdgeConfig) -> dict[str, str]:
    """Who sent the discovery: HA logs it and shows the support URL (mqtt.support_url)."""
    o = {"name": "edge", "sw": __version__}
    if cfg.mqtt.support_url is not None:
        o["url"] = cfg.mqtt.support_url
    return o


def components(
    ids: DeviceIds,
    topics: Topics,
    sensors: Iterable[SensorDescription] = SENSORS,
    cfg: EdgeConfig | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every entity of the devices present, as {device: {unique id: component config}},
    devices in DEVICES order."""
    site = cfg if cfg is not None else EdgeConfig()
    out: dict[str, dict[str, dict[str, Any]]] = {d: {} for d in DEVICES if ids.has(d)}
    for s in sensors:
        if s.source is PLAN and not site.planner.enabled:
            continue  # the planner's entities only where it runs
        if ids.has(s.device):
            out[s.device][unique_id(s, ids)] = sensor_config(s, ids, topics)
    for b in BINARY_SENSORS:
        if ids.has(b.device):
            out[b.device][unique_id(b, ids)] = binary_sensor_config(b, ids, topics)
    for c in COMMANDS:
        entity = control_config(c, ids, topics, site)
        out["bridge"][entity["uniq_id"]] = entity
    return {device: cmps for device, cmps in out.items() if cmps}


def device_topic(device: str, ids: DeviceIds, topics: Topics) -> str:
    """<prefix>/device/<device id>/config: the device's first identifier names it."""
    return f"{topics.discovery_prefix}/device/{device_block(device, ids)['ids'][0]}/config"


def device_config(
    device: str,
    ids: DeviceIds,
    topics: Topics,
    cmps: dict[str, dict[str, Any]],
    cfg: EdgeConfig | None = None,
) -> dict[str, Any]:
    """One device's discovery payload: the device, the origin, the availability its
    components share (a component may set its own), and the components."""
    return {
        "dev": device_block(device, ids),
        "o": origin(cfg if cfg is not None else EdgeConfig()),
        "avty": availability(device, topics),
        "avty_mode": "all",
        "cmps": cmps,
    }


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


def satellite_device(
    ids: DeviceIds, topics: Topics, cfg: EdgeConfig | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The tank satellite's device payload (topic, payload), or None without one. It came
    with device discovery, so it has no per-entity topics to migrate."""
    if ids.satellite is None:
        return None
    name = ids.satellite
    bridge = f"edge_{_slug(ids.bridge_id)}"
    owner = f"{bridge}_satellite_{_slug(name)}"
    root = f"{topics.base}/satellite/{name}"
    cmps: dict[str, dict[str, Any]] = {}
    for key, label, unit, device_class, state_class, category in SATELLITE_SENSORS:
        uid = f"{owner}_{key}"
        entity: dict[str, Any] = {
            "p": "sensor",
            "name": label,
            "uniq_id": uid,
            "default_entity_id": entity_id("sensor", uid),
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
        cmps[uid] = entity
    payload = {
        "dev": {
            "ids": [owner],
            "name": f"Tank satellite {name}",
            "mf": "edge",
            "mdl": "tank satellite (MicroPython)",
            "via_device": bridge,
        },
        "o": origin(cfg if cfg is not None else EdgeConfig()),
        "avty": [{"topic": topics.status}, {"topic": f"{root}/availability"}],
        "avty_mode": "all",
        "cmps": cmps,
    }
    return f"{topics.discovery_prefix}/device/{owner}/config", payload


def discovery_messages(
    ids: DeviceIds,
    topics: Topics,
    sensors: Iterable[SensorDescription] = SENSORS,
    cfg: EdgeConfig | None = None,
) -> list[tuple[str, str]]:
    """(topic, JSON payload): one retained message per device present."""
    out = [
        (
            device_topic(device, ids, topics),
            json.dumps(device_config(device, ids, topics, cmps, cfg), sort_keys=True),
        )
        for device, cmps in components(ids, topics, sensors, cfg).items()
    ]
    satellite = satellite_device(ids, topics, cfg)
    if satellite is not None:
        out.append((satellite[0], json.dumps(satellite[1], sort_keys=True)))
    return out


def legacy_topics(
    ids: DeviceIds,
    topics: Topics,
    sensors: Iterable[SensorDescription] = SENSORS,
    cfg: EdgeConfig | None = None,
) -> list[str]:
    """The per-entity topics earlier releases sent the same entities on:
    <prefix>/<component>/<unique id>/config."""
    # Every device the controller may have had: the loads and a BMS (ids from the bridge
    # until its serial is known) come and go with the site file.
    everything = replace(ids, devices=("bms", "diverter", "heat_pump"))
    return [
        f"{topics.discovery_prefix}/{config['p']}/{uid}/config"
        for cmps in components(everything, topics, sensors, cfg).values()
        for uid, config in cmps.items()
    ]
