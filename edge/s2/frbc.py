"""What every S2 resource of edge shares: the plan an instruction becomes or the reason it
is refused, and the device interface edge/s2/resource.py drives (FRBC: edge/s2/battery.py,
edge/s2/tank.py; OMBC: edge/s2/heat_pump.py; PEBC: edge/s2/export.py meet it). Pure: no
I/O.

Reception statuses for an instruction that is valid S2 but cannot be honoured:
TEMPORARY_ERROR where a limit of the moment stands in the way (it may pass: the SOC, a BMS
limit, the user's stop or mode), INVALID_CONTENT where the instruction names what does not
exist (an unknown mode or actuator, a factor outside 0..1).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from s2python.common import CommodityQuantity, ReceptionStatusValues, Role
from s2python.message import S2MessageWithID

from edge.core.model import CoreConfig, CoreState, ProcessImage, Requests

QUANTITY = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC  # one AC figure for the house
NO_MESSAGE_ID = uuid.UUID(int=0)
TEMPORARY = ReceptionStatusValues.TEMPORARY_ERROR  # may be honoured later: limits move
INVALID = ReceptionStatusValues.INVALID_CONTENT  # never: names what does not exist

N = TypeVar("N")
I = TypeVar("I", contravariant=True)  # noqa: E741  the control type's instruction


@dataclass(frozen=True)
class Plan:
    """An instruction that can be honoured: the commands (edge/mqtt/commands.py keys and
    values, in order) that carry it out."""

    mode: str  # the operation mode's name
    factor: float
    s2_power_w: float  # what the CEM asked for, + = consumed
    commands: tuple[tuple[str, str | float | bool], ...]
    # The Requests field whose expiry marks the request this RM set and may undo (idle:
    # mode_until_s; a boost: boost_hot_water_until_s); None when it sets nothing lasting.
    holds: str | None = None


@dataclass(frozen=True)
class Refusal:
    status: ReceptionStatusValues
    reason: str


class FrbcDevice(Protocol[N, I]):
    """One flexible device as an S2 resource (FRBC, OMBC or PEBC, despite the name); N:
    its snapshot of the moment, I: its control type's instruction."""

    @property
    def control_type(self) -> str:
        """ "FRBC", "OMBC", "PEBC": which of S2's control types it offers."""
        ...

    @property
    def label(self) -> str:
        """ "battery", "tank": in logs and the resource's name."""
        ...

    @property
    def resource_id(self) -> uuid.UUID: ...

    @property
    def role(self) -> Role: ...

    def snapshot(self, image: ProcessImage, cfg: CoreConfig, state: CoreState) -> N | None: ...

    def changed(self, old: N, new: N) -> bool:
        """Whether the description the CEM has is out of date."""
        ...

    def describe(self, now: N, at: datetime) -> list[S2MessageWithID]: ...

    def report(self, now: N, at: datetime) -> list[S2MessageWithID]: ...

    def actuator_status(self, mode: str, factor: float) -> S2MessageWithID | None:
        """The status after an instruction (FRBC, OMBC); None where S2 has none (PEBC)."""
        ...

    def active_mode(self, req: Requests, t_s: float) -> str: ...

    def plan(
        self,
        msg: I,
        described: N | None,
        now: N | None,
        req: Requests,
        t_s: float,
        ours_until_s: float | None,
    ) -> Plan | Refusal: ...


M = TypeVar("M", bound=StrEnum)


@dataclass(frozen=True)
class ResourceIds(Generic[M]):
    """Stable ids, from the resource's id, so a reconnecting CEM sees the same actuator and
    operation modes (uuid5 of the resource's id and a name)."""

    resource: uuid.UUID
    modes: type[M]

    def of(self, what: str) -> uuid.UUID:
        return uuid.uuid5(self.resource, what)

    @property
    def actuator(self) -> uuid.UUID:
        return self.of("actuator")

    def mode(self, mode: M) -> uuid.UUID:
        return self.of(f"mode/{mode.value}")

    def mode_of(self, mode_id: uuid.UUID) -> M | None:
        return next((m for m in self.modes if self.mode(m) == mode_id), None)
