"""PV power from pvlib: clear-sky irradiance (Ineichen) on the tilted plane at the site,
times a seeded cloud process, times a system derate. Computed a day at a time (pvlib at
1 min, interpolated to 1 s) so that stepping stays a table look-up.

Clouds: passages with exponentially distributed lengths (mean 120 s) and gaps set by the
cloudiness (0 clear, 1 overcast); under a cloud the clear-sky index falls to 0.2-0.5, with
10 s edges. Seeded per day: the same seed gives the same sky.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib


@dataclass(frozen=True)
class PvParams:
    latitude_deg: float = 52.2  # central England
    longitude_deg: float = -1.5
    altitude_m: float = 100.0
    tilt_deg: float = 35.0
    azimuth_deg: float = 180.0  # south
    kwp: float = 5.0
    derate: float = 0.85  # inverter, wiring, soiling, temperature
    cloudiness: float = 0.0  # share of time under clouds, 0..0.95
    year: int = 2026
    # A weather file instead of clear sky and clouds: CSV with a header, columns
    # time (ISO 8601, UTC), ghi, dni, dhi (W/m2); any resolution, interpolated to 1 s.
    weather_csv: str | None = None


class PvModel:
    def __init__(self, params: PvParams, start_day_of_year: int, seed: int) -> None:
        self.p = params
        self.start_day = start_day_of_year
        self.seed = seed
        self._site = pvlib.location.Location(
            params.latitude_deg, params.longitude_deg, tz="UTC", altitude=params.altitude_m
        )
        self._day_index: int | None = None
        self._day: list[float] = []
        self._weather: pd.DataFrame | None = None
        if params.weather_csv is not None:
            w = pd.read_csv(params.weather_csv, parse_dates=["time"]).set_index("time")
            w.index = (
                pd.DatetimeIndex(w.index).tz_convert("UTC")
                if w.index.tz
                else (pd.DatetimeIndex(w.index).tz_localize("UTC"))
            )
            missing = {"ghi", "dni", "dhi"} - set(w.columns)
            if missing:
                raise ValueError(f"{params.weather_csv}: missing columns {sorted(missing)}")
            self._weather = w

    def _compute_day(self, day_index: int) -> list[float]:
        p = self.p
        start = pd.Timestamp(year=p.year, month=1, day=1, tz="UTC") + pd.Timedelta(
            days=self.start_day - 1 + day_index
        )
        times = pd.date_range(start, periods=24 * 60 + 1, freq="1min")
        if self._weather is not None:
            w = self._weather
            cs = pd.DataFrame(
                {
                    col: np.interp(times.asi8, w.index.asi8, w[col].to_numpy(), left=0.0, right=0.0)
                    for col in ("ghi", "dni", "dhi")
                },
                index=times,
            )
        else:
            cs = self._site.get_clearsky(times, model="ineichen")
        sun = self._site.get_solarposition(times)
        poa = (
            pvlib.irradiance.get_total_irradiance(
                p.tilt_deg,
                p.azimuth_deg,
                sun["apparent_zenith"],
                sun["azimuth"],
                cs["dni"],
                cs["ghi"],
                cs["dhi"],
            )["poa_global"]
            .fillna(0.0)
            .to_numpy()
        )
        per_min = np.clip(poa, 0.0, None) * p.kwp * p.derate  # W at 1000 W/m2 = kWp
        per_s = np.interp(np.arange(86400) / 60.0, np.arange(len(per_min)), per_min)
        clouds = self._clouds(day_index) if self._weather is None else 1.0  # measured sky
        day: list[float] = (per_s * clouds).tolist()
        return day

    def _clouds(self, day_index: int) -> np.ndarray:
        c = max(0.0, min(0.95, self.p.cloudiness))
        k = np.ones(86400)
        if c <= 0.0:
            return k
        rng = random.Random(self.seed * 1000 + self.start_day + day_index)
        t = rng.expovariate(1.0 / (120.0 * (1 - c) / c))
        while t < 86400:
            length = rng.expovariate(1.0 / 120.0)
            depth = rng.uniform(0.2, 0.5)
            a, b = int(t), min(86400, int(t + length))
            if b > a:
                edge = np.minimum(
                    1.0, np.minimum(np.arange(b - a) + 1, b - a - np.arange(b - a)) / 10.0
                )
                k[a:b] = np.minimum(k[a:b], 1.0 - (1.0 - depth) * edge)
            t += length + rng.expovariate(1.0 / (120.0 * (1 - c) / c))
        return k

    def day_w(self, day_index: int) -> list[float]:
        """The PV power (W) of each second of day_index (0: the start day), computed once
        a day: an input of the house, the same whoever controls it."""
        if day_index != self._day_index:
            self._day, self._day_index = self._compute_day(day_index), day_index
        return self._day

    def power_w(self, t_s: float) -> float:
        day = int(t_s // 86400)
        return self.day_w(day)[int(t_s - day * 86400) % 86400]


def day_energy_kwh(model: PvModel, day_index: int = 0) -> float:
    return math.fsum(model.power_w(day_index * 86400.0 + s) for s in range(86400)) / 3.6e6
