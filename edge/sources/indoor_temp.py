"""The house's indoor temperature on MQTT, for the planner's model of the house
(planner.house; docs/sources.md, "Indoor temperature").

Topic: sources.indoor_temp_topic, retained preferred so a restart finds the latest at
once. Payload (at most MAX_PAYLOAD_BYTES), degC:

    21.3                                   # a plain number (Home Assistant's MQTT
                                           # statestream publishes a sensor's state so)
    {"temperature": 21.3, "humidity": 48}  # JSON: the number at sources.indoor_temp_field
                                           # (dotted for nested objects; a numeric string
                                           # such as "21.3" is taken too)

Anything else (not a number, "unavailable", a field missing, outside MIN_DEGC to MAX_DEGC)
is a SourceError naming what was wrong; the reading before stays until it is stale.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

from edge.config import MqttConfig
from edge.errors import shown
from edge.sources.mqtt_topic import MqttTopic
from edge.sources.series import SourceError

log = logging.getLogger("edge.sources")

MAX_PAYLOAD_BYTES = 4096
MIN_DEGC = -20.0  # a reading outside this is not a living room's: a wrong sensor or unit
MAX_DEGC = 50.0


def _degc(value: object, source: str, what: str) -> float:
    v: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            v = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            v = math.inf
    elif isinstance(value, str):
        try:
            v = float(value.strip())
        except ValueError:
            v = None
    if v is None:
        raise SourceError(source, f"{what} = {shown(value)}: expected a temperature in degC")
    if not math.isfinite(v) or not MIN_DEGC <= v <= MAX_DEGC:
        raise SourceError(
            source, f"{what} = {shown(value)}: outside {MIN_DEGC:g} to {MAX_DEGC:g} degC"
        )
    return v


def parse_indoor_payload(
    payload: bytes, field: str | None = None, source: str = "indoor temperature"
) -> float:
    """The temperature (degC) in one message: a number, or JSON with it at `field`
    (dotted for nested objects); SourceError naming what is wrong."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise SourceError(source, f"payload of {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SourceError(source, "payload is not UTF-8 text") from None
    try:
        doc: Any = json.loads(text)
    except (ValueError, RecursionError):
        doc = text  # a bare word such as `unavailable`: named below
    if field is None:
        if isinstance(doc, dict):
            raise SourceError(
                source, "a JSON object: set sources.indoor_temp_field to the temperature's key"
            )
        return _degc(doc, source, "payload")
    here = doc
    for key in field.split("."):
        if not isinstance(here, dict):
            raise SourceError(source, f"{field}: expected a JSON object holding {key!r}")
        if key not in here:
            raise SourceError(source, f"{field}: missing")
        here = here[key]
    return _degc(here, source, field)


class MqttIndoorTemp(MqttTopic[float]):
    """Subscribes to the indoor temperature's topic; each good reading is handed to
    on_degc, each bad message to on_problem (one line), on paho's network thread
    (MqttTopic, as the prices' MqttPrices)."""

    def __init__(
        self,
        cfg: MqttConfig,
        topic: str,
        field: str | None,
        client_id: str,
        on_degc: Callable[[float], None],
        on_problem: Callable[[str], None],
    ) -> None:
        source = f"indoor temperature ({topic})"
        super().__init__(
            cfg,
            topic,
            client_id,
            lambda payload: parse_indoor_payload(payload, field, source),
            on_degc,
            on_problem,
            retained=False,  # its age is unknown: a dead sensor's last value is not fresh
        )
