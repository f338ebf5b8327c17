"""The small typed interfaces through which the supervisor, the local API and MQTT meet
the devices. The composition root (edge/compose.py) builds the concrete drivers; nothing
above it names one.

Signs as in edge.core.model: grid + = import, battery + = discharge, DAB current + = into
the string (charging).
"""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Protocol

from edge.config import DabConfig, InverterConfig
from edge.core.model import (
    DabReading,
    InverterCommand,
    InverterReading,
    LoadsReading,
    Sample,
    SgState,
)
from edge.drivers.dab.registers import DabTelemetry
from edge.drivers.link_counters import LinkCounters
from edge.drivers.pylontech.replies import BmsLimits
from edge.drivers.sofar.registers import SofarLive


class Budget(Protocol):
    """A device's daily write budget (edge/drivers/budget.py)."""

    per_day: int

    def used(self, now_s: float) -> int: ...


class Device(Protocol):
    """What every polled device offers."""

    @property
    def status(self) -> str:
        """The link's state in words ("ok", "silent: ...")."""
        ...

    @property
    def counters(self) -> LinkCounters:
        """The link's faults by class since start (edge/drivers/link_counters.py)."""
        ...

    async def run(self) -> None:
        """Poll until cancelled; a failed read only ages the last sample."""
        ...


class WriteCount(Protocol):
    @property
    def total(self) -> int: ...


class InverterPort(Device, Protocol):
    cfg: InverterConfig  # replaced on a live config reload
    serial: str | None  # known after the first full read
    fresh: asyncio.Event  # set on every new reading

    @property
    def budget(self) -> Budget: ...

    @property
    def writes(self) -> WriteCount: ...

    @property
    def last_live(self) -> SofarLive | None:
        """The last full decoded block (energy counters, faults), for publishing."""
        ...

    def sample(self, now_s: float) -> Sample[InverterReading] | None:
        """The latest good reading and its age at now_s, or None before the first one."""
        ...

    async def apply(self, command: InverterCommand) -> None:
        """Command the inverter; the driver decides whether a write is needed."""
        ...

    async def close(self, restore_self_use: bool = True) -> None: ...


class DabPort(Device, Protocol):
    cfg: DabConfig

    @property
    def budget(self) -> Budget: ...

    @property
    def writes(self) -> int: ...

    @property
    def board_id(self) -> int | None: ...

    @property
    def live(self) -> bool: ...

    @property
    def startup(self) -> Enum:
        """The start-up step (its value says it in words)."""
        ...

    @property
    def telemetry(self) -> DabTelemetry | None: ...

    def sample(self, now_s: float) -> Sample[DabReading] | None: ...

    async def apply(self, charge_current_a: float) -> None: ...

    async def clear_trip(self) -> None: ...

    async def close(self) -> None: ...


class BmsPort(Device, Protocol):
    @property
    def serial(self) -> str | None: ...

    def sample(self, now_s: float) -> Sample[BmsLimits] | None:
        """The pack's live limits (DC side, A) and cell data, with their age."""
        ...

    def close(self) -> None: ...


class LoadsWrites(Protocol):
    @property
    def diverter(self) -> int: ...


class LoadsPort(Protocol):
    """The diverter's element, the heat pump's SG-Ready contacts and the tank probe."""

    deadband_w: float  # replaced on a live config reload

    @property
    def budget(self) -> Budget: ...

    @property
    def writes(self) -> LoadsWrites: ...

    @property
    def testing(self) -> str | None:
        """The output under a commissioning test, or None."""
        ...

    def sample(self, now_s: float) -> Sample[LoadsReading]: ...

    def apply(self, diverter_w: float, sg: SgState) -> None: ...

    def start_test(self, what: str, element_w: float) -> None: ...

    def end_test(self) -> None: ...

    def close(self) -> None: ...
