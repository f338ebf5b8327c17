"""Prices published on MQTT, so Home Assistant's own tariff integrations can feed us.

Topic: sources.prices_topic (default `<mqtt.base_topic>/prices`), retained preferred so
a restart finds the latest at once. Payload: a JSON object (at most MAX_PAYLOAD_BYTES):

    {"unit": "p/kWh",                      # or "GBP/kWh"; the prices' unit, required
     "import": [{"start": "2025-01-06T16:00:00Z", "end": "2025-01-06T16:30:00Z",
                 "price": 24.5}, ...],
     "export": [...]}                      # optional

Each rate's price may also be named `value_inc_vat`, the key of the Octopus Energy
integration's rate lists (its event entities' `rates` attribute, in £/kWh), so a Home
Assistant automation can forward that attribute as it is with "unit": "GBP/kWh".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from edge.config import MqttConfig
from edge.errors import shown
from edge.sources.mqtt_topic import MqttTopic
from edge.sources.series import (
    MAX_SLOTS,
    SLOT_S,
    Period,
    PriceSeries,
    SourceError,
    number,
    parse_time,
    slot_means,
)

log = logging.getLogger("edge.sources")

MAX_PAYLOAD_BYTES = 256 * 1024
UNITS_TO_GBP = {"p/kWh": 0.01, "GBP/kWh": 1.0}
MAX_ABS_GBP_PER_KWH = 10.0


def _periods(rates: Any, scale: float, source: str, key: str) -> list[Period]:
    if not isinstance(rates, list) or not rates:
        raise SourceError(source, f"{key}: expected a non-empty list of rates")
    if len(rates) > MAX_SLOTS:
        raise SourceError(source, f"{key}: more than {MAX_SLOTS} rates")
    out: list[Period] = []
    for k, rate in enumerate(rates):
        where = f"{key}[{k}]"
        if not isinstance(rate, dict):
            raise SourceError(source, f"{where}: expected an object")
        start = parse_time(rate.get("start"), source, f"{where}.start")
        end = parse_time(rate.get("end"), source, f"{where}.end")
        if not end > start:
            raise SourceError(source, f"{where}: end is not after start")
        raw = rate.get("price", rate.get("value_inc_vat"))
        price = number(raw, source, f"{where}.price", -1e9, 1e9) * scale
        if abs(price) > MAX_ABS_GBP_PER_KWH:
            raise SourceError(source, f"{where}.price = {shown(raw)}: over £10/kWh (the unit?)")
        out.append((start, end, price))
    return out


def parse_price_payload(
    payload: bytes, source: str = "mqtt prices", slot_s: float = SLOT_S
) -> tuple[PriceSeries, PriceSeries | None]:
    """(import, export or None) from one message; SourceError naming what is wrong."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise SourceError(source, f"payload of {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise SourceError(source, f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise SourceError(source, "expected a JSON object")
    unit = doc.get("unit")
    if unit not in UNITS_TO_GBP:
        raise SourceError(source, f"unit = {shown(unit)}: one of {', '.join(UNITS_TO_GBP)}")
    scale = UNITS_TO_GBP[unit]
    t0, imp = slot_means(_periods(doc.get("import"), scale, source, "import"), slot_s, source)
    export = None
    if doc.get("export") is not None:
        e0, exp = slot_means(_periods(doc["export"], scale, source, "export"), slot_s, source)
        export = PriceSeries(e0, slot_s, exp)
    return PriceSeries(t0, slot_s, imp), export


Prices = tuple[PriceSeries, PriceSeries | None]


class MqttPrices(MqttTopic[Prices]):
    """Subscribes to the prices topic; each good message is handed to on_prices, each bad
    one to on_problem (one line), on paho's network thread (MqttTopic)."""

    def __init__(
        self,
        cfg: MqttConfig,
        topic: str,
        client_id: str,
        on_prices: Callable[[Prices], None],
        on_problem: Callable[[str], None],
    ) -> None:
        source = f"mqtt prices ({topic})"
        super().__init__(
            cfg,
            topic,
            client_id,
            lambda payload: parse_price_payload(payload, source),
            on_prices,
            on_problem,
        )
