"""Solcast's rooftop site forecast (the user's key and site).

GET {base}/rooftop_sites/{resource_id}/forecasts?format=json&hours=48 with
"Authorization: Bearer <key>" answers {"forecasts": [{"pv_estimate": kW,
"pv_estimate10": kW, "pv_estimate90": kW, "period_end": "2025-01-06T12:30:00.0000000Z",
"period": "PT30M"}, ...]}: each the mean power over the period ending at period_end
(docs.solcast.com.au, rooftop sites; the free home-user plan allows 10 calls a day, so
the runner asks at most every SOLCAST_MIN_PERIOD_S; docs/sources.md).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from edge.errors import shown
from edge.sources.http import HttpPolicy, get_json
from edge.sources.series import (
    MAX_SLOTS,
    SLOT_S,
    PowerSeries,
    SourceError,
    number,
    parse_time,
    slot_means,
)

BASE_URL = "https://api.solcast.com.au"
SOLCAST_MIN_PERIOD_S = 9000.0  # 10 calls a day on the free plan: one every 2.4 h, rounded up
_PERIOD = re.compile(r"^PT(\d{1,3})M$")


def parse_forecasts(
    doc: Any, kwp: float, source: str = "solcast", slot_s: float = SLOT_S
) -> PowerSeries:
    rows = doc.get("forecasts") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not rows:
        raise SourceError(source, "expected an object with a non-empty 'forecasts' list")
    if len(rows) > MAX_SLOTS:
        raise SourceError(source, f"more than {MAX_SLOTS} forecasts")
    periods: list[tuple[float, float, float]] = []
    for k, row in enumerate(rows):
        if not isinstance(row, dict):
            raise SourceError(source, f"forecasts[{k}]: expected an object")
        end = parse_time(row.get("period_end"), source, f"forecasts[{k}].period_end")
        m = _PERIOD.match(str(row.get("period"))[:10])
        if m is None or not 0 < int(m.group(1)) <= 60:
            raise SourceError(source, f"forecasts[{k}].period = {shown(row.get('period'))}")
        kw = number(row.get("pv_estimate"), source, f"forecasts[{k}].pv_estimate", 0, kwp * 1.2)
        periods.append((end - 60.0 * int(m.group(1)), end, kw * 1000.0))
    t0, values = slot_means(periods, slot_s, source)
    return PowerSeries(t0, slot_s, values)


async def fetch_forecasts(
    client: httpx.AsyncClient,
    resource_id: str,
    api_key: str,
    kwp: float,
    policy: HttpPolicy,
    *,
    base: str = BASE_URL,
    hours: int = 48,
    source: str = "solcast",
) -> PowerSeries:
    url = f"{base.rstrip('/')}/rooftop_sites/{resource_id}/forecasts"
    doc = await get_json(
        client,
        url,
        source,
        policy,
        params={"format": "json", "hours": hours},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    return parse_forecasts(doc, kwp, source)
