"""Answers in the documented formats of each API (docs/sources.md), built for a given
time, so a test states its inputs and computes what it expects from them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from edge.sources.http import HttpPolicy

T0 = dt.datetime(2025, 1, 6, 12, 0, tzinfo=dt.UTC)  # a Monday, a half hour's start
T0_S = T0.timestamp()


def iso(t_s: float, z: str = "Z") -> str:
    return dt.datetime.fromtimestamp(t_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + z


def octopus_page(start_s: float, prices_p: list[float], next_url: str | None = None) -> Any:
    """standard-unit-rates: newest first, value_inc_vat in p/kWh."""
    rows = [
        {
            "value_exc_vat": round(p / 1.05, 4),
            "value_inc_vat": p,
            "valid_from": iso(start_s + k * 1800),
            "valid_to": iso(start_s + (k + 1) * 1800),
            "payment_method": None,
        }
        for k, p in enumerate(prices_p)
    ]
    return {"count": len(rows), "next": next_url, "previous": None, "results": rows[::-1]}


def open_meteo(start_s: float, gti: list[float | None], temp: list[float | None]) -> Any:
    """hourly, timeformat=unixtime: each radiation value the mean of the hour before."""
    times = [int(start_s + 3600 * (k + 1)) for k in range(len(gti))]
    return {
        "latitude": 52.2,
        "longitude": -1.5,
        "utc_offset_seconds": 0,
        "timezone": "GMT",
        "hourly_units": {
            "time": "unixtime",
            "global_tilted_irradiance": "W/m²",
            "temperature_2m": "°C",
        },
        "hourly": {"time": times, "global_tilted_irradiance": gti, "temperature_2m": temp},
    }


def forecast_solar(points: dict[str, float], timezone: str = "Europe/London") -> Any:
    return {
        "result": {
            "watts": points,
            "watt_hours_period": {k: 0 for k in points},
            "watt_hours": {k: 0 for k in points},
            "watt_hours_day": {},
        },
        "message": {
            "code": 0,
            "type": "success",
            "text": "",
            "info": {"latitude": 52.2, "longitude": -1.5, "place": "x", "timezone": timezone},
            "ratelimit": {"period": 3600, "limit": 12, "remaining": 11},
        },
    }


def solcast(end_s: float, kw: list[float], period: str = "PT30M") -> Any:
    """forecasts: period_end with seven-digit fractions, as Solcast writes them."""
    step = 1800 if period == "PT30M" else 60 * int(period[2:-1])
    return {
        "forecasts": [
            {
                "pv_estimate": p,
                "pv_estimate10": p * 0.5,
                "pv_estimate90": p * 1.2,
                "period_end": iso(end_s + k * step, ".0000000Z"),
                "period": period,
            }
            for k, p in enumerate(kw)
        ]
    }


@pytest.fixture
def fast_policy() -> HttpPolicy:
    return HttpPolicy(timeout_s=0.5, attempts=3, backoff_s=0.01)
