"""The heat pump (OMBC) and the export limit (PEBC) on sessions of their own, and who leads
with a planner, over a real socket: the CEM of host_tools/bench/s2.py against the resource
managers of edge/s2/link.py on the rig of tests/edge/test_supervisor_api.py."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from s2python.common import (
    ControlType,
    Duration,
    InstructionStatus,
    InstructionStatusUpdate,
    ReceptionStatusValues,
    ResourceManagerDetails,
)
from s2python.ombc import OMBCInstruction, OMBCStatus, OMBCSystemDescription
from s2python.pebc import (
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelope,
    PEBCPowerEnvelopeElement,
)

from edge.config import EdgeConfig
from edge.core.model import SgState
from edge.core.policies import export_limit_in_force
from edge.mqtt.commands import NO_EXPORT_LIMIT_W
from edge.s2.battery import Mode
from edge.s2.frbc import QUANTITY
from edge.s2.heat_pump import HpMode
from edge.s2.link import battery_of, export_of, heat_pump_of, keep_linked
from edge.s2.status import LinkStatus
from host_tools.bench.s2 import CemSession, MiniCem
from tests.edge.test_supervisor_api import Rig, rig

OK = ReceptionStatusValues.OK
TEMPORARY = ReceptionStatusValues.TEMPORARY_ERROR
INVALID = ReceptionStatusValues.INVALID_CONTENT


@dataclass
class Linked:
    r: Rig
    cem: MiniCem
    cfg: EdgeConfig
    status: LinkStatus


@contextlib.asynccontextmanager
async def linked(
    tmp_path: Path, which: str, control_type: ControlType, core: dict[str, Any], **s2: object
) -> AsyncIterator[Linked]:
    cem = MiniCem(control_type)
    port = await cem.start()
    async with rig(tmp_path) as r:
        settings = {"enabled": True, "url": f"ws://127.0.0.1:{port}/s2", "status_period_s": 300.0}
        cfg = r.sup.cfg.model_copy(
            update={"s2": r.sup.cfg.s2.model_copy(update={**settings, **s2})}
        )
        r.sup.core_cfg = dataclasses.replace(r.sup.core_cfg, **core)
        device = {"heat pump": heat_pump_of, "export": export_of, "battery": battery_of}[which]
        status = LinkStatus()
        r.sup.devices = replace(r.sup.devices, s2=status)
        task = asyncio.create_task(keep_linked(cfg, r.sup, status, device(cfg)))
        try:
            yield Linked(r, cem, cfg, status)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await cem.stop()


def sg_order(mode_id: uuid.UUID) -> OMBCInstruction:
    return OMBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        operation_mode_id=mode_id,
        operation_mode_factor=1.0,
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
    )


def envelope(constraints: uuid.UUID, lower_w: float) -> PEBCInstruction:
    element = PEBCPowerEnvelopeElement(
        duration=Duration(root=300_000), upper_limit=NO_EXPORT_LIMIT_W, lower_limit=lower_w
    )
    return PEBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
        power_constraints_id=constraints,
        power_envelopes=[
            PEBCPowerEnvelope(
                id=str(uuid.uuid4()), commodity_quantity=QUANTITY, power_envelope_elements=[element]
            )
        ],
    )


async def started(s: CemSession, instruction_id: uuid.UUID) -> None:
    await s.wait_for(
        InstructionStatusUpdate,
        lambda u: u.instruction_id == instruction_id and u.status_type is InstructionStatus.STARTED,
    )


def test_the_heat_pump_as_ombc_forced_on_the_relays_then_held_by_its_minimum_on_time(tmp_path):
    async def go():
        hp = {"hp_enabled": True}
        async with linked(tmp_path, "heat pump", ControlType.OPERATION_MODE_BASED_CONTROL, hp) as x:
            s = await x.cem.session()
            details = await s.wait_for(ResourceManagerDetails)
            assert details.available_control_types == [ControlType.OPERATION_MODE_BASED_CONTROL]
            desc = await s.wait_for(OMBCSystemDescription)
            assert len(desc.operation_modes) == 4 and len(desc.timers) == 2
            await s.wait_for(OMBCStatus)
            assert x.status.shown() == "active OMBC"
            mode_id = {m: heat_pump_of(x.cfg).ids.mode(m) for m in HpMode}

            force = sg_order(mode_id[HpMode.FORCE])
            assert (await s.send(force)).status is OK
            assert x.r.sup.requests.heat_pump_sg == "force"
            await x.r.sup.tick(1.0)
            assert x.r.outputs.relays.contacts == (True, True)  # SG-Ready 4 on the relays
            assert x.r.sup.state.hp_state is SgState.FORCE
            await started(s, force.id)

            lock = sg_order(mode_id[HpMode.LOCK])
            answer = await s.send(lock)
            assert answer.status is TEMPORARY
            assert "minimum on time (600 s)" in (answer.diagnostic_label or "")
            await x.r.sup.tick(1.0)
            assert x.r.outputs.relays.contacts == (True, True)  # still running
            assert x.status.instructions_refused == 1

    asyncio.run(go())


def test_the_export_limit_as_pebc_tightened_by_the_cem_never_loosened(tmp_path):
    async def go():
        async with linked(tmp_path, "export", ControlType.POWER_ENVELOPE_BASED_CONTROL, {}) as x:
            s = await x.cem.session()
            constraints = await s.wait_for(PEBCPowerConstraints)
            assert constraints.id == export_of(x.cfg).ids.constraints
            assert x.status.shown() == "active PEBC"
            x.r.sup.requests = replace(x.r.sup.requests, export_limit_w=1500.0)

            tight = envelope(constraints.id, -600.0)
            assert (await s.send(tight)).status is OK
            now_s = x.r.clock.now_s()
            assert export_limit_in_force(x.r.sup.requests, now_s) == 600.0
            await started(s, tight.id)
            await x.r.sup.tick(1.0)  # the loop runs with it

            loose = envelope(constraints.id, -5000.0)
            assert (await s.send(loose)).status is OK
            assert x.r.sup.requests.export_cap_w == 5000.0
            assert export_limit_in_force(x.r.sup.requests, x.r.clock.now_s()) == 1500.0

            force_import = envelope(constraints.id, 200.0)
            answer = await s.send(force_import)
            assert answer.status is INVALID
            assert "cannot force import" in (answer.diagnostic_label or "")

    asyncio.run(go())


def test_when_the_planner_leads_the_cem_may_only_hand_back(tmp_path):
    async def go():
        core = {"planner_enabled": True}
        ct = ControlType.FILL_RATE_BASED_CONTROL
        async with linked(tmp_path, "battery", ct, core, leads="planner") as x:
            s = await x.cem.session()
            ids = battery_of(x.cfg).ids
            answer = await s.instruct(ids.mode(Mode.IDLE), 0.0)
            assert answer.status is TEMPORARY
            assert "the planner leads (s2.leads = planner)" in (answer.diagnostic_label or "")
            assert x.r.sup.requests.mode.value == "auto"
            answer = await s.instruct(ids.mode(Mode.SELF_CONSUMPTION), 0.5)
            assert answer.status is OK

    asyncio.run(go())


def test_when_the_cem_leads_its_instruction_is_taken_with_the_planner_on(tmp_path):
    async def go():
        core = {"planner_enabled": True}
        ct = ControlType.FILL_RATE_BASED_CONTROL
        async with linked(tmp_path, "battery", ct, core, leads="cem") as x:
            s = await x.cem.session()
            answer = await s.instruct(battery_of(x.cfg).ids.mode(Mode.IDLE), 0.0)
            assert answer.status is OK and x.r.sup.requests.mode.value == "standby"

    asyncio.run(go())


def test_which_resources_a_site_offers_besides_the_battery_and_the_tank():
    from edge.s2.link import more_devices

    base = EdgeConfig()
    assert [d.label for d in more_devices(base)] == ["export limit"]
    hp_on = base.model_copy(
        update={
            "loads": base.loads.model_copy(
                update={"heat_pump": base.loads.heat_pump.model_copy(update={"enabled": True})}
            )
        }
    )
    assert [d.control_type for d in more_devices(hp_on)] == ["OMBC", "PEBC"]
    neither = hp_on.model_copy(
        update={"s2": hp_on.s2.model_copy(update={"heat_pump": False, "export_limit": False})}
    )
    assert more_devices(neither) == []
