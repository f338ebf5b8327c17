"""The household's load, hot-water and heat forecasts from the site's own history (pure).

Load, per future slot: the weighted mean of the same slot of the day on the previous
`days` days (weight decay^(d-1) for d days back), with the same weekday a week and two
weeks back weighted `weekday_weight` more; then blended with the live reading for the
next slots: live x a + profile x (1 - a), a = exp(-ahead / blend_s) for the slot's
middle `ahead` seconds from now. A slot with no history at all takes the mean of the
history's slots, or the live reading.

Hot water: the tank element's energy by the same weighted same-time-of-day mean (what
the tank took back is what was drawn, over a day).

Heat: the heat pump's electrical energy per slot against the outside temperature, the
house's energy signature k x max(0, T_base - T_out) fitted by least squares over the
history (the heating-degree model, e.g. CIBSE TM41 "Degree-days: theory and
application"), applied to the temperature forecast.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from edge.sources.history import SlotRecord
from edge.sources.series import PowerSeries, TemperatureSeries

DAY_S = 86400.0
MIN_FIT_POINTS = 48  # a day of half hours at least, before the heat line is trusted
MIN_FIT_SPREAD_K = 3.0  # and outside temperatures that span at least this


@dataclass(frozen=True)
class LoadModel:
    days: int = 7  # previous days looked at
    decay: float = 0.8  # each day further back weighs this much less
    weekday_weight: float = 2.0  # the same weekday (7 and 14 days back) counts this more
    blend_s: float = 3600.0  # the live reading's pull fades with this time constant


def _weights(m: LoadModel) -> list[tuple[int, float]]:
    out = {d: m.decay ** (d - 1) for d in range(1, m.days + 1)}
    for d in (7, 14):
        out[d] = out.get(d, m.decay ** (d - 1)) * (1.0 + m.weekday_weight)
    return sorted(out.items())


def profile(
    by_slot: Mapping[int, float], t0_s: float, slot_s: float, n: int, m: LoadModel
) -> list[float | None]:
    """The weighted same-time-of-day mean per slot (None where there is no history)."""
    weights = _weights(m)
    out: list[float | None] = []
    for k in range(n):
        t = int(t0_s + k * slot_s)
        num = den = 0.0
        for d, w in weights:
            v = by_slot.get(t - int(d * DAY_S))
            if v is not None:
                num += w * v
                den += w
        out.append(num / den if den else None)
    return out


def _series_of(
    records: Iterable[SlotRecord], value: Callable[[SlotRecord], float]
) -> dict[int, float]:
    return {r.slot_start_s: value(r) for r in records}


def forecast_load(
    records: Iterable[SlotRecord],
    now_s: float,
    slot_s: float,
    n: int,
    live_w: float | None,
    m: LoadModel = LoadModel(),
) -> PowerSeries:
    """n slots from the slot now_s is in; mean power, W."""
    by_slot = _series_of(records, lambda r: r.load_wh * 3600.0 / r.slot_s)
    t0 = now_s - now_s % slot_s
    prof = profile(by_slot, t0, slot_s, n, m)
    fallback = statistics.fmean(by_slot.values()) if by_slot else (live_w or 0.0)
    out: list[float] = []
    for k, p in enumerate(prof):
        base = p if p is not None else fallback
        if live_w is not None:
            ahead = max(0.0, t0 + (k + 0.5) * slot_s - now_s)
            a = math.exp(-ahead / m.blend_s)
            base = a * live_w + (1 - a) * base
        out.append(max(0.0, base))
    return PowerSeries(t0, slot_s, tuple(out))


def forecast_hot_water_wh(
    records: Iterable[SlotRecord], t0_s: float, slot_s: float, n: int, m: LoadModel = LoadModel()
) -> tuple[float, ...]:
    """The tank's draw per slot, Wh of heat, as its element's history gives it (0 where
    there is none)."""
    prof = profile(_series_of(records, lambda r: r.tank_wh), t0_s, slot_s, n, m)
    return tuple(p if p is not None else 0.0 for p in prof)


@dataclass(frozen=True)
class HeatLine:
    """The house's energy signature: heat pump electrical power k x max(0, T_base - T),
    the heating-degree model (no heating above the base temperature)."""

    base_degc: float
    w_per_k: float

    def at(self, t_out_degc: float) -> float:
        return self.w_per_k * max(0.0, self.base_degc - t_out_degc)


BASE_CANDIDATES_DEGC = tuple(0.5 * k for k in range(45))  # 0 to 22 °C


def fit_heat(records: Iterable[SlotRecord]) -> HeatLine | None:
    """The signature through the history's (T_out, heat pump W) points: for each base
    temperature the least-squares k, and the base with the least squared error. None with
    too few points or too narrow a range of temperatures to say."""
    pts = [
        (r.t_out_degc, r.heat_pump_wh * 3600.0 / r.slot_s)
        for r in records
        if r.t_out_degc is not None
    ]
    if len(pts) < MIN_FIT_POINTS:
        return None
    xs = [p[0] for p in pts]
    if max(xs) - min(xs) < MIN_FIT_SPREAD_K:
        return None
    best: tuple[float, HeatLine] | None = None
    for base in BASE_CANDIDATES_DEGC:
        hdd = [max(0.0, base - t) for t, _ in pts]
        sxx = sum(h * h for h in hdd)
        if sxx == 0.0:
            continue
        k = max(0.0, sum(h * y for h, (_, y) in zip(hdd, pts, strict=True)) / sxx)
        sse = sum((y - k * h) ** 2 for h, (_, y) in zip(hdd, pts, strict=True))
        if best is None or sse < best[0]:
            best = (sse, HeatLine(base, k))
    return best[1] if best is not None else None


def forecast_heat(line: HeatLine, t_out: TemperatureSeries) -> PowerSeries:
    return PowerSeries(t_out.t0_s, t_out.slot_s, tuple(line.at(t) for t in t_out.t_out_degc))
