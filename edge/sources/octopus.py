"""Octopus Energy's public REST API: the half-hourly unit rates of a tariff (Agile import,
Agile Outgoing export), no key needed.

GET {base}/v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/
    ?period_from=<ISO>&period_to=<ISO>&page_size=<n>
answers {"count", "next", "previous", "results": [{"value_exc_vat", "value_inc_vat",
"valid_from", "valid_to", "payment_method"}, ...]}: prices in p/kWh, times in UTC,
newest first, pages linked by "next" (developer.octopus.energy/rest/guides/endpoints;
docs/sources.md). We take value_inc_vat: the price on the bill.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from edge.sources.http import HttpPolicy, get_json
from edge.sources.series import (
    MAX_SLOTS,
    SLOT_S,
    PriceSeries,
    SourceError,
    number,
    parse_time,
    slot_means,
)

BASE_URL = "https://api.octopus.energy"
MAX_PAGES = 4  # 4 x 1500 rates: far more than 48 h of half hours
PAGE_SIZE = 1500  # the API's largest page
MAX_ABS_P_PER_KWH = 1000.0  # a unit rate beyond ±£10/kWh is not a tariff


def parse_unit_rates(doc: Any, source: str) -> list[tuple[float, float, float]]:
    """The periods of one page: (start_s, end_s, £/kWh). A rate without an end (a fixed
    tariff's open-ended rate) is refused here: the planner's fixed rates cover those."""
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise SourceError(source, "expected an object with a 'results' list")
    out: list[tuple[float, float, float]] = []
    for k, row in enumerate(doc["results"][: MAX_SLOTS + 1]):
        if not isinstance(row, dict):
            raise SourceError(source, f"results[{k}]: expected an object")
        start = parse_time(row.get("valid_from"), source, f"results[{k}].valid_from")
        if row.get("valid_to") is None:
            raise SourceError(source, f"results[{k}]: open-ended rate (not half-hourly)")
        end = parse_time(row.get("valid_to"), source, f"results[{k}].valid_to")
        if not end > start:
            raise SourceError(source, f"results[{k}]: valid_to is not after valid_from")
        p = number(
            row.get("value_inc_vat"),
            source,
            f"results[{k}].value_inc_vat",
            -MAX_ABS_P_PER_KWH,
            MAX_ABS_P_PER_KWH,
        )
        out.append((start, end, p / 100.0))
    return out


def rates_url(base: str, product: str, tariff: str) -> str:
    return (
        f"{base.rstrip('/')}/v1/products/{product}/electricity-tariffs/{tariff}"
        "/standard-unit-rates/"
    )


def _iso(t_s: float) -> str:
    return dt.datetime.fromtimestamp(t_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def fetch_unit_rates(
    client: httpx.AsyncClient,
    product: str,
    tariff: str,
    now_s: float,
    policy: HttpPolicy,
    *,
    base: str = BASE_URL,
    horizon_s: float = 48 * 3600.0,
    source: str = "octopus",
) -> PriceSeries:
    """The tariff's rates from the current half hour on, as far as they are published
    (Agile: to 23:00 the next day once the day-ahead auction has settled, ~16:00)."""
    start_s = now_s - now_s % SLOT_S
    params: dict[str, str | int | float] | None = {
        "period_from": _iso(start_s),
        "period_to": _iso(start_s + horizon_s),
        "page_size": PAGE_SIZE,
    }
    url: str | None = rates_url(base, product, tariff)
    periods: list[tuple[float, float, float]] = []
    for _page in range(MAX_PAGES):
        if url is None:
            break
        doc = await get_json(client, url, source, policy, params=params)
        periods += parse_unit_rates(doc, source)
        nxt = doc.get("next")
        url = nxt if isinstance(nxt, str) and nxt.startswith(base.rstrip("/")) else None
        params = None  # "next" carries them
    t0, prices = slot_means(periods, SLOT_S, source, start_s=start_s)
    return PriceSeries(t0, SLOT_S, prices)
