"""A resource manager on an S2 connection (s2-python's class-based RM side), for any
FrbcDevice (edge/s2/frbc.py): FRBC (the battery, the tank), OMBC (the heat pump), PEBC (the
export limit); resource_for picks the class of the device's control type.

When the CEM selects the control type it is sent the system description, the device's reports (fill
level, power or leakage) and the actuator's mode; then every cfg.status_period_s the
reports, and the description again whenever what the device may do has changed. An
instruction is planned by the device against the limits the core enforces now, carried out as
commands through the supervisor's own command path (Supervisor.command: the same
validation, expiry and logging as an MQTT command); each acts for instruction_valid_s, so a
CEM that goes silent loses its authority then and the core's own policies return.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from s2python.common import (
    Handshake,
    HandshakeResponse,
    InstructionStatus,
    InstructionStatusUpdate,
    ReceptionStatus,
    ReceptionStatusValues,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    SessionRequest,
    SessionRequestType,
)
from s2python.connection.async_.connection import S2AsyncConnection
from s2python.connection.async_.control_type.class_based import (
    FRBCControlType,
    OMBCControlType,
    PEBCControlType,
)
from s2python.connection.types import S2ConnectionEventsAndMessages
from s2python.frbc import FRBCInstruction
from s2python.message import S2MessageWithID
from s2python.ombc import OMBCInstruction
from s2python.pebc import PEBCInstruction
from s2python.s2_parser import TYPE_TO_MESSAGE_CLASS

from edge.clock import ScaledClock
from edge.config import S2Config
from edge.core.model import CoreConfig, CoreState, Requests
from edge.drivers.ports import BmsPort, DabPort, InverterPort, LoadsPort
from edge.errors import clip
from edge.image import take_image
from edge.s2.frbc import INVALID, TEMPORARY, FrbcDevice, Plan, Refusal
from edge.s2.status import LinkState, LinkStatus

log = logging.getLogger("edge.s2")
N = TypeVar("N")
Instruction = FRBCInstruction | OMBCInstruction | PEBCInstruction
INSTRUCTIONS = (FRBCInstruction, OMBCInstruction, PEBCInstruction)
REVOKABLE = (
    RevokableObjects.FRBC_Instruction,
    RevokableObjects.OMBC_Instruction,
    RevokableObjects.PEBC_Instruction,
)

REPLY_TIMEOUT_S = 10.0  # the CEM's reception status, at most this late, or the session ends
LATE_SLACK_S = 1.0  # an execution_time this close counts as now
MAX_AHEAD_S = 86400.0  # an instruction for later than this is refused
MAX_REASON_CHARS = 200
# Instructions one session may have carried out in a minute, at most: each is a command,
# a state-file write and an MQTT result, so a CEM that floods gets TEMPORARY_ERROR instead.
MAX_INSTRUCTIONS_PER_MIN = 30


class Host(Protocol):
    """What the RM needs of the running supervisor (edge/supervisor.py meets it)."""

    core_cfg: CoreConfig
    state: CoreState
    requests: Requests
    clock: ScaledClock
    inverter: InverterPort
    dab: DabPort | None
    loads: LoadsPort | None
    bms: BmsPort | None

    def command(self, key: str, payload: bytes, retained: bool) -> dict[str, Any]: ...


def _now_wall() -> datetime:
    return datetime.now(UTC)


def leads_refusal(cfg: S2Config, planner_enabled: bool, plan: Plan) -> Refusal | None:
    """s2.leads = "planner" with the planner on: an instruction that would set a request
    (and so override what the plan does) is refused; one that hands back to the core's own
    loop is taken. With "cem" the CEM's requests are stronger than a plan's slot."""
    if cfg.leads != "planner" or not planner_enabled or _hands_back(plan):
        return None
    return Refusal(
        TEMPORARY,
        f"{plan.mode} refused: the planner leads (s2.leads = planner); only instructions"
        " that hand back to the core's own loop are taken",
    )


def _hands_back(plan: Plan) -> bool:
    """Whether the plan only hands back (ends requests this RM set) and starts nothing."""
    return plan.holds is None and all(
        (k, v) in (("mode", "auto"), ("force_charge_w", 0.0), ("heat_pump_sg", "auto"))
        for k, v in plan.commands
    )


class DeviceResource(Generic[N]):
    """The resource manager's work for any control type; the classes below add s2-python's
    control-type base (which registers the instruction's handler)."""

    def __init__(
        self, host: Host, device: FrbcDevice[N, Any], cfg: S2Config, status: LinkStatus
    ) -> None:
        self.host, self.device, self.cfg, self.status = host, device, cfg, status
        self._described: N | None = None
        self._ours_until_s: float | None = None  # the expiry of the request this RM set
        self._tasks: set[asyncio.Task[None]] = set()
        self._scheduled: dict[uuid.UUID, asyncio.Task[None]] = {}  # instructions for later
        self._recent_s: deque[float] = deque()  # when the last instructions were taken
        self.activated = False  # the CEM selected the control type in this session
        self.ended_by: SessionRequestType | None = None  # the CEM's request to end it

    # ---- what the battery may do now -------------------------------------------------

    def now(self) -> N | None:
        h = self.host
        image = take_image(h.clock.now_s(), h.inverter, h.dab, h.loads, h.bms, h.requests)
        return self.device.snapshot(image, h.core_cfg, h.state)

    async def _send(self, conn: S2AsyncConnection, msg: S2MessageWithID) -> None:
        await conn.send_msg_and_await_reception_status(msg, REPLY_TIMEOUT_S, raise_on_error=False)

    async def _report(self, conn: S2AsyncConnection) -> None:
        now = self.now()
        if now is None:  # no data: nothing true to say this time
            return
        at = _now_wall()
        if self._described is None or self.device.changed(self._described, now):
            self._described = now
            for msg in self.device.describe(now, at):
                await self._send(conn, msg)
        for msg in self.device.report(now, at):
            await self._send(conn, msg)

    # ---- the control type's life ------------------------------------------------------

    async def activate(self, connection: S2AsyncConnection) -> None:
        self.status.state, self.status.control_type = LinkState.ACTIVE, self.device.control_type
        self.activated = True
        self._described = None
        self._spawn(self._keep_reporting(connection))

    async def deactivate(self, connection: S2AsyncConnection) -> None:
        self.status.state, self.status.control_type = LinkState.HANDSHAKE, None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _keep_reporting(self, conn: S2AsyncConnection) -> None:
        first = True
        while True:
            try:
                await self._report(conn)
                if first:
                    req, t_s = self.host.requests, self.host.clock.now_s()
                    status = self.device.actuator_status(self.device.active_mode(req, t_s), 0.0)
                    if status is not None:
                        await self._send(conn, status)
                    first = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lost link ends the session; the loop reconnects
                log.warning("S2: status not sent: %s", clip(str(exc), MAX_REASON_CHARS))
                await conn.stop()
                return
            await asyncio.sleep(self.cfg.status_period_s)

    # ---- instructions -----------------------------------------------------------------

    async def handle_instruction(
        self,
        connection: S2AsyncConnection,
        msg: S2ConnectionEventsAndMessages,
        send_okay: Callable[[], Awaitable[None]] | None,
    ) -> None:
        assert isinstance(msg, INSTRUCTIONS) and send_okay is not None
        t_s = self.host.clock.now_s()
        ahead_s = (msg.execution_time - _now_wall()).total_seconds()
        verdict = self._plan(msg, t_s)
        if isinstance(verdict, Plan) and self._flooding(time.monotonic()):
            verdict = Refusal(
                TEMPORARY, f"more than {MAX_INSTRUCTIONS_PER_MIN} instructions in a minute"
            )
        if isinstance(verdict, Plan) and ahead_s > MAX_AHEAD_S:
            verdict = Refusal(
                ReceptionStatusValues.INVALID_CONTENT,
                f"execution_time {ahead_s:.0f} s ahead; at most {MAX_AHEAD_S:g} s",
            )
        if isinstance(verdict, Refusal):
            await self._refuse(connection, msg, send_okay, verdict)
            return
        await send_okay()
        if ahead_s > LATE_SLACK_S:
            await self._update(connection, msg.id, InstructionStatus.ACCEPTED)
            task = self._spawn(self._later(connection, msg, ahead_s))
            self._scheduled[msg.id] = task
            task.add_done_callback(lambda _t: self._scheduled.pop(msg.id, None))
            return
        await self._execute(connection, msg, verdict)

    def _flooding(self, now_s: float) -> bool:
        """Whether one more instruction would pass the minute's limit (else it counts)."""
        while self._recent_s and now_s - self._recent_s[0] >= 60.0:
            self._recent_s.popleft()
        if len(self._recent_s) >= MAX_INSTRUCTIONS_PER_MIN:
            return True
        self._recent_s.append(now_s)
        return False

    def _plan(self, msg: Instruction, t_s: float) -> Plan | Refusal:
        req = self.host.requests
        p = self.device.plan(msg, self._described, self.now(), req, t_s, self._ours_until_s)
        if isinstance(p, Plan):
            return leads_refusal(self.cfg, self.host.core_cfg.planner_enabled, p) or p
        return p

    async def _later(self, conn: S2AsyncConnection, msg: Instruction, ahead_s: float) -> None:
        await asyncio.sleep(ahead_s)
        verdict = self._plan(msg, self.host.clock.now_s())  # the limits of that moment
        if isinstance(verdict, Refusal):
            log.warning("S2: instruction %s rejected at its time: %s", msg.id, verdict.reason)
            self.status.instructions_refused += 1
            await self._update(conn, msg.id, InstructionStatus.REJECTED)
            return
        await self._execute(conn, msg, verdict)

    async def _execute(self, conn: S2AsyncConnection, msg: Instruction, p: Plan) -> None:
        """Carry the plan out through the supervisor's command path, then tell the CEM."""
        for key, value in p.commands:
            result = self.host.command(key, self._payload(value), retained=False)
            if not result.get("accepted"):  # the command path's own check said no
                log.warning("S2: instruction %s: %s refused: %s", msg.id, key, result.get("reason"))
                self.status.instructions_refused += 1
                await self._update(conn, msg.id, InstructionStatus.ABORTED)
                return
        req = self.host.requests  # as the commands left them
        self._ours_until_s = float(getattr(req, p.holds)) if p.holds else None
        self.status.instructions_accepted += 1
        log.info(
            "S2: %s instruction %s: %s at %+.0f W (S2 sign)",
            self.device.label,
            msg.id,
            p.mode,
            p.s2_power_w,
        )
        await self._update(conn, msg.id, InstructionStatus.STARTED)
        status = self.device.actuator_status(p.mode, p.factor)
        if status is not None:
            await self._send(conn, status)

    def _payload(self, value: str | float | bool) -> bytes:
        doc = {"value": value, "for_s": self.cfg.instruction_valid_s, "sent_s": time.time()}
        return json.dumps(doc).encode()

    async def _refuse(
        self,
        conn: S2AsyncConnection,
        msg: Instruction,
        send_okay: Callable[[], Awaitable[None]],
        refusal: Refusal,
    ) -> None:
        self.status.instructions_refused += 1
        log.warning("S2: %s instruction %s refused: %s", self.device.label, msg.id, refusal.reason)
        await _answer(conn, msg.message_id, send_okay, refusal)

    async def _update(
        self, conn: S2AsyncConnection, instruction_id: uuid.UUID, s: InstructionStatus
    ) -> None:
        update = InstructionStatusUpdate(
            message_id=uuid.uuid4(),
            instruction_id=instruction_id,
            status_type=s,
            timestamp=_now_wall(),
        )
        await self._send(conn, update)

    # ---- outside the control type -----------------------------------------------------

    def register_session_handlers(self, conn: S2AsyncConnection) -> None:
        """What the RM answers besides its control type's instructions: a revocation, a
        session request, an instruction before its control type is selected, and any message that a
        CEM does not send to an RM (each gets its ReceptionStatus, never silence)."""
        rm_side = (Handshake, HandshakeResponse, SelectControlType, ReceptionStatus)
        kinds: list[Any] = [k for k in TYPE_TO_MESSAGE_CLASS.values() if k not in rm_side]
        for kind in kinds:
            conn.register_handler(kind, self.handle_unexpected)
        conn.register_handler(RevokeObject, self.handle_revoke)
        conn.register_handler(SessionRequest, self.handle_session_request)

    async def handle_unexpected(
        self,
        connection: S2AsyncConnection,
        msg: S2ConnectionEventsAndMessages,
        send_okay: Callable[[], Awaitable[None]] | None,
    ) -> None:
        assert send_okay is not None
        kind, message_id = getattr(msg, "message_type", "?"), getattr(msg, "message_id", None)
        assert isinstance(message_id, uuid.UUID)
        why = (
            "no control type selected yet: send SelectControlType first"
            if isinstance(msg, INSTRUCTIONS)
            else f"{kind} is not a message a CEM sends to this resource manager"
        )
        await _answer(connection, message_id, send_okay, Refusal(INVALID, why))

    async def handle_revoke(
        self,
        connection: S2AsyncConnection,
        msg: S2ConnectionEventsAndMessages,
        send_okay: Callable[[], Awaitable[None]] | None,
    ) -> None:
        """A scheduled instruction can be revoked; one carried out is ended by a new one."""
        assert isinstance(msg, RevokeObject) and send_okay is not None
        task = self._scheduled.pop(msg.object_id, None)
        if msg.object_type not in REVOKABLE or task is None:
            why = f"no {msg.object_type.value} {msg.object_id} waiting for its execution_time"
            await _answer(connection, msg.message_id, send_okay, Refusal(INVALID, why))
            return
        task.cancel()
        await send_okay()
        await self._update(connection, msg.object_id, InstructionStatus.REVOKED)

    async def handle_session_request(
        self,
        connection: S2AsyncConnection,
        msg: S2ConnectionEventsAndMessages,
        send_okay: Callable[[], Awaitable[None]] | None,
    ) -> None:
        assert isinstance(msg, SessionRequest) and send_okay is not None
        await send_okay()
        self.ended_by = msg.request
        log.info("S2: the CEM asks the %s session to %s", self.device.label, msg.request.value)
        await connection.stop()


class FrbcResource(DeviceResource[N], FRBCControlType):
    pass


class OmbcResource(DeviceResource[N], OMBCControlType):
    pass


class PebcResource(DeviceResource[N], PEBCControlType):
    pass


def resource_for(
    host: Host, device: FrbcDevice[N, Any], cfg: S2Config, status: LinkStatus
) -> DeviceResource[N]:
    """The RM of the device's control type."""
    kinds: dict[str, type[DeviceResource[Any]]] = {
        "FRBC": FrbcResource,
        "OMBC": OmbcResource,
        "PEBC": PebcResource,
    }
    return kinds[device.control_type](host, device, cfg, status)


async def _answer(
    conn: S2AsyncConnection,
    message_id: uuid.UUID,
    send_okay: Callable[[], Awaitable[None]],
    refusal: Refusal,
) -> None:
    """Answer with a status other than OK. s2-python sends OK after a handler unless its
    SendOkay was marked sent: mark it, then send ours (pinned s2-python 0.11.1; the tests
    in tests/edge/s2 check the statuses on the wire)."""
    getattr(send_okay, "__self__")._status_is_send.set()  # noqa: B009
    await conn.respond_with_reception_status(
        message_id, refusal.status, clip(refusal.reason, MAX_REASON_CHARS)
    )
