"""The PV forecast calibrated against the site's own measured PV (pure).

ratio = measured energy / forecast energy over the history's last `days` days, counting
only slots whose forecast was at least MIN_SLOT_WH (night and dawn say little), bounded
to [lo, hi]; 1 until the forecast energy counted reaches MIN_TOTAL_WH. The forecast is
then scaled by it: a shaded or older array's forecast comes down, an under-rated one up.
"""

from __future__ import annotations

from collections.abc import Iterable
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
