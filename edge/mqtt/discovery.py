"""Discovery payloads, built by pure functions (no I/O): easy to snapshot-test.

Layout (shared/reference/ha-mqtt-discovery.md §1, §5, §7):
  <prefix>/sensor/<unique_id>/config   retained discovery, one per entity
  <base>/status                        bridge availability, retained, last will "offline"
  <base>/<device>/status               link availability of a device (online/offline)
  <base>/state                         one JSON state document per tick
Entities use availability_mode "all": unavailable when the bridge or the device link is down.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from edge import __version__
from edge.mqtt.entities import SENSORS, SensorDescription

ORIGIN = {"name": "edge", "sw": __version__}


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

    def device_status(self, device: str) -> str:
        return f"{self.base}/{device}/status"

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/status"


@dataclass(frozen=True)
class DeviceIds:
    """Stable hardware identities: unique ids derive from these, never from display names."""

    bridge_id: str  # e.g. the host's machine id or a configured name
    inverter_serial: str
    site_name: str
    dab_id: str | None = None


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
        return {
            "ids": [f"sofar_{_slug(ids.inverter_serial)}"],
            "name": "Sofar ME3000SP",
            "mf": "Sofar",
            "mdl": "ME3000SP",
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
    raise ValueError(f"unknown device {device!r}")


def unique_id(s: SensorDescription, ids: DeviceIds) -> str:
    owner = {
        "bridge": f"edge_{ids.bridge_id}",
        "inverter": f"sofar_{ids.inverter_serial}",
        "dab": f"edge_dab_{ids.dab_id or 'dab'}",
    }[s.device]
    return _slug(f"{owner}_{s.key}")


def sensor_config(s: SensorDescription, ids: DeviceIds, topics: Topics) -> dict[str, Any]:
    uid = unique_id(s, ids)
    avty = [{"topic": topics.status}]
    if s.device != "bridge":
        avty.append({"topic": topics.device_status(s.device)})
    payload: dict[str, Any] = {
        "name": s.name,
        "uniq_id": uid,
        "obj_id": uid,
        "default_entity_id": f"sensor.{uid}",
        "stat_t": topics.state,
        "val_tpl": f"{{{{ value_json.{s.key} }}}}",
        "avty": avty,
        "avty_mode": "all",
        "dev": device_block(s.device, ids),
        "o": ORIGIN,
    }
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


def discovery_messages(
    ids: DeviceIds, topics: Topics, sensors: Iterable[SensorDescription] = SENSORS
) -> list[tuple[str, str]]:
    """(topic, JSON payload) for every entity; a DAB entity only when a board is fitted."""
    out = []
    for s in sensors:
        if s.device == "dab" and ids.dab_id is None:
            continue
        topic = f"{topics.discovery_prefix}/sensor/{unique_id(s, ids)}/config"
        out.append((topic, json.dumps(sensor_config(s, ids, topics), sort_keys=True)))
    return out
