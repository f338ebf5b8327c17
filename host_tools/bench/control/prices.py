"""The benchmark's tariffs as edge.planner tariffs, and their prices over a trace's times
(vectorised): flat and Economy 7 (metrics.TARIFFS' figures), Octopus Go, and an
Agile-like half-hourly import and export series.

The Agile-like series is synthetic and seeded: a day-ahead wholesale price W per half
hour, made of
- a daily level: 9 p/kWh with a day-to-day AR(1) deviation (sd 2.5 p, lag-1 0.7);
- a windy-day share (uniform 0 to 1) that lowers the level by up to 60 %;
- a daily shape: -2 p from 00:00 to 05:00, +2.5 p from 07:00 to 09:00, -1.5 p from 11:00
  to 15:00 (solar), +5 p from 16:00 to 19:00;
- half-hourly noise (sd 0.8 p), with W at least -6 p.
Through Agile's published formula (tariffs.AgileFormula: min(2.2 W + 12 p at 16:00-19:00,
£1)) it gives import prices of about 5 to 45 p/kWh, negative on windy nights; the export
is Agile Outgoing's shape, 0.95 W + 5 p at the peak (assumed coefficients). The series has
no seasons: its days differ at random, not by month (an assumption of this benchmark).

The series is indexed by the day of the year: its day 0 is 1 January. A run's clock
starts at 0 on the midnight of its first day, so a run that starts on day D of the year
reads the series from its day D - 1: the tariff's name for that run is "agile@<D - 1>"
(`for_run`), and "agile" alone is a run from 1 January. The fixed tariffs depend only on
the time of day.
"""

from __future__ import annotations

import functools

import numpy as np

from edge.planner.tariffs import (
    AgileFormula,
    DailyRates,
    Rates,
    SlotSeries,
    Tariff,
    preset,
)

AGILE_SEED = 2026
AGILE_DAYS = 400  # a year and the planner's look-back
HALF_HOUR_S = 1800.0
PLANNED_TARIFFS = ("flat", "e7", "agile", "go")
# The fixed-rate tariffs: flat and Economy 7 as metrics.TARIFFS has them; Go at Octopus's
# structure with illustrative 2024-25 rates. Export at 5 p everywhere but Agile: below the
# 6.7 p of gas a kWh in the tank saves, as the benchmark has always assumed.
BENCH_FIXED: dict[str, tuple[str, dict[str, float]]] = {
    "flat": ("flat", {"day": 0.245, "export": 0.05}),
    "e7": ("economy7", {"day": 0.30, "night": 0.13, "export": 0.05}),
    "go": ("go", {"day": 0.27, "night": 0.085, "export": 0.05}),
}


def wholesale_gbp_per_kwh(seed: int = AGILE_SEED, days: int = AGILE_DAYS) -> np.ndarray:
    """The synthetic day-ahead wholesale price per half hour (£/kWh), from t = 0."""
    rng = np.random.default_rng(seed)
    level = np.zeros(days)
    dev = 0.0
    for d in range(days):
        dev = 0.7 * dev + rng.normal(0.0, 0.025 * np.sqrt(1 - 0.7**2))
        level[d] = 0.09 + dev
    windy = rng.uniform(0.0, 1.0, days)
    h = (np.arange(48) + 0.5) / 2.0
    shape = (
        -0.02 * (h < 5)
        + 0.025 * ((h >= 7) & (h < 9))
        - 0.015 * ((h >= 11) & (h < 15))
        + 0.05 * ((h >= 16) & (h < 19))
    )
    w = (level * (1 - 0.6 * windy))[:, None] + shape[None, :]
    w = w + rng.normal(0.0, 0.008, w.shape)
    return np.asarray(np.maximum(w, -0.06).ravel(), dtype=float)


