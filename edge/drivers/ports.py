"""The small typed interfaces through which the app meets the drivers."""

from __future__ import annotations

from typing import Protocol

from edge.core.model import DabReading, InverterCommand, InverterReading, Sample


class InverterPort(Protocol):
    def sample(self, now_s: float) -> Sample[InverterReading] | None:
        """The latest good reading and its age at now_s, or None before the first one."""
        ...

    async def apply(self, command: InverterCommand) -> None:
        """Command the inverter; the driver decides whether a write is needed."""
        ...


class DabPort(Protocol):
    def sample(self, now_s: float) -> Sample[DabReading] | None: ...

    async def apply(self, charge_current_a: float) -> None: ...
