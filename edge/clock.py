"""Clocks: the one place that reads wall time. Simulated seconds run `speed` times real time
(the live supervisor runs a clock of speed 1; the simulated house a faster one).

A clock's reading (`now_s`) runs on the monotonic clock from its start, so every age and
every expiry measured while running is immune to steps of the wall clock. A Raspberry Pi
has no real-time clock: it boots on a saved time until NTP syncs, and its wall clock can
then step by hours. The wall clock is read only through `wall_s` (what the stored requests
measure a restart's downtime with), `wall_step_s` (each step found once, by comparing the
wall's progress with the monotonic clock's) and `synchronised` (the kernel's NTP status).
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import time
from collections.abc import Callable
from typing import Any, Protocol

# A step smaller than this is not reported: NTP slews small errors (at most 0.5 ms per s)
# and the two clocks are read a few microseconds apart, so 1 s is far above both.
WALL_STEP_MIN_S = 1.0
TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised (STA_UNSYNC set)
TIMEX_BYTES = 512  # more than struct timex takes on any Linux ABI (208 bytes on 64-bit)


class Clock(Protocol):
    def now_s(self) -> float:
        """Seconds on this clock (simulated seconds for a simulated clock)."""
        ...

    async def sleep(self, dt_s: float) -> None:
        """Sleep dt_s seconds of this clock."""
        ...


class WallClock(Protocol):
    """A clock that can also read the wall clock: what the stored requests need."""

    def now_s(self) -> float: ...

    def wall_s(self) -> float: ...

    def synchronised(self) -> bool | None: ...


@functools.cache
def _adjtimex() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).adjtimex
    except (OSError, AttributeError):
        return None


def kernel_synchronised() -> bool | None:
    """Whether the kernel's wall clock is synchronised (by timesyncd, chrony or ntpd):
    adjtimex(2) read-only, which answers TIME_ERROR while STA_UNSYNC is set. None where
    there is no adjtimex (not Linux), so the caller can say the status is unknown."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return None
    timex = ctypes.create_string_buffer(TIMEX_BYTES)  # modes = 0: read only
    state = adjtimex(timex)
    if state < 0:
        return None
    return bool(state != TIME_ERROR)


class ScaledClock:
    """Simulated time that advances `speed` times faster than the monotonic clock.

    start_s is the clock's reading at creation (e.g. 12:00 = 43200 s into the day).
    speed 1 is real time (`edge run`); the demo uses larger speeds. wall, monotonic and
    synchronised are the sources (seconds since the epoch, seconds, the NTP status); tests
    pass their own to step the wall clock.
    """

    def __init__(
        self,
        start_s: float = 0.0,
        speed: float = 1.0,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        synchronised: Callable[[], bool | None] = kernel_synchronised,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._start_s = start_s
        self._wall, self._monotonic, self._synchronised = wall, monotonic, synchronised
        self._mono0_s = monotonic()
        self._last = (wall(), self._mono0_s)  # the wall and monotonic readings last compared

    def now_s(self) -> float:
        return self._start_s + (self._monotonic() - self._mono0_s) * self.speed

    def wall_s(self) -> float:
        """The wall clock: seconds since the epoch (UTC). It may step; nothing that runs
        measures time with it."""
        return self._wall()

    def synchronised(self) -> bool | None:
        """Whether the wall clock is synchronised; None if that cannot be known here."""
        return self._synchronised()

    def wall_step_s(self) -> float | None:
        """How far the wall clock stepped (+ = forward) since the last call (or the start),
        or None if it kept pace with the monotonic clock. Each step is reported once."""
        wall_s, mono_s = self._wall(), self._monotonic()
        step_s = (wall_s - self._last[0]) - (mono_s - self._last[1])
        self._last = (wall_s, mono_s)
        return step_s if abs(step_s) >= WALL_STEP_MIN_S else None

    def advance(self, dt_s: float) -> None:
        """Jump the clock forward by dt_s (a new day, in tests)."""
        self._start_s += dt_s

    async def sleep(self, dt_s: float) -> None:
        await asyncio.sleep(max(0.0, dt_s) / self.speed)

    async def sleep_until(self, t_s: float) -> None:
        await self.sleep(t_s - self.now_s())


def local_clock(
    wall: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    synchronised: Callable[[], bool | None] = kernel_synchronised,
) -> ScaledClock:
    """`edge run`'s clock: local time as seconds since the epoch at the start (the time of
    day for the log, whole days for the daily write budgets), then monotonic."""
    now = wall()
    return ScaledClock(
        start_s=now + time.localtime(now).tm_gmtoff,
        wall=wall,
        monotonic=monotonic,
        synchronised=synchronised,
    )


def format_time_of_day(t_s: float) -> str:
    t = int(t_s) % 86400
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"
