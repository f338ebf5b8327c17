"""The load, hot-water and heat forecasts from the history (pure)."""

import math

import pytest

from edge.sources.history import SlotRecord
from edge.sources.load_forecast import (
    LoadModel,
    fit_heat,
    forecast_heat,
    forecast_hot_water_wh,
    forecast_load,
    profile,
)
from edge.sources.series import TemperatureSeries
from tests.edge.sources.conftest import T0_S

DAY = 86400


def days_of(load_w_by_day: dict[int, float], slots: int = 48, start=T0_S) -> list[SlotRecord]:
    """One record per slot for each day back d (1 = yesterday) at a constant power."""
    out = []
    for d, w in load_w_by_day.items():
        for k in range(slots):
            t = int(start) - d * DAY + 1800 * k
            out.append(SlotRecord(t, 1800, 1800.0, w / 2, 0.0, None, w / 4, 0.0, None))
    return out


def test_same_time_yesterday_and_the_same_weekday_weigh_as_stated():
    m = LoadModel(days=7, decay=0.5, weekday_weight=2.0)
    by = {int(T0_S) - DAY: 100.0, int(T0_S) - 7 * DAY: 400.0}
    (p,) = profile(by, T0_S, 1800, 1, m)
    w1, w7 = 1.0, 0.5**6 * 3.0
    assert p == pytest.approx((w1 * 100 + w7 * 400) / (w1 + w7))


def test_without_a_live_reading_the_profile_is_the_forecast():
    recs = days_of({1: 300.0, 2: 300.0})
    s = forecast_load(recs, T0_S, 1800, 4, None)
    assert s.t0_s == T0_S and s.power_w == pytest.approx([300.0] * 4)


def test_the_live_reading_pulls_the_next_slots_and_fades():
    recs = days_of({1: 300.0})
    m = LoadModel(blend_s=3600)
    s = forecast_load(recs, T0_S + 600, 1800, 6, 2300.0, m)
    a = [math.exp(-max(0.0, (k + 0.5) * 1800 - 600) / 3600) for k in range(6)]
    assert s.power_w == pytest.approx([x * 2300 + (1 - x) * 300 for x in a])
    assert s.power_w[0] > s.power_w[3] > 300.0


def test_no_history_at_all_is_the_live_reading_or_zero():
    assert forecast_load([], T0_S, 1800, 3, None).power_w == (0.0, 0.0, 0.0)
    assert forecast_load([], T0_S, 1800, 2, 450.0).power_w == pytest.approx([450.0, 450.0])


def test_hot_water_follows_the_elements_history():
    recs = days_of({1: 400.0, 2: 400.0})
    assert forecast_hot_water_wh(recs, T0_S, 1800, 2) == pytest.approx([100.0, 100.0])
    assert forecast_hot_water_wh([], T0_S, 1800, 2) == (0.0, 0.0)


def test_heat_demand_falls_with_the_outside_temperature():
    # 2000 W at -5 °C down to 0 at 15 °C: 500 - 100 T, with noise that averages out
    recs = []
    for k in range(96):
        t_out = -5 + 20 * (k % 48) / 47
        w = max(0.0, 500 - 100 * t_out) + (25 if k % 2 else -25)
        recs.append(SlotRecord(1800 * k, 1800, 1800.0, 0, 0, None, 0, w / 2, t_out))
    line = fit_heat(recs)
    assert line is not None
    assert line.base_degc == pytest.approx(5.0, abs=0.6)
    assert line.w_per_k == pytest.approx(100.0, rel=0.1)
    s = forecast_heat(line, TemperatureSeries(0.0, 1800.0, (-3.0, 20.0)))
    assert s.power_w[0] > 500 and s.power_w[1] == 0.0


def test_too_little_or_too_narrow_history_gives_no_heat_line():
    few = [SlotRecord(1800 * k, 1800, 1800.0, 0, 0, None, 0, 100, 5.0 + k) for k in range(10)]
    assert fit_heat(few) is None
    narrow = [SlotRecord(1800 * k, 1800, 1800.0, 0, 0, None, 0, 100, 5.0) for k in range(100)]
    assert fit_heat(narrow) is None
