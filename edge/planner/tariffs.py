"""Tariffs as data: what a kWh costs to import and earns to export, at any moment.

Pure: no clock, no I/O. Times are the caller's seconds (t_s, the same clock as the core's
image); the tariff's windows are on the site's local clock, `utc_offset_s` ahead of it
(the caller knows the zone; 0 in the simulated house, which runs on UTC).
Prices are £/kWh; the site file gives them in p/kWh (edge/config.py, [tariff]).

The published structures (windows, and which hours each rate covers) are the rows of
STRUCTURES, each with its source. The prices are the user's: the defaults are
illustrative UK figures of 2024-25 and are meant to be replaced by the bill's.
A half-hourly series (Agile, Agile Outgoing, any CSV) is a SlotSeries; past its end the
tariff falls back to a fixed rate, so a missing day of prices never leaves a hole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field

from edge.errors import EdgeError

HOUR_S = 3600.0
DAY_S = 86400.0
SLOT_S = 1800.0  # the settlement period of GB half-hourly tariffs
MAX_SERIES_SLOTS = 4 * 24 * 14  # two weeks of 15-minute prices: more is refused
MAX_ABS_PRICE_GBP_PER_KWH = 10.0  # a price beyond ±£10/kWh is a typo, not a tariff


class TariffError(EdgeError):
    """A price file or series is malformed; the message names the line and the value."""


@dataclass(frozen=True)
class Band:
    """A daily window of the local clock, [start_h, end_h); end_h < start_h wraps midnight."""

    start_h: float
    end_h: float
    price_gbp_per_kwh: float

    def covers(self, local_h: float) -> bool:
        if self.start_h <= self.end_h:
            return self.start_h <= local_h < self.end_h
        return local_h >= self.start_h or local_h < self.end_h


@dataclass(frozen=True)
class DailyRates:
    """Prices by the local time of day: the first band that covers the hour, else the
    default."""

    default_gbp_per_kwh: float
    bands: tuple[Band, ...] = ()

    def at_local_h(self, local_h: float) -> float:
        for band in self.bands:
            if band.covers(local_h):
                return band.price_gbp_per_kwh
        return self.default_gbp_per_kwh


@dataclass(frozen=True)
class SlotSeries:
    """Prices per slot from t0_s (the caller's clock): prices[k] holds for
    [t0_s + k slot_s, t0_s + (k + 1) slot_s)."""

    t0_s: float
    slot_s: float
    prices_gbp_per_kwh: tuple[float, ...]

    @property
    def end_s(self) -> float:
        return self.t0_s + self.slot_s * len(self.prices_gbp_per_kwh)

    def at(self, t_s: float) -> float | None:
        k = math.floor((t_s - self.t0_s) / self.slot_s)
        return self.prices_gbp_per_kwh[k] if 0 <= k < len(self.prices_gbp_per_kwh) else None


@dataclass(frozen=True)
class Rates:
    """One direction's prices: a series where it has them, daily rates elsewhere."""

    daily: DailyRates
    series: SlotSeries | None = None

    def at(self, t_s: float, utc_offset_s: float) -> float:
        if self.series is not None:
            price = self.series.at(t_s)
            if price is not None:
                return price
        return self.daily.at_local_h(((t_s + utc_offset_s) % DAY_S) / HOUR_S)


@dataclass(frozen=True)
class Tariff:
    name: str
    import_rates: Rates
    export_rates: Rates
    slot_s: float = SLOT_S  # the finest step its prices change on (900 for 15-min tariffs)
    utc_offset_s: float = 0.0  # the local clock, ahead of t_s's

    def import_gbp_per_kwh(self, t_s: float) -> float:
        return self.import_rates.at(t_s, self.utc_offset_s)

    def export_gbp_per_kwh(self, t_s: float) -> float:
        return self.export_rates.at(t_s, self.utc_offset_s)

    def known_until_s(self) -> float:
        """Until when a half-hourly series gives the prices (inf: fixed rates only)."""
        ends = [r.series.end_s for r in (self.import_rates, self.export_rates) if r.series]
        return min(ends) if ends else math.inf

    def prices(self, t0_s: float, n: int, slot_s: float) -> tuple[list[float], list[float]]:
        """Import and export £/kWh for n slots from t0_s: each slot's price at its middle
        (slots are aligned with the tariff's, so one price holds for the whole slot)."""
        mids = [t0_s + (k + 0.5) * slot_s for k in range(n)]
        return [self.import_gbp_per_kwh(t) for t in mids], [
            self.export_gbp_per_kwh(t) for t in mids
        ]


@dataclass(frozen=True)
class Structure:
    """A tariff's published shape: its named windows (local clock) and the source."""

    windows: dict[str, tuple[tuple[float, float], ...]]  # rate name: (start_h, end_h), ...
    source: str
    export_windows: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)


