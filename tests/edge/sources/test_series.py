import math

import pytest

from edge.sources.series import (
    PowerSeries,
    SourceError,
    number,
    parse_time,
    points_to_periods,
    slot_means,
    window,
)


def test_hourly_means_fill_both_half_hours_and_the_grid_is_the_epochs():
    t0, values = slot_means([(3600.0, 7200.0, 100.0), (7200.0, 10800.0, 300.0)], 1800.0, "x")
    assert t0 == 3600.0 and values == (100.0, 100.0, 300.0, 300.0)


def test_quarter_hours_average_into_half_hours_time_weighted():
    periods = [(0.0, 900.0, 10.0), (900.0, 1800.0, 30.0), (1800.0, 2700.0, 50.0)]
    t0, values = slot_means(periods, 1800.0, "x")
    # the last half hour is only half covered: the series ends before it
    assert (t0, values) == (0.0, (20.0,))


def test_a_gap_ends_the_series_and_a_late_start_starts_at_the_next_whole_slot():
    periods = [(100.0, 3600.0, 1.0), (3600.0, 5400.0, 2.0), (9000.0, 10800.0, 3.0)]
    t0, values = slot_means(periods, 1800.0, "x")
    assert (t0, values) == (1800.0, (1.0, 2.0))


def test_start_s_skips_the_past():
    _t0, values = slot_means([(0.0, 1800.0, 5.0)], 1800.0, "x")
    assert values == (5.0,)
    periods = [(1800.0 * k, 1800.0 * (k + 1), float(k)) for k in range(4)]
    assert slot_means(periods, 1800.0, "x", start_s=4000.0) == (3600.0, (2.0, 3.0))


def test_overlapping_periods_and_none_are_refused_naming_the_source():
    with pytest.raises(SourceError, match=r"^octopus: overlapping periods at 1970-01-01T00:15Z"):
        slot_means([(0.0, 1800.0, 1.0), (900.0, 2700.0, 2.0)], 1800.0, "octopus")
    with pytest.raises(SourceError, match="no periods"):
        slot_means([], 1800.0, "x")
    with pytest.raises(SourceError, match="no whole"):
        slot_means([(0.0, 900.0, 1.0)], 1800.0, "x")


def test_points_integrate_as_trapezoids():
    # 0 W at 06:00, 1000 W at 06:30, 0 W at 07:00: 500 Wh in the hour
    pts = [(21600.0, 0.0), (23400.0, 1000.0), (25200.0, 0.0)]
    t0, values = slot_means(points_to_periods(pts), 1800.0, "x")
    s = PowerSeries(t0, 1800.0, values)
    assert values == (500.0, 500.0)
    assert s.energy_wh(0, 1e9) == pytest.approx(500.0)


def test_times_need_an_offset():
    assert parse_time("2025-01-06T12:00:00Z", "x") == 1736164800.0
    assert parse_time("2025-01-06T13:00:00+01:00", "x") == 1736164800.0
    with pytest.raises(SourceError, match="no UTC offset"):
        parse_time("2025-01-06T12:00:00", "x")
    with pytest.raises(SourceError, match="not an ISO 8601 time"):
        parse_time("yesterday", "x")
    with pytest.raises(SourceError, match="expected an ISO 8601 time"):
        parse_time("9" * 5000, "x")


def test_numbers_are_checked_and_messages_bounded():
    assert number(3, "x", "v", 0, 10) == 3.0
    for bad in (True, "3", None, math.nan, 11):
        with pytest.raises(SourceError, match=r"^x: v = "):
            number(bad, "x", "v", 0, 10)
    with pytest.raises(SourceError) as err:
        number("y" * 10_000, "z" * 500, "v", 0, 1)
    assert len(str(err.value)) < 260


def test_window_takes_the_series_where_it_has_one():
    assert window(1800.0, 1800.0, (1.0, 2.0), 0.0, 4, -1.0) == (-1.0, 1.0, 2.0, -1.0)
