"""The export limit as a PEBC power envelope (edge/s2/export.py): the CEM may tighten the
site's limit, never loosen it, and the core holds the tighter of the two."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from s2python.common import Duration
from s2python.pebc import (
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelope,
    PEBCPowerEnvelopeElement,
    PEBCPowerEnvelopeLimitType,
)

from edge.config import EdgeConfig
from edge.core.model import CoreState, InverterReading, ProcessImage, Requests, Sample
from edge.core.policies import export_limit_in_force
from edge.mqtt.commands import NO_EXPORT_LIMIT_W
from edge.s2.export import ExportIds, ExportLimit
from edge.s2.frbc import INVALID, QUANTITY, TEMPORARY, Plan, Refusal
from edge.settings import core_config

CFG = core_config(EdgeConfig())
EXPORT = ExportLimit(ExportIds(uuid.UUID(int=5)))


NO_REQUESTS = Requests()


def now_of(req: Requests = NO_REQUESTS, age_s: float = 0.5):
    inv = Sample(InverterReading(-1800.0, 0.0, 50.0, 3000.0, 500.0), age_s)
    return EXPORT.snapshot(ProcessImage(10.0, inv, None, requests=req), CFG, CoreState())


def envelope(*lower_w: float, upper_w: float = NO_EXPORT_LIMIT_W, constraints=None):
    elements = [
        PEBCPowerEnvelopeElement(duration=Duration(root=60_000), upper_limit=upper_w, lower_limit=w)
        for w in lower_w
    ]
    return PEBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
        power_constraints_id=constraints or EXPORT.ids.constraints,
        power_envelopes=[
            PEBCPowerEnvelope(
                id=str(uuid.uuid4()), commodity_quantity=QUANTITY, power_envelope_elements=elements
            )
        ],
    )


def test_the_allowed_range_runs_from_the_sites_limit_to_no_export():
    now = now_of(Requests(export_limit_w=3000.0))
    desc = PEBCPowerConstraints.from_json(EXPORT.describe(now, datetime.now(UTC))[0].to_json())
    ranges = {r.limit_type: r.range_boundary for r in desc.allowed_limit_ranges}
    lower = ranges[PEBCPowerEnvelopeLimitType.LOWER_LIMIT]
    assert (lower.start_of_range, lower.end_of_range) == (-3000.0, 0.0)
    upper = ranges[PEBCPowerEnvelopeLimitType.UPPER_LIMIT]
    assert upper.start_of_range == upper.end_of_range == NO_EXPORT_LIMIT_W
    grid = EXPORT.report(now, datetime.now(UTC))[0]
    assert grid.values[0].value == -1800.0  # exporting: S2's sign


def test_an_envelope_becomes_the_timed_cap_at_its_tightest_element():
    now = now_of()
    p = EXPORT.plan(envelope(-2000.0, -800.0, -1500.0), now, now, Requests(), 10.0, None)
    assert isinstance(p, Plan) and p.commands == (("export_cap_w", 800.0),)
    assert p.holds == "export_cap_until_s"


def test_a_looser_envelope_never_loosens_the_sites_limit():
    req = Requests(export_limit_w=1000.0, export_cap_w=4000.0, export_cap_until_s=100.0)
    assert export_limit_in_force(req, 10.0) == 1000.0
    assert export_limit_in_force(req, 100.0) == 1000.0  # the cap ended
    tighter = Requests(export_limit_w=1000.0, export_cap_w=300.0, export_cap_until_s=100.0)
    assert export_limit_in_force(tighter, 10.0) == 300.0
    assert export_limit_in_force(tighter, 100.0) == 1000.0


def test_what_edge_cannot_do_and_what_stands_in_the_way():
    now = now_of()
    cases = [
        (envelope(500.0), INVALID, "cannot force import"),
        (envelope(-500.0, upper_w=5000.0), INVALID, "cannot limit import"),
        (envelope(-500.0, constraints=uuid.uuid4()), INVALID, "unknown power constraints"),
    ]
    for msg, status, why in cases:
        r = EXPORT.plan(msg, now, now, Requests(), 10.0, None)
        assert isinstance(r, Refusal) and r.status is status and why in r.reason
    r = EXPORT.plan(envelope(-500.0), None, now_of(age_s=60.0), Requests(), 10.0, None)
    assert isinstance(r, Refusal) and r.status is TEMPORARY and "safe state" in r.reason
    stop = Requests(emergency_stop=True)
    r = EXPORT.plan(envelope(-500.0), now, now, stop, 10.0, None)
    assert isinstance(r, Refusal) and "emergency stop" in r.reason
