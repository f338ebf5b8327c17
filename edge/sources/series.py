"""Slot series, the one shape every source produces, and the pure functions that build
them from what the APIs answer: periods with a value (a price, a mean power) put onto an
even grid of slots.

A series has the field names of edge.planner's SlotSeries and Forecast (t0_s, slot_s and
a tuple named with its unit), so the planner takes it as it is: value k holds for
[t0_s + k slot_s, t0_s + (k + 1) slot_s).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edge.errors import EdgeError, clip, shown

SLOT_S = 1800.0  # the settlement period of GB half-hourly tariffs; the planner's slot
MAX_SLOTS = 4 * 24 * 14  # two weeks of 15-minute slots: a longer answer is cut here
MAX_MESSAGE_CHARS = 200  # a source's problem, in one line of at most this


class SourceError(EdgeError):
    """A source's answer could not be used; the message names the source and what was
    wrong, in one line of at most MAX_MESSAGE_CHARS."""

    def __init__(self, source: str, what: str) -> None:
        super().__init__(clip(f"{source}: {what}", MAX_MESSAGE_CHARS))
        self.source = source


@dataclass(frozen=True)
class PriceSeries:
    """Prices per slot, £/kWh, VAT included (edge.planner.tariffs.SlotSeries)."""

    t0_s: float
    slot_s: float
    prices_gbp_per_kwh: tuple[float, ...]

    @property
    def end_s(self) -> float:
        return self.t0_s + self.slot_s * len(self.prices_gbp_per_kwh)


@dataclass(frozen=True)
class PowerSeries:
    """Mean power per slot, W (a PV or load forecast: Forecast.pv_w, Forecast.load_w)."""

    t0_s: float
    slot_s: float
    power_w: tuple[float, ...]

    @property
    def end_s(self) -> float:
        return self.t0_s + self.slot_s * len(self.power_w)

    def energy_wh(self, start_s: float, end_s: float) -> float:
        """The energy in [start_s, end_s) as the series gives it (0 outside it)."""
        return sum(
            p * _overlap(self.t0_s + k * self.slot_s, self.slot_s, start_s, end_s) / 3600.0
            for k, p in enumerate(self.power_w)
        )


@dataclass(frozen=True)
class TemperatureSeries:
    """Mean outside temperature per slot, °C (Forecast.t_out_degc)."""

    t0_s: float
    slot_s: float
    t_out_degc: tuple[float, ...]


def _overlap(a0: float, length: float, b0: float, b1: float) -> float:
    return max(0.0, min(a0 + length, b1) - max(a0, b0))


Period = tuple[float, float, float]  # (start_s, end_s, value)


def slot_means(
    periods: Iterable[Period], slot_s: float, source: str, *, start_s: float | None = None
) -> tuple[float, tuple[float, ...]]:
    """Periods with a value put onto slots of slot_s aligned to the Unix epoch: each slot
    the time-weighted mean of the periods that cover it. The series starts at the first
    whole slot the periods cover (or at start_s's slot, if later) and ends before the
    first slot they do not cover wholly (a gap ends it). Overlapping periods, or none,
    raise SourceError; values are assumed finite (the parsers check them)."""
    ps = sorted(periods)
    if not ps:
        raise SourceError(source, "no periods in the answer")
    for (_a0, a1, _), (b0, _, _) in itertools.pairwise(ps):
        if b0 < a1 - 1e-6:
            raise SourceError(source, f"overlapping periods at {iso_utc(b0)}")
    first = math.ceil(ps[0][0] / slot_s) * slot_s
    if start_s is not None:
        first = max(first, math.floor(start_s / slot_s) * slot_s)
    out: list[float] = []
    i = 0
    t = first
    while len(out) < MAX_SLOTS:
        while i < len(ps) and ps[i][1] <= t:
            i += 1
        covered = weighted = 0.0
        j = i
        while j < len(ps) and ps[j][0] < t + slot_s:
            ov = _overlap(ps[j][0], ps[j][1] - ps[j][0], t, t + slot_s)
            covered += ov
            weighted += ov * ps[j][2]
            j += 1
        if covered < slot_s * (1 - 1e-9):
            break
        out.append(weighted / covered)
        t += slot_s
    if not out:
        raise SourceError(source, f"no whole {slot_s:g} s slot covered from {iso_utc(first)}")
    return first, tuple(out)


def points_to_periods(points: Sequence[tuple[float, float]], step_s: float = 300.0) -> list[Period]:
    """Samples of a power curve (t_s, W), joined by straight lines, as periods of at most
    step_s each with the line's mean over it: a curve sampled at uneven times (sunrise,
    sunset) then gives each slot its own share, not its interval's average."""
    out: list[Period] = []
    for (t0, w0), (t1, w1) in itertools.pairwise(sorted(points)):
        n = max(1, math.ceil((t1 - t0) / step_s))
        for k in range(n):
            a, b = t0 + (t1 - t0) * k / n, t0 + (t1 - t0) * (k + 1) / n
            out.append((a, b, w0 + (w1 - w0) * ((a + b) / 2 - t0) / (t1 - t0)))
    return out


def parse_time(text: object, source: str, what: str = "time") -> float:
    """An ISO 8601 time with its offset (or Z) as Unix seconds; one without an offset is
    refused: a forecast on the wrong clock would shift every slot."""
    if not isinstance(text, str) or len(text) > 40:
        raise SourceError(source, f"{what} {shown(text)}: expected an ISO 8601 time")
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SourceError(source, f"{what} {shown(text)}: not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise SourceError(source, f"{what} {shown(text)}: no UTC offset")
    return t.timestamp()


def number(value: object, source: str, what: str, lo: float, hi: float) -> float:
    """A JSON number within [lo, hi]; anything else (a string, null, nan, out of range) is
    a SourceError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceError(source, f"{what} = {shown(value)}: expected a number")
    v = float(value)
    if not math.isfinite(v) or not lo <= v <= hi:
        raise SourceError(source, f"{what} = {shown(value)}: outside {lo:g} to {hi:g}")
    return v


def iso_utc(t_s: float) -> str:
    """A Unix time as messages quote it: 2025-01-06T12:00Z."""
    return dt.datetime.fromtimestamp(t_s, dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def window(
    t0_s: float, slot_s: float, values: Sequence[float], start_s: float, n: int, default: float
) -> tuple[float, ...]:
    """n values for the slots from start_s (on the same grid): the series' value where it
    has one, `default` before and after it (what a planner's slots take from a series)."""
    out: list[float] = []
    for k in range(n):
        i = math.floor((start_s + (k + 0.5) * slot_s - t0_s) / slot_s)
        out.append(values[i] if 0 <= i < len(values) else default)
    return tuple(out)
