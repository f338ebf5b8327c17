"""A whole S2 session over a real socket: the CEM of host_tools/bench/s2.py (s2-python's
models on a `websockets` server) against the battery's resource manager (edge/s2/link.py)
on a Supervisor whose drivers poll the emulated inverter, BMS and DAB board over sockets
(the rig of tests/edge/test_supervisor_api.py). Each instruction goes through the
supervisor's command path, and a tick takes it to the emulated inverter's wire."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from s2python.common import (
    ControlType,
    Handshake,
    InstructionStatus,
    InstructionStatusUpdate,
    PowerMeasurement,
    PowerValue,
    ReceptionStatusValues,
    ResourceManagerDetails,
    RevokableObjects,
    RevokeObject,
    SessionRequest,
    SessionRequestType,
)
from s2python.frbc import (
    FRBCActuatorStatus,
    FRBCLeakageBehaviour,
    FRBCStorageStatus,
    FRBCSystemDescription,
    FRBCUsageForecast,
)

from edge.config import EdgeConfig
from edge.core.model import RequestMode
from edge.image import take_image
from edge.s2.battery import Mode
from edge.s2.frbc import QUANTITY
from edge.s2.link import battery_of, keep_linked, tank_of
from edge.s2.resource import MAX_INSTRUCTIONS_PER_MIN
from edge.s2.status import LinkState, LinkStatus
from edge.s2.tank import W_TO_KWH_PER_S, TankMode
from edge.sources.history import HistoryStore, SlotRecord
from edge.state_db import StorageHealth
from host_tools.bench.s2 import CemSession, MiniCem
from tests.asyncwait import wait_until
from tests.edge.test_supervisor_api import Rig, rig
from tests.tlsutil import make_ca, make_server_cert

OK = ReceptionStatusValues.OK


@dataclass
class Linked:
    r: Rig
    cem: MiniCem
    cfg: EdgeConfig
    status: LinkStatus

    def mode_id(self, mode: Mode) -> uuid.UUID:
        return battery_of(self.cfg).ids.mode(mode)


@contextlib.asynccontextmanager
async def linked(
    tmp_path: Path, cem: MiniCem | None = None, tank: bool = False, **s2: object
) -> AsyncIterator[Linked]:
    """The rig with its S2 link to a MiniCem, as edge/compose.py starts it."""
    cem = cem or MiniCem()
    port = await cem.start()
    async with rig(tmp_path) as r:
        settings = {"enabled": True, "url": f"ws://127.0.0.1:{port}/s2", "status_period_s": 300.0}
        cfg = r.sup.cfg.model_copy(
            update={"s2": r.sup.cfg.s2.model_copy(update={**settings, **s2})}
        )
        status = LinkStatus()
        r.sup.devices = replace(r.sup.devices, s2=status)
        device = tank_of(cfg) if tank else None  # None: the battery
        task = asyncio.create_task(keep_linked(cfg, r.sup, status, device))
        try:
            yield Linked(r, cem, cfg, status)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await cem.stop()


def test_a_session_from_handshake_to_an_instruction_that_moves_the_battery(tmp_path):
    async def go():
        async with linked(tmp_path) as x:
            s = await x.cem.session()
            # handshake, details, control type, then what the RM says of the battery
            kinds = [type(m) for m in s.received]
            assert kinds.index(Handshake) < kinds.index(ResourceManagerDetails)
            details = await s.wait_for(ResourceManagerDetails)
            assert details.available_control_types == [ControlType.FILL_RATE_BASED_CONTROL]
            desc = await s.wait_for(FRBCSystemDescription)
            sup = x.r.sup
            image = take_image(
                x.r.clock.now_s(), sup.inverter, sup.dab, sup.loads, sup.bms, sup.requests
            )
            bms = image.bms.value  # the emulated BMS's limits, as the core sees them
            charge = desc.actuators[0].operation_modes[0].elements[0].power_ranges[0]
            assert charge.end_of_range == round(min(3000.0, bms.charge_limit_w))
            fill = await s.wait_for(FRBCStorageStatus)
            soc = x.r.sup.inverter.sample(x.r.clock.now_s()).value.battery_soc_pct
            assert fill.present_fill_level == soc
            await s.wait_for(PowerMeasurement)
            await s.wait_for(FRBCActuatorStatus)
            assert x.status.shown() == "active FRBC"

            await x.r.sup.tick(1.0)
            assert x.r.house.state.passive_battery_w < 0  # noon: charging from the surplus
            status = await s.instruct(x.mode_id(Mode.IDLE), 0.0)
            assert status.status is OK
            assert x.r.sup.requests.mode is RequestMode.STANDBY
            await x.r.sup.tick(1.0)
            assert (x.r.house.state.mode.value, x.r.house.state.passive_battery_w) == (
                "passive",
                0.0,
            )
            started = await s.wait_for(
                InstructionStatusUpdate, lambda u: u.status_type is InstructionStatus.STARTED
            )
            assert started.instruction_id is not None
            assert x.r.sup.last_doc["s2_link"] == "active FRBC"

            status = await s.instruct(x.mode_id(Mode.CHARGE), 0.5)
            assert status.status is OK
            assert x.r.sup.requests.force_charge_w == round(0.5 * charge.end_of_range)
            assert x.r.sup.requests.mode is RequestMode.AUTO  # its own standby released
            await x.r.sup.tick(1.0)
            assert x.r.house.state.passive_battery_w <= -x.r.sup.requests.force_charge_w + 1.0
            assert x.status.instructions_accepted == 2

    asyncio.run(go())


def test_an_instruction_past_the_reserve_is_refused_with_the_reason(tmp_path):
    async def go():
        async with linked(tmp_path) as x:
            s = await x.cem.session()
            # the user raises the reserve above the SOC after the CEM was told the limits
            assert x.r.sup.command("reserve_soc_pct", b"99", retained=False)["accepted"]
            status = await s.instruct(x.mode_id(Mode.SELF_CONSUMPTION), 0.0)  # full discharge
            assert status.status is ReceptionStatusValues.TEMPORARY_ERROR
            assert "reserve SOC 99 % reached: no discharge" in status.diagnostic_label
            assert x.status.instructions_refused == 1
            assert x.r.sup.requests.mode is RequestMode.AUTO  # nothing changed

    asyncio.run(go())


def test_a_cem_that_goes_silent_loses_its_authority_after_the_validity(tmp_path):
    async def go():
        async with linked(tmp_path, instruction_valid_s=60.0) as x:
            s = await x.cem.session()
            assert (await s.instruct(x.mode_id(Mode.IDLE), 0.0)).status is OK
            await s.close()
            await wait_until(lambda: x.status.state is not LinkState.ACTIVE)
            await x.r.sup.tick(1.0)
            assert x.r.sup.state.reason == "requested: standby"  # still inside its validity
            x.r.clock.advance(61.0)
            sup = x.r.sup
            await wait_until(
                lambda: all(
                    d.sample(x.r.clock.now_s()).age_s < 1.0
                    for d in (sup.inverter, sup.dab, sup.bms)
                )
            )
            await x.r.sup.tick(1.0)
            assert x.r.sup.state.reason.startswith("self-consumption")  # the core's own again
            # and the link comes back by itself: a new session, active again
            await x.cem.session(1)
            await wait_until(lambda: x.status.state is LinkState.ACTIVE)

    asyncio.run(go())


def test_garbage_and_schema_invalid_messages_get_their_status_and_the_session_goes_on(tmp_path):
    async def go():
        async with linked(tmp_path) as x:
            s: CemSession = await x.cem.session()
            for garbage in (
                "not json{",
                "[1, 2]",
                '{"message_type": "FRBC.Instruction"}',
                b"\xff\xfe",
            ):
                status = await s.send_raw(garbage)
                assert status.status is ReceptionStatusValues.INVALID_DATA, garbage
            good = s.instruction(s.last_description().actuators[0].id, x.mode_id(Mode.IDLE), 0.0)
            doc = json.loads(good.to_json())
            doc["operation_mode_factor"] = "lots"
            status = await s.send_raw(json.dumps(doc), subject=good.message_id)
            assert status.status is ReceptionStatusValues.INVALID_MESSAGE  # S2's schema
            unknown = s.instruction(s.last_description().actuators[0].id, uuid.uuid4(), 0.0)
            status = await s.send(unknown)
            assert status.status is ReceptionStatusValues.INVALID_CONTENT
            assert "unknown operation mode" in status.diagnostic_label
            assert (await s.instruct(x.mode_id(Mode.IDLE), 0.0)).status is OK  # still there
            assert x.status.sessions == 1

    asyncio.run(go())


def test_a_wrong_token_is_refused_and_retried_with_backoff(tmp_path):
    async def go():
        async with linked(tmp_path, MiniCem(token="s3cret"), token="wrong") as x:
            await wait_until(lambda: x.cem.refused >= 1 and x.status.state is LinkState.WAITING)
            assert "401" in (x.status.last_error or "")
            assert x.cem.sessions == []
        async with linked(tmp_path / "b", MiniCem(token="s3cret"), token="s3cret") as x:
            await x.cem.session()
            await wait_until(lambda: x.status.state is LinkState.ACTIVE)

    (tmp_path / "b").mkdir()
    asyncio.run(go())


def test_tls_with_the_sites_ca(tmp_path):
    ca_path, ca_key, ca_cert = make_ca(tmp_path, "test CEM CA")
    crt, key = make_server_cert(tmp_path, ca_key, ca_cert)
    server_ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ssl.load_cert_chain(crt, key)

    async def go():
        cem = MiniCem()
        port = await cem.start(ssl=server_ssl)
        await cem.stop()  # the port is known now: serve TLS on it for the link
        cem = MiniCem()
        await cem.start(port=port, ssl=server_ssl)
        async with linked(
            tmp_path, cem, url=f"wss://127.0.0.1:{port}/s2", ca_file=str(ca_path)
        ) as x:
            await x.cem.session()
            assert x.status.shown() == "active FRBC"

    asyncio.run(go())


def test_the_tank_on_its_own_session_takes_a_boost(tmp_path):
    async def go():
        async with linked(tmp_path, tank=True) as x:
            s = await x.cem.session()
            details = await s.wait_for(ResourceManagerDetails)
            assert details.resource_id == tank_of(x.cfg).resource_id
            await s.wait_for(FRBCLeakageBehaviour)
            # no history in the rig's state file: no usage forecast, and none promised
            assert not (await s.wait_for(FRBCSystemDescription)).storage.provides_usage_forecast
            fill = await s.wait_for(FRBCStorageStatus)
            assert not any(isinstance(m, FRBCUsageForecast) for m in s.received)
            temp = x.r.house.tank.temp_degc
            assert abs(fill.present_fill_level - tank_of(x.cfg).heat_kwh(temp)) < 0.01
            boost = tank_of(x.cfg).ids.mode(TankMode.BOOST)
            assert (await s.instruct(boost, 1.0)).status is OK
            t = x.r.clock.now_s()
            valid_s = x.cfg.s2.instruction_valid_s
            assert x.r.sup.requests.boost_hot_water_until_s == pytest.approx(t + valid_s, abs=1.0)
            await x.r.sup.tick(1.0)
            assert "boost hot water" in x.r.sup.state.reason
            assert x.r.house.diverter.setpoint_w == x.r.sup.cfg.loads.diverter.element_w

    asyncio.run(go())


def test_the_tank_sends_a_usage_forecast_from_the_sites_hot_water_history(tmp_path):
    """Three days of history in the state file, as the sources runner writes it: the tank
    draws 750 Wh (1500 W) in every fourth half hour of the day, nothing in the others."""
    slot_s, now_s = 1800, datetime.now(UTC).timestamp()
    today = int(now_s // slot_s * slot_s)
    store = HistoryStore(str(tmp_path / "state.sqlite"), StorageHealth())
    for k in range(1, 3 * 48 + 1):
        t = today - k * slot_s
        wh = 750.0 if (t // slot_s) % 4 == 0 else 0.0
        store.save(SlotRecord(t, slot_s, slot_s, 300.0, 0.0, None, wh, 0.0, None))
    store.close()

    async def go():
        async with linked(tmp_path, tank=True) as x:
            s = await x.cem.session()
            desc = await s.wait_for(FRBCSystemDescription)
            assert desc.storage.provides_usage_forecast
            usage = await s.wait_for(FRBCUsageForecast)
            start_s = usage.start_time.timestamp()
            assert start_s % slot_s == 0 and -60 < now_s - start_s < slot_s + 60
            assert len(usage.elements) == 48  # a day ahead
            assert {e.duration.root for e in usage.elements} == {slot_s * 1000}
            for k, e in enumerate(usage.elements):
                expected_w = 1500.0 if (int(start_s) // slot_s + k) % 4 == 0 else 0.0
                assert e.usage_rate_expected == pytest.approx(expected_w * W_TO_KWH_PER_S)

    asyncio.run(go())


def update_of(instruction_id: uuid.UUID, status: InstructionStatus):
    return lambda u: u.instruction_id == instruction_id and u.status_type is status


def test_an_instruction_for_later_is_accepted_then_started_or_revoked(tmp_path):
    async def go():
        async with linked(tmp_path) as x:
            s = await x.cem.session()
            actuator = s.last_description().actuators[0].id
            later = s.instruction(actuator, x.mode_id(Mode.IDLE), 0.0, ahead_s=1.5)
            assert (await s.send(later)).status is OK
            await s.wait_for(
                InstructionStatusUpdate,
                lambda u: (
                    u.instruction_id == later.id and u.status_type is InstructionStatus.ACCEPTED
                ),
            )
            assert x.r.sup.requests.mode is RequestMode.AUTO  # not yet
            await s.wait_for(
                InstructionStatusUpdate,
                lambda u: (
                    u.instruction_id == later.id and u.status_type is InstructionStatus.STARTED
                ),
            )
            assert x.r.sup.requests.mode is RequestMode.STANDBY

            revoked = s.instruction(actuator, x.mode_id(Mode.CHARGE), 1.0, ahead_s=30.0)
            assert (await s.send(revoked)).status is OK
            revoke = RevokeObject(
                message_id=uuid.uuid4(),
                object_type=RevokableObjects.FRBC_Instruction,
                object_id=revoked.id,
            )
            assert (await s.send(revoke)).status is OK
            await s.wait_for(
                InstructionStatusUpdate,
                lambda u: (
                    u.instruction_id == revoked.id and u.status_type is InstructionStatus.REVOKED
                ),
            )
            again = await s.send(revoke.model_copy(update={"message_id": uuid.uuid4()}))
            assert again.status is ReceptionStatusValues.INVALID_CONTENT  # nothing left to revoke

    asyncio.run(go())


def test_a_message_no_cem_sends_gets_invalid_content_and_terminate_ends_the_session(tmp_path):
    async def go():
        async with linked(tmp_path, reconnect_max_s=30.0) as x:
            s = await x.cem.session()
            odd = PowerMeasurement(
                message_id=uuid.uuid4(),
                measurement_timestamp=datetime.now(UTC),
                values=[PowerValue(commodity_quantity=QUANTITY, value=0.0)],
            )
            status = await s.send(odd)
            assert status.status is ReceptionStatusValues.INVALID_CONTENT
            assert "PowerMeasurement is not a message a CEM sends" in status.diagnostic_label
            bye = SessionRequest(message_id=uuid.uuid4(), request=SessionRequestType.TERMINATE)
            assert (await s.send(bye)).status is OK
            await s.closed.wait()
            await wait_until(lambda: x.status.state is LinkState.WAITING)
            assert x.status.last_error == "the CEM asked to terminate"
            await asyncio.sleep(1.5)  # a plain loss would be retried after 1 s
            assert len(x.cem.sessions) == 1  # a terminated session waits reconnect_max_s

    asyncio.run(go())


def test_a_cem_that_floods_is_refused_past_the_minutes_limit(tmp_path):
    async def go():
        async with linked(tmp_path) as x:
            s = await x.cem.session()
            answers = [
                (await s.instruct(x.mode_id(Mode.IDLE), 0.0)).status
                for _ in range(MAX_INSTRUCTIONS_PER_MIN + 2)
            ]
            assert answers[:MAX_INSTRUCTIONS_PER_MIN] == [OK] * MAX_INSTRUCTIONS_PER_MIN
            assert answers[MAX_INSTRUCTIONS_PER_MIN:] == [ReceptionStatusValues.TEMPORARY_ERROR] * 2
            last = [m for m in s.statuses if m.status is ReceptionStatusValues.TEMPORARY_ERROR][-1]
            assert last.diagnostic_label == "more than 30 instructions in a minute"

    asyncio.run(go())
