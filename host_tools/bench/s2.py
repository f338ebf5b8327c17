"""A small S2 CEM (customer energy manager) on s2-python's message models and a `websockets`
server, and the benchmark that uses it: a CEM instruction to the battery command on the
inverter's wire, through the real stack (the S2 session over a socket, the supervisor's
command path and loop, the pymodbus driver, the RS485 wire at 9600 baud, the Sofar
emulator), median and p95. tests/edge/s2 run their sessions against the same CEM.

s2-python has the resource-manager side only; this CEM does what the RM expects of one:
answers every message with a ReceptionStatus, answers the RM's Handshake with a
HandshakeResponse, and selects a control type once the RM's details arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

from s2python.common import (
    ControlType,
    Handshake,
    HandshakeResponse,
    ReceptionStatus,
    ReceptionStatusValues,
    ResourceManagerDetails,
    SelectControlType,
)
from s2python.frbc import FRBCInstruction, FRBCSystemDescription
from s2python.message import S2Message, S2MessageWithID
from s2python.ombc import OMBCSystemDescription
from s2python.pebc import PEBCPowerConstraints
from s2python.s2_parser import S2Parser
from s2python.version import S2_VERSION
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

M = TypeVar("M")
NO_MESSAGE_ID = uuid.UUID(int=0)
# What an RM of each control type describes itself with, first
DESCRIPTION: dict[ControlType, type[S2MessageWithID]] = {
    ControlType.FILL_RATE_BASED_CONTROL: FRBCSystemDescription,
    ControlType.OPERATION_MODE_BASED_CONTROL: OMBCSystemDescription,
    ControlType.POWER_ENVELOPE_BASED_CONTROL: PEBCPowerConstraints,
}


class CemSession:
    """One RM's session, as the CEM sees it: every message received, in order."""

    def __init__(self, ws: ServerConnection, control_type: ControlType) -> None:
        self.ws = ws
        self.control_type = control_type
        self.received: list[S2Message] = []
        self.statuses: list[ReceptionStatus] = []  # answers to what the CEM sent
        self.closed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def pump(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                msg = S2Parser.parse_as_any_message(raw)
                self.received.append(msg)
                if isinstance(msg, ReceptionStatus):
                    self.statuses.append(msg)
                    continue
                assert isinstance(msg, S2MessageWithID)
                await self.ok(msg.message_id)
                if isinstance(msg, Handshake):
                    self._later(
                        HandshakeResponse(
                            message_id=uuid.uuid4(), selected_protocol_version=S2_VERSION
                        )
                    )
                elif isinstance(msg, ResourceManagerDetails):
                    self._later(
                        SelectControlType(message_id=uuid.uuid4(), control_type=self.control_type)
                    )
        self.closed.set()

    def _later(self, msg: S2MessageWithID) -> None:
        task = asyncio.ensure_future(self.send(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def ok(self, subject: uuid.UUID) -> None:
        status = ReceptionStatus(subject_message_id=subject, status=ReceptionStatusValues.OK)
        await self.ws.send(status.to_json())

    async def wait_for(
        self, kind: type[M], pred: Callable[[M], bool] = lambda _m: True, timeout_s: float = 10.0
    ) -> M:
        """The first message of `kind` received that pred accepts (waiting for it)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for m in self.received:
                if isinstance(m, kind) and pred(m):
                    return m
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {kind.__name__} from the RM within {timeout_s:g} s")
            await asyncio.sleep(0.002)

    async def status_of(
        self, subject: uuid.UUID, after: int = 0, timeout_s: float = 10.0
    ) -> ReceptionStatus:
        deadline = time.monotonic() + timeout_s
        while True:
            for s in self.statuses[after:]:
                if s.subject_message_id == subject:
                    return s
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ReceptionStatus for {subject} within {timeout_s:g} s")
            await asyncio.sleep(0.001)

    async def send(self, msg: S2MessageWithID) -> ReceptionStatus:
        after = len(self.statuses)
        await self.ws.send(msg.to_json())
        return await self.status_of(msg.message_id, after)

    async def send_raw(
        self, text: str | bytes, subject: uuid.UUID = NO_MESSAGE_ID
    ) -> ReceptionStatus:
        """Anything at all, and the status the RM answers it with (for garbage: the status
        about message id 0)."""
        after = len(self.statuses)
        await self.ws.send(text)
        return await self.status_of(subject, after)

    async def instruct(
        self, mode_id: uuid.UUID, factor: float, ahead_s: float = 0.0
    ) -> ReceptionStatus:
        """An FRBC instruction for the described actuator's mode mode_id."""
        desc = await self.wait_for(FRBCSystemDescription)
        return await self.send(self.instruction(desc.actuators[0].id, mode_id, factor, ahead_s))

    @staticmethod
    def instruction(
        actuator: uuid.UUID, mode_id: uuid.UUID, factor: float, ahead_s: float = 0.0
    ) -> FRBCInstruction:
        return FRBCInstruction(
            message_id=uuid.uuid4(),
            id=uuid.uuid4(),
            actuator_id=actuator,
            operation_mode=mode_id,
            operation_mode_factor=factor,
            execution_time=datetime.now(UTC) + timedelta(seconds=ahead_s),
            abnormal_condition=False,
        )

    def last_description(self) -> FRBCSystemDescription:
        return [m for m in self.received if isinstance(m, FRBCSystemDescription)][-1]

    async def close(self) -> None:
        await self.ws.close()


class MiniCem:
    """A WebSocket server that is a CEM to every RM that connects. token: a bearer token
    the RM must send (401 without it)."""

    def __init__(
        self,
        control_type: ControlType = ControlType.FILL_RATE_BASED_CONTROL,
        token: str | None = None,
    ) -> None:
        self.control_type = control_type
        self.token = token
        self.sessions: list[CemSession] = []
        self.refused = 0  # connections refused for the token
        self._server: Server | None = None

    def _check(self, ws: ServerConnection, request: Request) -> Response | None:
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            self.refused += 1
            return ws.respond(HTTPStatus.UNAUTHORIZED, "a bearer token is needed\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        session = CemSession(ws, self.control_type)
        self.sessions.append(session)
        await session.pump()

    async def start(self, port: int = 0, ssl: Any = None) -> int:
        self._server = await serve(
            self._handle, "127.0.0.1", port, process_request=self._check, ssl=ssl
        )
        return int(next(iter(self._server.sockets)).getsockname()[1])

    async def session(self, n: int = 0, timeout_s: float = 15.0) -> CemSession:
        """The n-th session (from 0), once it has its system description."""
        deadline = time.monotonic() + timeout_s
        while len(self.sessions) <= n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no session {n} within {timeout_s:g} s")
            await asyncio.sleep(0.01)
        s = self.sessions[n]
        await s.wait_for(DESCRIPTION[self.control_type], timeout_s=timeout_s)
        return s

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


# ---- the benchmark --------------------------------------------------------------------

NOON_S = 12 * 3600.0
POLL_S = 1.0
BAUD = 9600
CHARGE_W = 2000.0
PACE_S = 2.0  # after each trial: at most one instruction in 2 s, under the RM's limit


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[-1]


async def instruction_to_wire_ms(trials: int, seed: int = 1) -> list[float]:
    """Alternate idle and a 2 kW charge, each at a random moment of the poll cycle, and time
    from the CEM's send to the new 0x42 command's arrival at the emulated inverter."""
    from edge.clock import ScaledClock
    from edge.config import EdgeConfig
    from edge.drivers.sofar.driver import SofarDriver
    from edge.drivers.sofar.sim import SofarEmulator
    from edge.s2.battery import Mode
    from edge.s2.link import battery_of, keep_linked
    from edge.s2.status import LinkStatus
    from edge.sim.house import House, HouseParams
    from edge.sim.wire import Rs485Wire
    from edge.supervisor import Supervisor

    house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
    emu = SofarEmulator(house)
    wire = Rs485Wire(await emu.start(), baud=BAUD)
    cem = MiniCem()
    cem_port = await cem.start()
    cfg = EdgeConfig.model_validate(
        {
            "site": {"state_db": ":memory:"},
            "inverter": {"port": f"tcp://127.0.0.1:{await wire.start()}", "baud": BAUD},
            "dab": {"enabled": False},
            "mqtt": {"enabled": False},
            "policy": {"tick_s": POLL_S},
            "s2": {"enabled": True, "url": f"ws://127.0.0.1:{cem_port}/s2"},
        }
    )
    clock = ScaledClock(start_s=NOON_S, speed=1.0)
    sup = Supervisor(
        cfg, clock, SofarDriver(cfg.inverter, clock, poll_s=POLL_S), None, None, out=lambda _l: None
    )
    arrived: list[tuple[float, int]] = []
    emu.on_command = lambda _cmd, value: arrived.append((time.perf_counter(), value))
    stop = asyncio.Event()
    task = asyncio.create_task(sup.run(None, stop))
    link = asyncio.create_task(keep_linked(cfg, sup, LinkStatus()))
    ids = battery_of(cfg).ids
    rng = random.Random(seed)
    out: list[float] = []
    try:
        session = await cem.session()
        while not arrived:
            await asyncio.sleep(0.05)
        for k in range(trials):
            await asyncio.sleep(rng.uniform(0.0, POLL_S))
            mode, factor = (Mode.IDLE, 0.0) if k % 2 == 0 else (Mode.CHARGE, 0.0)
            if mode is Mode.CHARGE:
                top = session.last_description().actuators[0].operation_modes[0].elements[0]
                factor = min(1.0, CHARGE_W / max(1.0, top.power_ranges[0].end_of_range))
            n = len(arrived)
            t0 = time.perf_counter()
            status = await session.instruct(ids.mode(mode), factor)
            if status.status is not ReceptionStatusValues.OK:
                raise RuntimeError(f"instruction refused: {status.diagnostic_label}")
            while len(arrived) == n:
                await asyncio.sleep(0.001)
                if time.perf_counter() - t0 > 10 * POLL_S:
                    raise RuntimeError("no new battery command within 10 poll periods")
            out.append((arrived[n][0] - t0) * 1000.0)
            await asyncio.sleep(PACE_S)
    finally:
        link.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await link
        stop.set()
        await task
        await cem.stop()
        await wire.stop()
        await emu.stop()
    return out


def main(json_path: Path | None, quick: bool = False) -> int:
    times = asyncio.run(instruction_to_wire_ms(8 if quick else 40))
    results: dict[str, Any] = {
        "s2_instruction_to_wire_ms_median": round(statistics.median(times), 1),
        "s2_instruction_to_wire_ms_p95": round(_p95(times), 1),
        "s2_instruction_to_wire_ms_max": round(max(times), 1),
        "trials": len(times),
        "baud": BAUD,
        "poll_period_ms": round(POLL_S * 1000.0),
    }
    for key, value in results.items():
        print(f"{key:<36} {value:>10}")
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {json_path}")
    return 0
