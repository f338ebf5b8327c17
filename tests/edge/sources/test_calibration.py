import math

import pytest

from edge.sources.calibration import (
    Calibration,
    Nowcast,
    calibrated,
    nowcast,
    nowcast_ratio,
    pv_ratio,
)
from edge.sources.history import SlotRecord
from edge.sources.series import PowerSeries

DAY = 86400


def recs(measured_wh: float, forecast_wh: float | None, n: int, start: int = 0) -> list[SlotRecord]:
    return [
        SlotRecord(start + 1800 * k, 1800, 1800.0, 0, measured_wh, forecast_wh, 0, 0, None)
        for k in range(n)
    ]


def test_the_ratio_is_measured_over_forecast():
    r = recs(800.0, 1000.0, 20)
    assert pv_ratio(r, 20 * 1800) == pytest.approx(0.8)


def test_it_is_bounded_and_needs_enough_energy():
    assert pv_ratio(recs(100.0, 1000.0, 20), 36000) == 0.5
    assert pv_ratio(recs(5000.0, 1000.0, 20), 36000) == 1.5
    assert pv_ratio(recs(800.0, 1000.0, 4), 7200) == 1.0  # 4 kWh forecast: too little
    assert pv_ratio(recs(0.0, 10.0, 1000), 1e6) == 1.0  # night slots do not count
    assert pv_ratio(recs(800.0, None, 20), 36000) == 1.0


def test_only_the_last_days_count():
    old = recs(1500.0, 1000.0, 20, start=0)
    new = recs(900.0, 1000.0, 20, start=30 * DAY)
    assert pv_ratio(old + new, 30 * DAY + 36000, Calibration(days=14)) == pytest.approx(0.9)


def test_calibrated_scales_every_slot():
    s = calibrated(PowerSeries(0.0, 1800.0, (100.0, 200.0)), 0.9)
    assert s.power_w == pytest.approx((90.0, 180.0))


def test_the_nowcast_ratio_is_the_last_slot_measured_over_forecast_bounded():
    assert nowcast_ratio(1500.0, 1000.0) == 1.5
    assert nowcast_ratio(5000.0, 1000.0) == 3.0  # bounded: a forecast of a dark sky
    assert nowcast_ratio(0.0, 1000.0) == 0.2
    assert nowcast_ratio(300.0, 40.0) is None  # dawn: too little forecast to say
    assert nowcast_ratio(300.0, None) is None


def test_the_nowcast_pulls_the_next_slots_and_fades():
    # now 10 minutes into the slot from 0: its middle 5 min ahead, the next 35 min, ...
    out = nowcast((1000.0, 1000.0, 1000.0, 0.0), 0.0, 1800.0, 600.0, 2.0, 5000.0)
    pulls = [math.exp(-ahead / 7200.0) for ahead in (300.0, 2100.0, 3900.0)]
    assert out[:3] == pytest.approx([1000.0 * (1.0 + a) for a in pulls])
    assert out[0] > out[1] > out[2] > 1000.0 and out[3] == 0.0  # night stays night
    # a slot already past now takes the whole ratio; none above the array's peak
    assert nowcast((1000.0,), 0.0, 1800.0, 3600.0, 2.0, 5000.0) == (2000.0,)
    assert nowcast((1000.0, 1000.0), 0.0, 1800.0, 0.0, 3.0, 2500.0)[0] == 2500.0
    # ... nor below the forecast's own
    assert nowcast((3000.0,), 0.0, 1800.0, 0.0, 3.0, 2500.0) == (3000.0,)
    # no ratio, or the fade off: the forecast as it was
    assert nowcast((1000.0, 500.0), 0.0, 1800.0, 0.0, None, 5000.0) == (1000.0, 500.0)
    assert nowcast((1000.0,), 0.0, 1800.0, 0.0, 2.0, 5000.0, Nowcast(blend_s=0.0)) == (1000.0,)