# The published windows, local clock (GMT/BST as the supplier states them). Every rate
# not in a window is the "day" (or "standard") rate.
STRUCTURES: dict[str, Structure] = {
    "flat": Structure({}, "a single unit rate"),
    "economy7": Structure(
        {"night": ((0.5, 7.5),)},
        "Economy 7: seven off-peak hours at night set by the meter; 00:30-07:30 is common"
        " (Ofgem, 'Economy 7 meters'; Energy Saving Trust). Set night_start_h from yours",
    ),
    "go": Structure(
        {"night": ((0.5, 5.5),)},
        "Octopus Go: cheap rate 00:30-05:30 (octopus.energy/smart/go, 2024)",
    ),
    "intelligent_go": Structure(
        {"night": ((23.5, 5.5),)},
        "Intelligent Octopus Go: cheap rate 23:30-05:30 (octopus.energy/smart/intelligent-go)",
    ),
    "cosy": Structure(
        {"night": ((4.0, 7.0), (13.0, 16.0), (22.0, 24.0)), "peak": ((16.0, 19.0),)},
        "Cosy Octopus: three cheap windows 04:00-07:00, 13:00-16:00, 22:00-00:00 and a peak"
        " 16:00-19:00 (octopus.energy/smart/cosy-octopus)",
    ),
    "flux": Structure(
        {"night": ((2.0, 5.0),), "peak": ((16.0, 19.0),)},
        "Octopus Flux: off-peak 02:00-05:00 and peak 16:00-19:00 for import and export"
        " alike (octopus.energy/smart/flux)",
        export_windows={"night": ((2.0, 5.0),), "peak": ((16.0, 19.0),)},
    ),
    "agile": Structure(
        {"peak": ((16.0, 19.0),)},
        "Agile Octopus: each half hour min(D x W + P, cap), W the day-ahead wholesale price,"
        " D 2.0-2.4 by region, P 11-14 p/kWh from 16:00 to 19:00 and 0 otherwise; negative"
        " when W is (octopus.energy/blog/agile-pricing-explained)",
        export_windows={"peak": ((16.0, 19.0),)},
    ),
}

# Illustrative default prices, £/kWh (2024-25; replace them with the bill's).
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "flat": {"day": 0.245, "export": 0.05},
    "economy7": {"day": 0.30, "night": 0.13, "export": 0.05},
    "go": {"day": 0.27, "night": 0.085, "export": 0.15},
    "intelligent_go": {"day": 0.27, "night": 0.07, "export": 0.15},
    "cosy": {"day": 0.26, "night": 0.13, "peak": 0.39, "export": 0.15},
    "flux": {
        "day": 0.275,
        "night": 0.165,
        "peak": 0.385,
        "export": 0.16,
        "export_night": 0.055,
        "export_peak": 0.29,
    },
    "agile": {"day": 0.245, "export": 0.05},  # beyond the published series only
}


@dataclass(frozen=True)
class AgileFormula:
    """Agile's published structure (STRUCTURES["agile"]): import min(D W + P, cap) with P
    only in 16:00-19:00, VAT included in D and P here; Agile Outgoing, export
    D_out W + P_out in the same peak (assumed coefficients: Octopus publishes the rates,
    not these). W in £/kWh; negative W gives negative prices below the cap."""

    d: float = 2.2
    peak_gbp_per_kwh: float = 0.12
    cap_gbp_per_kwh: float = 1.00
    d_out: float = 0.95
    peak_out_gbp_per_kwh: float = 0.05
    peak_h: tuple[float, float] = (16.0, 19.0)

    def _peak(self, local_h: float) -> bool:
        return self.peak_h[0] <= local_h < self.peak_h[1]

    def import_gbp_per_kwh(self, wholesale_gbp_per_kwh: float, local_h: float) -> float:
        p = self.d * wholesale_gbp_per_kwh + (self.peak_gbp_per_kwh if self._peak(local_h) else 0)
        return min(p, self.cap_gbp_per_kwh)

    def export_gbp_per_kwh(self, wholesale_gbp_per_kwh: float, local_h: float) -> float:
        p = self.d_out * wholesale_gbp_per_kwh
        return p + (self.peak_out_gbp_per_kwh if self._peak(local_h) else 0.0)


