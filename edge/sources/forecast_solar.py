"""Forecast.Solar's public estimate (no key): the array's AC power through today and the
days ahead (tomorrow on the public plan).

GET {base}/estimate/{lat}/{lon}/{dec}/{az}/{kwp}  (dec: tilt, 0 = horizontal; az: 0 =
south, -90 = east, 90 = west; kwp: kW) answers {"result": {"watts": {"2025-06-22
05:15:00": 17, ...}, "watt_hours_period": {...}, "watt_hours": {...},
"watt_hours_day": {...}}, "message": {"code": 0, "type": "success", "text": "",
"info": {"timezone": "Europe/London", ...}, "ratelimit": {...}}}. `watts` is the power
at each time, on the site's local clock (message.info.timezone); the first and last
of each day are sunrise and sunset at 0 W (doc.forecast.solar/api:estimate; the public
plan allows 12 calls an hour from one address; docs/sources.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from edge.errors import shown
from edge.sources.http import HttpPolicy, get_json
from edge.sources.pv_model import PvArray
from edge.sources.series import (
    MAX_SLOTS,
    SLOT_S,
    PowerSeries,
    SourceError,
    number,
    points_to_periods,
    slot_means,
)

BASE_URL = "https://api.forecast.solar"


def _when(key: object, zone: ZoneInfo, source: str) -> float:
    if not isinstance(key, str) or len(key) > 40:
        raise SourceError(source, f"time {shown(key)}: expected 'YYYY-MM-DD HH:MM:SS'")
    try:
        t = dt.datetime.fromisoformat(key)
    except ValueError:
        raise SourceError(source, f"time {shown(key)}: not a date and time") from None
    return (t if t.tzinfo else t.replace(tzinfo=zone)).timestamp()


def parse_estimate(
    doc: Any, array: PvArray, source: str = "forecast.solar", slot_s: float = SLOT_S
) -> PowerSeries:
    if not isinstance(doc, dict):
        raise SourceError(source, "expected a JSON object")
    raw_message = doc.get("message")
    message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else {}
    if message.get("type") != "success":
        raise SourceError(source, f"message {shown(message.get('text'))} (not success)")
    result = doc.get("result")
    watts = result.get("watts") if isinstance(result, dict) else None
    if not isinstance(watts, dict) or not watts:
        raise SourceError(source, "no result.watts")
    if len(watts) > MAX_SLOTS:
        raise SourceError(source, f"more than {MAX_SLOTS} times")
    raw_info = message.get("info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    try:
        zone = ZoneInfo(str(info.get("timezone", "UTC"))[:60])
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(source, f"unknown timezone {shown(info.get('timezone'))}") from None
    top_w = array.kwp * 1000.0 * 1.2  # a reading above the array's peak: the unit is wrong
    points = [
        (_when(k, zone, source), number(w, source, f"watts[{k!r:.30}]", 0, top_w))
        for k, w in watts.items()
    ]
    t0, values = slot_means(points_to_periods(points), slot_s, source)
    return PowerSeries(t0, slot_s, values)


async def fetch_estimate(
    client: httpx.AsyncClient,
    lat: float,
    lon: float,
    array: PvArray,
    policy: HttpPolicy,
    *,
    base: str = BASE_URL,
    source: str = "forecast.solar",
) -> PowerSeries:
    url = (
        f"{base.rstrip('/')}/estimate/{lat:.4f}/{lon:.4f}/{round(array.tilt_deg)}"
        f"/{round(array.azimuth_from_south_deg)}/{array.kwp:g}"
    )
    doc = await get_json(client, url, source, policy, headers={"Accept": "application/json"})
    return parse_estimate(doc, array, source)
