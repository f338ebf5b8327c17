"""The PV forecast calibrated against the site's own measured PV (pure).

ratio = measured energy / forecast energy over the history's last `days` days, counting
only slots whose forecast was at least MIN_SLOT_WH (night and dawn say little), bounded
to [lo, hi]; 1 until the forecast energy counted reaches MIN_TOTAL_WH. The forecast is
then scaled by it: a shaded or older array's forecast comes down, an under-rated one up.

Nowcast: the same ratio over the last whole slot alone (measured / forecast as calibrated)
says how today's sky differs from the forecast's, and a sky persists for a while: each
coming slot is scaled by a x r + (1 - a), a = exp(-ahead / blend_s) for the time from now
to the slot's middle, r bounded to [lo, hi], and no slot above the array's peak. The
persistence of the clear-sky index beats day-ahead weather forecasts for the first hour
or two and loses to them beyond (e.g. Antonanzas et al. 2016, "Review of photovoltaic
power forecasting", Solar Energy 136: persistence as the reference that intra-hour and
intra-day methods beat); a 2-hour fade is this product's assumption.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edge.sources.history import SlotRecord
from edge.sources.series import PowerSeries

MIN_SLOT_WH = 50.0
MIN_TOTAL_WH = 5000.0  # about one good day of a 4 kWp array


@dataclass(frozen=True)
class Calibration:
    days: float = 14.0
    lo: float = 0.5
    hi: float = 1.5


def pv_ratio(records: Iterable[SlotRecord], now_s: float, c: Calibration = Calibration()) -> float:
    since = now_s - c.days * 86400.0
    measured = forecast = 0.0
    for r in records:
        fc = r.pv_forecast_wh
        if r.slot_start_s >= since and fc is not None and fc >= MIN_SLOT_WH:
            measured += r.pv_wh
            forecast += fc
    if forecast < MIN_TOTAL_WH:
        return 1.0
    return min(c.hi, max(c.lo, measured / forecast))


def calibrated(series: PowerSeries, ratio: float) -> PowerSeries:
    return PowerSeries(series.t0_s, series.slot_s, tuple(p * ratio for p in series.power_w))


@dataclass(frozen=True)
class Nowcast:
    blend_s: float = 7200.0  # the last slot's ratio pulls the next slots, fading over this
    lo: float = 0.2
    hi: float = 3.0


def nowcast_ratio(
    measured_wh: float, forecast_wh: float | None, c: Nowcast = Nowcast()
) -> float | None:
    """The last whole slot's measured over forecast (as calibrated) energy, bounded; None
    where that forecast was under MIN_SLOT_WH (night and dawn say little) or missing."""
    if forecast_wh is None or forecast_wh < MIN_SLOT_WH:
        return None
    return min(c.hi, max(c.lo, measured_wh / forecast_wh))


def nowcast(
    power_w: Sequence[float],
    t0_s: float,
    slot_s: float,
    now_s: float,
    ratio: float | None,
    peak_w: float,
    c: Nowcast = Nowcast(),
) -> tuple[float, ...]:
    """The forecast's slots from t0_s (mean W) with the last slot's ratio carried into
    them (module docstring); as they are with no ratio or no fade."""
    if ratio is None or c.blend_s <= 0.0:
        return tuple(power_w)
    out = []
    for k, p in enumerate(power_w):
        ahead = max(0.0, t0_s + (k + 0.5) * slot_s - now_s)
        a = math.exp(-ahead / c.blend_s)
        out.append(min(p * (a * ratio + 1.0 - a), max(p, peak_w)))
    return tuple(out)
