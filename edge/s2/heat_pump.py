"""The SG-Ready heat pump as an S2 OMBC resource (operation-mode based control), pure: what it
tells the CEM, and what an instruction becomes. An FrbcDevice (edge/s2/frbc.py).

SG-Ready's four states are the four operation modes (loads-baseline-s2.md §2.1): lock (the
utility's block: 0 W), normal (the heat pump's own thermostat: 0 to its power), recommend
(run if it can: 0 to its power), force (run: its power). An instruction becomes the timed
heat_pump_sg request (edge/mqtt/commands.py) for instruction_valid_s, which the core applies
within the same minimum on and off times and starts per hour as its own surplus rule
(edge/core/policies.py planned_heat_pump). So an instruction the core would not follow now
is refused here, with what stands in the way and for how long.

The minimum on and off times are S2 timers: a start (lock or normal to recommend or force)
is blocked by the minimum-off timer and starts the minimum-on timer; a stop the reverse.
S2 has no field for the starts per hour: a start past them is refused, with the time the
oldest start of the hour leaves it. SG-Ready allows a lock of at most 2 h
(docs/reference/loads-baseline-s2.md §2.1): a lock is not renewed while the heat pump is
locked, so one lasts at most instruction_valid_s (at most 1 h).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from s2python.common import (
    Commodity,
    Duration,
    PowerMeasurement,
    PowerRange,
    PowerValue,
    Role,
    RoleType,
    Timer,
    Transition,
)
from s2python.message import S2MessageWithID
from s2python.ombc import (
    OMBCInstruction,
    OMBCOperationMode,
    OMBCStatus,
    OMBCSystemDescription,
    OMBCTimerStatus,
)

from edge.core.model import CoreConfig, CoreState, ProcessImage, RequestMode, Requests, SgState
from edge.core.policies import SG_RUNS, requested_heat_pump, stale_data
from edge.s2.frbc import INVALID, QUANTITY, TEMPORARY, Plan, Refusal, ResourceIds

HOUR_S = 3600.0


class HpMode(StrEnum):
    LOCK = SgState.LOCK.value
    NORMAL = SgState.NORMAL.value
    RECOMMEND = SgState.RECOMMEND.value
    FORCE = SgState.FORCE.value


RUNS = tuple(HpMode(s.value) for s in SG_RUNS)


@dataclass(frozen=True)
class HeatPumpIds(ResourceIds[HpMode]):
    modes: type[HpMode] = HpMode

    @property
    def min_on(self) -> uuid.UUID:
        return self.of("timer/minimum on")

    @property
    def min_off(self) -> uuid.UUID:
        return self.of("timer/minimum off")


@dataclass(frozen=True)
class HeatPumpNow:
    """The heat pump's state in the core and its limits (CoreConfig's hp_*)."""

    state: HpMode  # what the core sends now
    on_left_s: float  # the minimum on time still to run (0: none)
    off_left_s: float  # the minimum off time still to run
    starts_in_hour: int
    next_start_free_s: float  # when the oldest start of the hour leaves it (from now)
    power_w: float  # rated, when running
    measured_w: float | None  # the loads' reading, where fresh
    min_on_s: float
    min_off_s: float
    max_starts_per_h: int
    unsafe: str | None  # why the core is in its safe state now, if it is


@dataclass(frozen=True)
class HeatPump:
    ids: HeatPumpIds
    label = "heat pump"
    control_type = "OMBC"
    role = Role(role=RoleType.ENERGY_CONSUMER, commodity=Commodity.ELECTRICITY)

    @property
    def resource_id(self) -> uuid.UUID:
        return self.ids.resource

    def snapshot(
        self, image: ProcessImage, cfg: CoreConfig, state: CoreState
    ) -> HeatPumpNow | None:
        """None where the site has no heat pump the core drives."""
        if not cfg.hp_enabled:
            return None
        t = image.t_s
        starts = sorted(s for s in state.hp_starts_s if t - s < HOUR_S)
        since_s = t - state.hp_changed_s
        running = state.hp_state in SG_RUNS
        loads = image.loads
        fresh = loads is not None and loads.age_s <= cfg.loads_stale_after_s
        return HeatPumpNow(
            state=HpMode(state.hp_state.value),
            on_left_s=max(0.0, cfg.hp_min_on_s - since_s) if running else 0.0,
            off_left_s=0.0 if running else max(0.0, cfg.hp_min_off_s - since_s),
            starts_in_hour=len(starts),
            next_start_free_s=max(0.0, starts[0] + HOUR_S - t) if starts else 0.0,
            power_w=cfg.hp_power_w,
            measured_w=loads.value.heat_pump_w if fresh and loads is not None else None,
            min_on_s=cfg.hp_min_on_s,
            min_off_s=cfg.hp_min_off_s,
            max_starts_per_h=cfg.hp_max_starts_per_h,
            unsafe=stale_data(image, cfg),
        )

    def changed(self, old: HeatPumpNow, new: HeatPumpNow) -> bool:
        fixed = ("power_w", "min_on_s", "min_off_s", "max_starts_per_h")
        return any(getattr(old, k) != getattr(new, k) for k in fixed)

    def _mode(self, mode: HpMode, lo_w: float, hi_w: float, label: str) -> OMBCOperationMode:
        return OMBCOperationMode(
            id=self.ids.mode(mode),
            diagnostic_label=label,
            power_ranges=[
                PowerRange(start_of_range=lo_w, end_of_range=hi_w, commodity_quantity=QUANTITY)
            ],
            abnormal_condition_only=False,
        )

    def _transition(self, a: HpMode, b: HpMode) -> Transition:
        start, stop = a not in RUNS and b in RUNS, a in RUNS and b not in RUNS
        on, off = self.ids.min_on, self.ids.min_off
        return Transition(
            id=self.ids.of(f"transition/{a.value}/{b.value}"),
            from_=self.ids.mode(a),
            to=self.ids.mode(b),
            start_timers=[on] if start else [off] if stop else [],
            blocking_timers=[off] if start else [on] if stop else [],
            abnormal_condition_only=False,
        )

    def describe(self, now: HeatPumpNow, at: datetime) -> list[S2MessageWithID]:
        p = now.power_w
        modes = [
            self._mode(HpMode.LOCK, 0.0, 0.0, "SG-Ready 1: lock (blocked)"),
            self._mode(HpMode.NORMAL, 0.0, p, "SG-Ready 2: normal (its own thermostat)"),
            self._mode(HpMode.RECOMMEND, 0.0, p, "SG-Ready 3: recommend (run if it can)"),
            self._mode(HpMode.FORCE, p, p, "SG-Ready 4: force (run)"),
        ]
        timers = [
            Timer(
                id=self.ids.min_on,
                diagnostic_label="minimum on time",
                duration=Duration(root=round(now.min_on_s * 1000.0)),
            ),
            Timer(
                id=self.ids.min_off,
                diagnostic_label="minimum off time",
                duration=Duration(root=round(now.min_off_s * 1000.0)),
            ),
        ]
        transitions = [self._transition(a, b) for a in HpMode for b in HpMode if a is not b]
        return [
            OMBCSystemDescription(
                message_id=uuid.uuid4(),
                valid_from=at,
                operation_modes=modes,
                transitions=transitions,
                timers=timers,
            )
        ]

    def report(self, now: HeatPumpNow, at: datetime) -> list[S2MessageWithID]:
        out: list[S2MessageWithID] = []
        if now.measured_w is not None:
            power = PowerValue(commodity_quantity=QUANTITY, value=now.measured_w)
            out.append(
                PowerMeasurement(message_id=uuid.uuid4(), measurement_timestamp=at, values=[power])
            )
        for timer, left_s in ((self.ids.min_on, now.on_left_s), (self.ids.min_off, now.off_left_s)):
            if left_s > 0:
                out.append(
                    OMBCTimerStatus(
                        message_id=uuid.uuid4(),
                        timer_id=timer,
                        finished_at=at + timedelta(seconds=left_s),
                    )
                )
        return out

    def actuator_status(self, mode: str, factor: float) -> OMBCStatus:
        return OMBCStatus(
            message_id=uuid.uuid4(),
            active_operation_mode_id=str(self.ids.mode(HpMode(mode))),  # an ID here is text
            operation_mode_factor=factor,
        )

    def active_mode(self, req: Requests, t_s: float) -> str:
        asked = requested_heat_pump(req, t_s)
        return HpMode.NORMAL if asked is None else HpMode(asked.value)

    def plan(
        self,
        msg: OMBCInstruction,
        described: HeatPumpNow | None,
        now: HeatPumpNow | None,
        req: Requests,
        t_s: float,
        ours_until_s: float | None,
    ) -> Plan | Refusal:
        mode = self.ids.mode_of(msg.operation_mode_id)
        if mode is None:
            return Refusal(INVALID, f"unknown operation mode {msg.operation_mode_id}")
        factor = msg.operation_mode_factor
        if not 0.0 <= factor <= 1.0:
            return Refusal(INVALID, f"operation_mode_factor {factor:g}: allowed 0 to 1")
        if now is None:
            return Refusal(TEMPORARY, "the heat pump is not driven by edge now")
        if req.emergency_stop:
            return Refusal(TEMPORARY, "emergency stop latched: everything idle until cleared")
        if now.unsafe is not None:
            return Refusal(TEMPORARY, f"safe state ({now.unsafe}): the heat pump stays normal")
        if req.mode is RequestMode.STANDBY and t_s < req.mode_until_s and mode in RUNS:
            return Refusal(
                TEMPORARY, f"the user asked for standby for {req.mode_until_s - t_s:.0f} s more"
            )
        if mode is HpMode.LOCK and now.state is HpMode.LOCK:
            return Refusal(
                TEMPORARY,
                "locked already: a lock is not renewed (SG-Ready allows one of at most 2 h;"
                " each lasts instruction_valid_s, at most 1 h)",
            )
        start, stop = now.state not in RUNS and mode in RUNS, now.state in RUNS and mode not in RUNS
        if start and now.off_left_s > 0:
            return Refusal(
                TEMPORARY,
                f"{mode.value}: a start, but its minimum off time"
                f" ({now.min_off_s:g} s) runs {now.off_left_s:.0f} s more",
            )
        if start and now.starts_in_hour >= now.max_starts_per_h:
            return Refusal(
                TEMPORARY,
                f"{mode.value}: {now.starts_in_hour} starts in the last hour, at most"
                f" {now.max_starts_per_h}; the next in {now.next_start_free_s:.0f} s",
            )
        if stop and now.on_left_s > 0:
            return Refusal(
                TEMPORARY,
                f"{mode.value}: a stop, but its minimum on time"
                f" ({now.min_on_s:g} s) runs {now.on_left_s:.0f} s more",
            )
        s2_w = now.power_w if mode is HpMode.FORCE else 0.0
        commands = (("heat_pump_sg", mode.value),)
        return Plan(mode, factor, s2_w, commands, holds="heat_pump_sg_until_s")
