"""Open-Meteo's forecast API (no key): the global tilted irradiance on the array's plane
and the air temperature, made into PV power with pv_model.py.

GET {base}/v1/forecast?latitude&longitude&hourly=global_tilted_irradiance,temperature_2m
    &tilt=<deg>&azimuth=<deg, 0 = south, -90 = east>&forecast_days=2&timeformat=unixtime
answers {"hourly_units": {"time": "unixtime", "global_tilted_irradiance": "W/m²",
"temperature_2m": "°C"}, "hourly": {"time": [...], "global_tilted_irradiance": [...],
"temperature_2m": [...]}}. A radiation value is the mean over the hour before its time;
a temperature is the value at its time (open-meteo.com/en/docs; docs/sources.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from edge.errors import shown
from edge.sources.http import HttpPolicy, get_json
from edge.sources.pv_model import PvArray, ac_power_w
from edge.sources.series import (
    MAX_SLOTS,
    SLOT_S,
    PowerSeries,
    SourceError,
    TemperatureSeries,
    number,
    slot_means,
)

BASE_URL = "https://api.open-meteo.com"
STEP_S = 3600.0  # hourly values
EXPECTED_UNITS = {"global_tilted_irradiance": "W/m²", "temperature_2m": "°C"}


@dataclass(frozen=True)
class WeatherForecast:
    pv: PowerSeries
    t_out: TemperatureSeries


def parse_forecast(
    doc: Any, array: PvArray, source: str = "open-meteo", slot_s: float = SLOT_S
) -> WeatherForecast:
    if not isinstance(doc, dict) or not isinstance(doc.get("hourly"), dict):
        reason = doc.get("reason") if isinstance(doc, dict) else None
        raise SourceError(source, f"no 'hourly' block ({shown(reason)})")
    units = doc.get("hourly_units")
    if not isinstance(units, dict):
        raise SourceError(source, "no 'hourly_units' block")
    for key, unit in EXPECTED_UNITS.items():
        if units.get(key) != unit:
            raise SourceError(source, f"{key} in {shown(units.get(key))}; expected {unit}")
    if units.get("time") != "unixtime":
        raise SourceError(source, f"time as {shown(units.get('time'))}; expected unixtime")
    hourly = doc["hourly"]
    cols = [hourly.get(k) for k in ("time", *EXPECTED_UNITS)]
    if not all(isinstance(c, list) for c in cols) or len({len(c) for c in cols}) != 1:
        raise SourceError(source, "hourly: time and values are not lists of one length")
    times, gti, temp = cols
    if len(times) > MAX_SLOTS:
        raise SourceError(source, f"more than {MAX_SLOTS} hours")
    pv: list[tuple[float, float, float]] = []
    t_out: list[tuple[float, float, float]] = []
    for k, (t, g, ta) in enumerate(zip(times, gti, temp, strict=True)):
        if g is None or ta is None:  # past the model's horizon
            break
        t_s = number(t, source, f"hourly.time[{k}]", 0, 1e11)
        g_w = number(g, source, f"global_tilted_irradiance[{k}]", -100, 1500)
        ta_c = number(ta, source, f"temperature_2m[{k}]", -90, 60)
        pv.append((t_s - STEP_S, t_s, ac_power_w(array, g_w, ta_c)))
        t_out.append((t_s - STEP_S / 2, t_s + STEP_S / 2, ta_c))
    p0, p = slot_means(pv, slot_s, source)
    t0, tt = slot_means(t_out, slot_s, source)
    return WeatherForecast(PowerSeries(p0, slot_s, p), TemperatureSeries(t0, slot_s, tt))


def latitude_longitude(lat: float, lon: float) -> dict[str, str | int | float]:
    return {"latitude": round(lat, 4), "longitude": round(lon, 4)}


async def fetch_forecast(
    client: httpx.AsyncClient,
    lat: float,
    lon: float,
    array: PvArray,
    policy: HttpPolicy,
    *,
    base: str = BASE_URL,
    days: int = 2,
    source: str = "open-meteo",
) -> WeatherForecast:
    params: dict[str, str | int | float] = {
        **latitude_longitude(lat, lon),
        "hourly": ",".join(EXPECTED_UNITS),
        "tilt": round(array.tilt_deg, 1),
        "azimuth": round(array.azimuth_from_south_deg, 1),
        "forecast_days": days,
        "timeformat": "unixtime",
        "timezone": "UTC",
    }
    url = f"{base.rstrip('/')}/v1/forecast"
    return parse_forecast(await get_json(client, url, source, policy, params=params), array)