def _bands(
    windows: dict[str, tuple[tuple[float, float], ...]], prices: dict[str, float], prefix: str = ""
) -> tuple[Band, ...]:
    return tuple(
        Band(a, b, prices[prefix + name]) for name, spans in windows.items() for a, b in spans
    )


def preset(
    kind: str,
    prices: dict[str, float] | None = None,
    *,
    import_series: SlotSeries | None = None,
    export_series: SlotSeries | None = None,
    utc_offset_s: float = 0.0,
) -> Tariff:
    """A tariff of a published structure, with its default prices overridden by `prices`
    (£/kWh; keys "day", "night", "peak", "export", "export_night", "export_peak")."""
    if kind not in STRUCTURES:
        raise TariffError(f"tariff {kind!r}: unknown; one of {', '.join(STRUCTURES)}")
    p = {**DEFAULT_PRICES[kind], **(prices or {})}
    for key, value in p.items():
        if not math.isfinite(value) or abs(value) > MAX_ABS_PRICE_GBP_PER_KWH:
            raise TariffError(f"tariff {kind!r}: {key} = {value!r} £/kWh is out of range")
    st = STRUCTURES[kind]
    windows = {} if kind == "agile" else st.windows  # Agile's peak is in its series
    imp = DailyRates(p["day"], _bands(windows, p))
    exp_windows = {} if kind == "agile" else st.export_windows
    exp = DailyRates(p["export"], _bands(exp_windows, p, "export_"))
    slot_s = min(
        [s.slot_s for s in (import_series, export_series) if s is not None], default=SLOT_S
    )
    return Tariff(kind, Rates(imp, import_series), Rates(exp, export_series), slot_s, utc_offset_s)


def series_from_csv(
    text: str, source: str = "<prices>", epoch: dt.datetime | None = None
) -> SlotSeries:
    """A price series from CSV text: a header with `start` (ISO 8601 with its offset, or
    UTC) and `price_p_per_kwh`, one row per slot, evenly spaced (30 or 15 minutes), in
    order. Times become seconds since `epoch` (default the Unix epoch). Raises TariffError
    naming the line and what is wrong."""
    epoch = epoch or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    reader = csv.DictReader(io.StringIO(text))
    need = {"start", "price_p_per_kwh"}
    if reader.fieldnames is None or not need <= set(reader.fieldnames):
        raise TariffError(f"{source}: the header needs the columns start,price_p_per_kwh")
    times: list[float] = []
    prices: list[float] = []
    for row in reader:
        line = reader.line_num
        if len(times) >= MAX_SERIES_SLOTS:
            raise TariffError(f"{source}: more than {MAX_SERIES_SLOTS} slots")
        try:
            start = dt.datetime.fromisoformat(row["start"] or "")
            price = float(row["price_p_per_kwh"] or "")
        except ValueError:
            raise TariffError(
                f"{source}, line {line}: start {row['start']!r:.40}, price"
                f" {row['price_p_per_kwh']!r:.20}: expected an ISO 8601 time and a number"
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        if not math.isfinite(price) or abs(price) > 100 * MAX_ABS_PRICE_GBP_PER_KWH:
            raise TariffError(f"{source}, line {line}: price {price!r} p/kWh is out of range")
        times.append((start - epoch).total_seconds())
        prices.append(price / 100.0)
    if not times:
        raise TariffError(f"{source}: no prices")
    slot_s = times[1] - times[0] if len(times) > 1 else SLOT_S
    if slot_s not in (900.0, 1800.0):
        raise TariffError(f"{source}: slots of {slot_s:g} s; expected 900 or 1800")
    for k in range(1, len(times)):
        if times[k] - times[k - 1] != slot_s:
            raise TariffError(
                f"{source}, line {k + 2}: not {slot_s:g} s after the row before (gap or order)"
            )
    return SlotSeries(times[0], slot_s, tuple(prices))
