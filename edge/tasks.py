"""Small asyncio helpers the supervisor and the composition root share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("edge")


async def cancel_and_wait(tasks: list[asyncio.Task[Any]], tries: int = 20) -> None:
    """Cancel tasks and wait until they have ended. A cancel can be lost: before Python
    3.12, asyncio.wait_for swallows one that arrives as its awaitable completes (pymodbus
    and the BMS driver wait that way), and the task polls on; so cancel again until done."""
    for _ in range(tries):
        pending = [t for t in tasks if not t.done()]
        if not pending:
            return
        for t in pending:
            t.cancel()
        await asyncio.wait(pending, timeout=0.5)
    names = [t.get_name() for t in tasks if not t.done()]
    if names:
        log.error("tasks still running after %d cancels: %s", tries, ", ".join(names))


async def keep_polling(name: str, poll: Callable[[], Awaitable[None]]) -> None:
    """Run one device's poll task; a bug that escapes it is logged and the task restarted
    after a second, so one device's failure never stops the others (its data only ages,
    and the core's staleness check answers for it)."""
    while True:
        try:
            await poll()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s poll task failed; restarting it in 1 s", name)
            await asyncio.sleep(1.0)


async def first_of(events: tuple[asyncio.Event, ...], timeout_s: float) -> None:
    """Return when any of `events` is set or after timeout_s (wall seconds)."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
