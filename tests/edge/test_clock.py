"""The clock: simulated seconds run `speed` times the monotonic wall clock; the time of
day as the log shows it."""

from __future__ import annotations

import asyncio
import time

import pytest

from edge.clock import ScaledClock, format_time_of_day


def test_the_clock_starts_at_its_start_and_runs_speed_times_real_time():
    clock = ScaledClock(start_s=43200.0, speed=20.0)
    t0, wall0 = clock.now_s(), time.monotonic()
    assert 43200.0 <= t0 < 43200.0 + 20 * 0.05
    time.sleep(0.1)
    elapsed_wall = time.monotonic() - wall0
    assert clock.now_s() - t0 == pytest.approx(20.0 * elapsed_wall, abs=20 * 0.01)


def test_a_speed_that_is_not_positive_is_refused_with_the_value():
    for speed in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"speed must be > 0, got {speed}"):
            ScaledClock(speed=speed)


def test_advance_jumps_the_clock_a_whole_day():
    clock = ScaledClock(start_s=100.0, speed=1.0)
    before = clock.now_s()
    clock.advance(86400.0)
    assert clock.now_s() - before == pytest.approx(86400.0, abs=0.05)


def test_sleep_is_in_the_clocks_seconds():
    async def go():
        clock = ScaledClock(start_s=0.0, speed=50.0)
        loop = asyncio.get_running_loop()
        wall0 = loop.time()
        await clock.sleep(10.0)  # 10 simulated seconds: 0.2 s of wall time at 50x
        wall = loop.time() - wall0
        assert 0.19 <= wall < 0.6
        assert clock.now_s() >= 10.0

    asyncio.run(go())


def test_sleep_until_a_time_on_the_clock_and_never_backwards():
    async def go():
        clock = ScaledClock(start_s=1000.0, speed=100.0)
        loop = asyncio.get_running_loop()
        await clock.sleep_until(1020.0)  # 20 s ahead: 0.2 s of wall time
        assert clock.now_s() >= 1020.0
        wall0 = loop.time()
        await clock.sleep_until(500.0)  # in the past: at once
        await clock.sleep(-5.0)
        assert loop.time() - wall0 < 0.05

    asyncio.run(go())


@pytest.mark.parametrize(
    ("t_s", "shown"),
    [
        (0.0, "00:00:00"),
        (43200.0, "12:00:00"),
        (13 * 3600 + 61.0, "13:01:01"),
        (86399.9, "23:59:59"),  # whole seconds, cut not rounded
        (3 * 86400 + 7 * 3600 + 5.0, "07:00:05"),  # the time of day, whatever the day
    ],
)
def test_time_of_day(t_s, shown):
    assert format_time_of_day(t_s) == shown
