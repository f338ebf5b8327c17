"""The S2 link's state as Home Assistant and the menu show it. Plain data, no s2python: the
state document reads it whether or not the `s2` extra is installed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LinkState(StrEnum):
    """Where the link to the CEM is, in the order a session goes through them."""

    CONNECTING = "connecting"  # opening the WebSocket
    HANDSHAKE = "handshake"  # connected: versions and details being exchanged
    ACTIVE = "active"  # the CEM selected a control type: it may instruct
    WAITING = "waiting"  # lost or refused: the next attempt after the backoff


@dataclass
class LinkStatus:
    """Kept by edge/s2/link.py, read by the state document each tick."""

    state: LinkState = LinkState.CONNECTING
    control_type: str | None = None  # the S2 control type the CEM selected
    last_error: str | None = None  # why the last session ended, cut short
    sessions: int = 0  # sessions that reached the handshake
    instructions_accepted: int = 0
    instructions_refused: int = 0
    label: str = "battery"  # the resource this session offers (edge/s2/*.py `label`)

    def shown(self) -> str:
        """One word or two for the sensor: 'active FRBC', 'waiting', ..."""
        if self.state is LinkState.ACTIVE and self.control_type:
            return f"active {self.control_type}"
        return self.state.value
