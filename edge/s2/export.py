"""The site's export limit as an S2 PEBC resource (power-envelope based control), pure. An
FrbcDevice (edge/s2/frbc.py).

The resource is the grid connection: S2's sign counts power + = consumed, so export is
negative and the export limit is the envelope's LOWER_LIMIT. The CEM may tighten it from
the site's own limit (requests.export_limit_w, or none: NO_EXPORT_LIMIT_W) up to 0 W (no
export); an instruction becomes the timed export_cap_w request (edge/mqtt/commands.py) for
instruction_valid_s, which the core applies as min(the site's limit, the cap)
(edge/core/policies.py export_limit_in_force): never looser than the site's own.

What the core can do about it: what would go out past the limit goes into the battery,
within its window; PV cannot be curtailed through these inverters, so export the battery
cannot take stays over the envelope (the state document's export_over_limit_w).
Edge cannot limit import: the UPPER_LIMIT's only allowed value is NO_EXPORT_LIMIT_W.
An envelope with several elements is honoured by its tightest element, for the validity.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from s2python.common import (
    Commodity,
    NumberRange,
    PowerMeasurement,
    PowerValue,
    Role,
    RoleType,
)
from s2python.message import S2MessageWithID
from s2python.pebc import (
    PEBCAllowedLimitRange,
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelopeConsequenceType,
    PEBCPowerEnvelopeLimitType,
)

from edge.core.model import CoreConfig, CoreState, ProcessImage, Requests
from edge.core.policies import export_limit_in_force
from edge.mqtt.commands import NO_EXPORT_LIMIT_W
from edge.s2.frbc import INVALID, QUANTITY, TEMPORARY, Plan, Refusal, ResourceIds


class EnvelopeMode(StrEnum):
    ENVELOPE = "envelope"  # one pseudo-mode: PEBC has no modes, the Plan names one


@dataclass(frozen=True)
class ExportIds(ResourceIds[EnvelopeMode]):
    modes: type[EnvelopeMode] = EnvelopeMode

    @property
    def constraints(self) -> uuid.UUID:
        return self.of("power constraints")


@dataclass(frozen=True)
class ExportNow:
    site_limit_w: float  # the user's export limit (NO_EXPORT_LIMIT_W: none)
    in_force_w: float | None  # what the core holds now (with a cap), None: no limit
    grid_w: float  # + = import, as S2 counts it (+ = consumed)


@dataclass(frozen=True)
class ExportLimit:
    ids: ExportIds
    label = "export limit"
    control_type = "PEBC"
    role = Role(role=RoleType.ENERGY_CONSUMER, commodity=Commodity.ELECTRICITY)

    @property
    def resource_id(self) -> uuid.UUID:
        return self.ids.resource

    def snapshot(self, image: ProcessImage, cfg: CoreConfig, state: CoreState) -> ExportNow | None:
        """None without fresh inverter data (no grid measurement; the safe state)."""
        inv = image.inverter
        if inv is None or inv.age_s > cfg.inverter_stale_after_s:
            return None
        req = image.requests
        site = NO_EXPORT_LIMIT_W if req.export_limit_w is None else req.export_limit_w
        in_force = export_limit_in_force(req, image.t_s)
        return ExportNow(site, in_force, inv.value.grid_power_w)

    def changed(self, old: ExportNow, new: ExportNow) -> bool:
        return old.site_limit_w != new.site_limit_w

    def describe(self, now: ExportNow, at: datetime) -> list[S2MessageWithID]:
        lower = NumberRange(start_of_range=-now.site_limit_w, end_of_range=0.0)
        upper = NumberRange(start_of_range=NO_EXPORT_LIMIT_W, end_of_range=NO_EXPORT_LIMIT_W)
        ranges = [
            PEBCAllowedLimitRange(
                commodity_quantity=QUANTITY,
                limit_type=PEBCPowerEnvelopeLimitType.LOWER_LIMIT,
                range_boundary=lower,
                abnormal_condition_only=False,
            ),
            PEBCAllowedLimitRange(
                commodity_quantity=QUANTITY,
                limit_type=PEBCPowerEnvelopeLimitType.UPPER_LIMIT,
                range_boundary=upper,
                abnormal_condition_only=False,
            ),
        ]
        return [
            PEBCPowerConstraints(
                message_id=uuid.uuid4(),
                id=self.ids.constraints,
                valid_from=at,
                consequence_type=PEBCPowerEnvelopeConsequenceType.VANISH,
                allowed_limit_ranges=ranges,
            )
        ]

    def report(self, now: ExportNow, at: datetime) -> list[S2MessageWithID]:
        grid = PowerValue(commodity_quantity=QUANTITY, value=now.grid_w)
        return [PowerMeasurement(message_id=uuid.uuid4(), measurement_timestamp=at, values=[grid])]

    def actuator_status(self, mode: str, factor: float) -> None:
        return None  # PEBC has no status message of the envelope in force

    def active_mode(self, req: Requests, t_s: float) -> str:
        return EnvelopeMode.ENVELOPE

    def plan(
        self,
        msg: PEBCInstruction,
        described: ExportNow | None,
        now: ExportNow | None,
        req: Requests,
        t_s: float,
        ours_until_s: float | None,
    ) -> Plan | Refusal:
        if msg.power_constraints_id != self.ids.constraints:
            return Refusal(INVALID, f"unknown power constraints {msg.power_constraints_id}")
        envelopes = msg.power_envelopes or []
        if len(envelopes) != 1 or envelopes[0].commodity_quantity != QUANTITY:
            return Refusal(INVALID, f"one power envelope of {QUANTITY.value} expected")
        elements = envelopes[0].power_envelope_elements
        if not elements:
            return Refusal(INVALID, "a power envelope without elements")
        lower_w = max(e.lower_limit for e in elements)  # the tightest on export
        if lower_w > 0.0:
            return Refusal(INVALID, f"lower limit {lower_w:g} W: edge cannot force import")
        if any(e.upper_limit < NO_EXPORT_LIMIT_W for e in elements):
            return Refusal(
                INVALID,
                f"upper limit under {NO_EXPORT_LIMIT_W:g} W: edge cannot limit import",
            )
        if now is None:
            return Refusal(TEMPORARY, "no fresh inverter data: the system is in its safe state")
        if req.emergency_stop:
            return Refusal(TEMPORARY, "emergency stop latched: everything idle until cleared")
        cap_w = float(round(-lower_w))
        commands = (("export_cap_w", min(cap_w, NO_EXPORT_LIMIT_W)),)
        return Plan(EnvelopeMode.ENVELOPE, 0.0, lower_w, commands, holds="export_cap_until_s")
