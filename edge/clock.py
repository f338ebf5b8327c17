"""Clocks: the one place that reads wall time. Simulated seconds run `speed` times real time
(the live supervisor runs a clock of speed 1; the simulated house a faster one)."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now_s(self) -> float:
        """Seconds on this clock (simulated seconds for a simulated clock)."""
        ...

    async def sleep(self, dt_s: float) -> None:
        """Sleep dt_s seconds of this clock."""
        ...


class ScaledClock:
    """Simulated time that advances `speed` times faster than the monotonic wall clock.

    start_s is the clock's reading at creation (e.g. 12:00 = 43200 s into the day).
    speed 1 is real time (`edge run`); the demo uses larger speeds.
    """

    def __init__(self, start_s: float = 0.0, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._start_s = start_s
        self._wall0 = time.monotonic()

    def now_s(self) -> float:
        return self._start_s + (time.monotonic() - self._wall0) * self.speed

    def advance(self, dt_s: float) -> None:
        """Jump the clock forward by dt_s (a new day, in tests)."""
        self._start_s += dt_s

    async def sleep(self, dt_s: float) -> None:
        await asyncio.sleep(max(0.0, dt_s) / self.speed)

    async def sleep_until(self, t_s: float) -> None:
        await self.sleep(t_s - self.now_s())


def format_time_of_day(t_s: float) -> str:
    t = int(t_s) % 86400
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"
