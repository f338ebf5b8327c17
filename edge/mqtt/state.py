"""The state document published on <base>/state every tick (and shown by the local API),
read from the tables: each entity of edge/mqtt/entities.py gives its key's value, each
control of edge/mqtt/commands.py shows its current value under its state key, and the few
fields below that no entity reads. Signs: grid + = import, battery + = discharge, DAB
current + = into the string."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.config import EdgeConfig
from edge.core import ProcessImage, Setpoints
from edge.core.model import Requests
from edge.mqtt.commands import COMMANDS
from edge.mqtt.entities import BINARY_SENSORS, SENSORS
from edge.mqtt.sources import REQUESTS, Devices, Source, Tick

# Keys that no entity reads: for the local API, the menu and any other subscriber.
FIELDS: tuple[tuple[str, Callable[[Tick], Any]], ...] = (
    ("t_s", lambda t: round(t.image.t_s, 3)),  # the supervisor's clock: when this was true
    ("mode", lambda t: t.sp.inverter.mode.value),  # the inverter command: passive, self_use
    ("export_over_limit_w", lambda t: round(t.sp.export_over_limit_w, 1)),
)
# Every (key, source, value function) on the state topic: the entities', and the controls'
# current values (a select, number or switch shows its state_key).
_ENTRIES: tuple[tuple[str, Source[Any], Callable[[Any], Any]], ...] = (
    *((s.key, s.source, s.value) for s in SENSORS if s.source and s.value),
    *((b.key, b.source, b.value) for b in BINARY_SENSORS if b.source and b.value),
    *(
        (c.state_key, REQUESTS, lambda r, k=c.state_key: r[k])
        for c in COMMANDS
        if c.state_key is not None
    ),
)


def document(tick: Tick) -> dict[str, Any]:
    """The state document of one tick. A key whose source reads None this tick (a device
    not fitted or not heard yet) is left out, never sent as a zero."""
    doc = {key: read(tick) for key, read in FIELDS}
    parts: dict[str, Any] = {}
    for key, source, value in _ENTRIES:
        if source.name not in parts:
            parts[source.name] = source.read(tick)
        part = parts[source.name]
        if part is not None:
            doc[key] = value(part)
    return doc


def state_doc(
    image: ProcessImage, sp: Setpoints, devices: Devices, requests: Requests, cfg: EdgeConfig
) -> dict[str, Any]:
    return document(Tick(image, sp, devices, requests, cfg))