@functools.cache
def _agile_prices(seed: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The Agile-like import and export prices per half hour, from the series' day 0."""
    w = wholesale_gbp_per_kwh(seed)
    f = AgileFormula()
    hours = ((np.arange(len(w)) + 0.5) / 2.0) % 24.0
    imp = tuple(f.import_gbp_per_kwh(float(x), float(hh)) for x, hh in zip(w, hours, strict=True))
    exp = tuple(f.export_gbp_per_kwh(float(x), float(hh)) for x, hh in zip(w, hours, strict=True))
    return imp, exp


@functools.cache
def agile(seed: int = AGILE_SEED, first_day: int = 0) -> Tariff:
    """The Agile-like tariff for a run whose clock's 0 is the series' day first_day."""
    if not 0 <= first_day < AGILE_DAYS - 2:
        raise KeyError(f"no Agile-like day {first_day}: the series has days 0 to {AGILE_DAYS - 3}")
    imp, exp = _agile_prices(seed)
    t0_s = -first_day * 86400.0
    return preset(
        "agile",
        {"day": float(np.mean(imp)), "export": float(np.mean(exp))},
        import_series=SlotSeries(t0_s, HALF_HOUR_S, imp),
        export_series=SlotSeries(t0_s, HALF_HOUR_S, exp),
    )


def for_run(name: str, first_day_of_year: int) -> str:
    """The tariff's name for a run that starts on this day of the year (1: 1 January)."""
    return f"agile@{first_day_of_year - 1}" if name == "agile" and first_day_of_year > 1 else name


def base_name(name: str) -> str:
    """The tariff a run's name is of ("agile@79": "agile")."""
    return name.partition("@")[0]


@functools.cache
def tariff(name: str) -> Tariff:
    """The benchmark's tariff of this name ("agile@D": Agile-like from the series' day D)."""
    base, at, day = name.partition("@")
    if base == "agile":
        if at and not day.isdigit():
            raise KeyError(f"no benchmark tariff {name!r}: expected agile@<day>")
        return agile(AGILE_SEED, int(day) if at else 0)
    if name in BENCH_FIXED:
        kind, prices = BENCH_FIXED[name]
        return preset(kind, prices)
    raise KeyError(f"no benchmark tariff {name!r}")


def _daily(rates: DailyRates, t_s: np.ndarray, offset_s: float) -> np.ndarray:
    h = ((t_s + offset_s) % 86400.0) / 3600.0
    out = np.full(len(t_s), rates.default_gbp_per_kwh)
    for band in reversed(rates.bands):  # the first band that covers an hour wins
        if band.start_h <= band.end_h:
            inside = (h >= band.start_h) & (h < band.end_h)
        else:
            inside = (h >= band.start_h) | (h < band.end_h)
        out[inside] = band.price_gbp_per_kwh
    return out


_ARRAYS: dict[int, tuple[SlotSeries, np.ndarray]] = {}


def _array(s: SlotSeries) -> np.ndarray:
    """The series' prices as an array, made once per series (a year's is 17,520 floats:
    converting its tuple on every call was most of a planned run's price lookups)."""
    hit = _ARRAYS.get(id(s))
    if hit is None or hit[0] is not s:
        hit = (s, np.asarray(s.prices_gbp_per_kwh, dtype=float))
        _ARRAYS[id(s)] = hit
    return hit[1]


def _prices(rates: Rates, t_s: np.ndarray, offset_s: float) -> np.ndarray:
    t_s = np.asarray(t_s, dtype=float)
    out = _daily(rates.daily, t_s, offset_s)
    s = rates.series
    if s is not None:
        prices = _array(s)
        k = np.floor((t_s - s.t0_s) / s.slot_s).astype(np.int64)
        ok = (k >= 0) & (k < len(prices))
        out[ok] = prices[k[ok]]
    return out


def import_prices(name: str, t_s: np.ndarray) -> np.ndarray:
    t = tariff(name)
    return _prices(t.import_rates, t_s, t.utc_offset_s)


def export_prices(name: str, t_s: np.ndarray) -> np.ndarray:
    t = tariff(name)
    return _prices(t.export_rates, t_s, t.utc_offset_s)
