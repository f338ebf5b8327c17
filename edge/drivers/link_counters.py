"""Faults on one device's serial link, counted by class, so an installer can tell a bad
cable (CRC errors, truncated or dripping replies) from a device that is off (timeouts)
or one that refuses (exception replies).

A request that got no good reply is put in exactly one class when its timeout runs out:
nothing came back (a timeout); bytes came and more kept coming in the grace that follows
(a late reply: held past the timeout, or trickled slower than it); bytes came and then
stopped without a valid frame (a CRC error, which counts truncated replies too).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum


@dataclass
class LinkCounters:
    """Counts since start; each fault counts once, per request."""

    crc_errors: int = 0  # bytes came back but no valid frame: CRC error or truncated
    timeouts: int = 0  # nothing came back within the timeout
    exception_replies: int = 0  # a valid refusal: Modbus exception, Pylontech RTN != 0
    late_replies: int = 0  # the reply came, or finished, after the timeout: not used
    reconnects: int = 0  # the link opened again after it was closed on a fault


# (attribute, name shown in Home Assistant), in the order they are published.
LINK_FAULT_CLASSES: tuple[tuple[str, str], ...] = (
    ("crc_errors", "Link CRC errors"),
    ("timeouts", "Link timeouts"),
    ("exception_replies", "Link exception replies"),
    ("late_replies", "Link late replies"),
    ("reconnects", "Link reconnects"),
)


class Missing(Enum):
    """Why a request got no good reply (its class in LinkCounters)."""

    TIMEOUT = "no reply"
    CRC = "a garbled or truncated reply (CRC error)"
    LATE = "a reply after the timeout"


class ReplyWatch:
    """Counts the bytes that come back after each request (fed from the transport)."""

    def __init__(self) -> None:
        self.rx_bytes = 0
        self._more = asyncio.Event()

    def sent(self) -> None:
        self.rx_bytes = 0
        self._more.clear()

    def received(self, n_bytes: int) -> None:
        self.rx_bytes += n_bytes
        self._more.set()

    async def why_missing(self, grace_s: float) -> Missing:
        """Call when a reply's timeout ran out: waits up to grace_s for more bytes."""
        before = self.rx_bytes
        self._more.clear()
        try:
            await asyncio.wait_for(self._more.wait(), grace_s)
        except TimeoutError:
            return Missing.CRC if before else Missing.TIMEOUT
        return Missing.LATE

    @staticmethod
    def count(counters: LinkCounters, why: Missing) -> None:
        if why is Missing.TIMEOUT:
            counters.timeouts += 1
        elif why is Missing.CRC:
            counters.crc_errors += 1
        else:
            counters.late_replies += 1
