"""The battery as an S2 FRBC resource (fill-rate based control), pure: what it tells the
CEM, and what an instruction becomes. No I/O; edge/s2/resource.py sends and receives.

Signs: S2 counts power + = consumed by the device, so a charging battery is +; edge counts
battery power + = discharge (edge/core/model.py). Everything below that carries an S2 value
says `s2` in its name; the rest is edge's sign.

The fill level is the state of charge in %. Three operation modes, on one actuator:
- charge: power 0 to what the battery may take now (the configured maximum, the BMS's live
  charge limit), up to the maximum SOC; an instruction's factor picks the power, which
  becomes a force charge of that power (the core charges at least that, more from a PV
  surplus, never past the window);
- idle: 0 W: a standby request;
- self-consumption: the core's own loop: the battery covers the house's demand (down to the
  reserve SOC, no further) and takes the PV surplus (up to the maximum SOC). Edge does not
  export from the battery, so the factor sets no power here: it is checked against what the
  battery may do now and refused where it points past the reserve or a BMS limit.
The anti-flip hold (policy.hold_s) is a timer that blocks a direct charge <-> self-consumption
change started less than hold_s ago.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from s2python.common import (
    Commodity,
    Duration,
    NumberRange,
    PowerMeasurement,
    PowerRange,
    PowerValue,
    Role,
    RoleType,
    Timer,
    Transition,
)
from s2python.frbc import (
    FRBCActuatorDescription,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCStorageStatus,
    FRBCSystemDescription,
    FRBCTimerStatus,
)
from s2python.message import S2MessageWithID

from edge.core.model import CoreConfig, CoreState, ProcessImage, RequestMode, Requests
from edge.core.policies import battery_window
from edge.s2.frbc import INVALID, QUANTITY, TEMPORARY, Plan, Refusal, ResourceIds


class Mode(StrEnum):
    CHARGE = "charge"
    IDLE = "idle"
    SELF_CONSUMPTION = "self-consumption"


@dataclass(frozen=True)
class BatteryIds(ResourceIds[Mode]):
    modes: type[Mode] = Mode

    @property
    def hold_timer(self) -> uuid.UUID:
        return self.of("timer/anti-flip hold")


@dataclass(frozen=True)
class BatteryNow:
    """What the battery may do now, from the process image and the core's own window
    (edge/core/policies.py battery_window): the same limits the core enforces."""

    soc_pct: float
    charge_max_w: float  # >= 0: what it may take now
    charge_why: str  # what sets that bound
    discharge_max_w: float  # >= 0
    discharge_why: str
    reserve_soc_pct: float
    max_soc_pct: float
    battery_w: float  # now, + = discharge
    hold_left_s: float = 0.0  # the anti-flip hold still running (0: none)


def battery_now(
    image: ProcessImage, cfg: CoreConfig, state: CoreState | None = None
) -> BatteryNow | None:
    """None without fresh inverter data (the core is in its safe state then). state: the
    core's, for the anti-flip hold's time left."""
    inv = image.inverter
    if inv is None or inv.age_s > cfg.inverter_stale_after_s:
        return None
    soc = inv.value.battery_soc_pct
    window = battery_window(image, soc, cfg)
    reserve = image.requests.reserve_soc_pct
    return BatteryNow(
        soc_pct=soc,
        charge_max_w=max(0.0, -window.lo_w),
        charge_why=window.lo_why,
        discharge_max_w=max(0.0, window.hi_w),
        discharge_why=window.hi_why,
        reserve_soc_pct=cfg.reserve_soc_pct if reserve is None else reserve,
        max_soc_pct=cfg.max_soc_pct,
        battery_w=inv.value.battery_power_w,
        hold_left_s=0.0 if state is None else max(0.0, state.last_flip_s + cfg.hold_s - image.t_s),
    )


@dataclass(frozen=True)
class Battery:
    """The battery's fixed facts: capacity and losses (the fill rates), the hold time. An
    FrbcDevice (edge/s2/frbc.py)."""

    ids: BatteryIds
    capacity_wh: float
    round_trip_efficiency: float  # 0..1, AC to AC; charge and discharge lose its root each
    hold_s: float
    label = "battery"
    control_type = "FRBC"
    role = Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)

    @property
    def resource_id(self) -> uuid.UUID:
        return self.ids.resource

    def snapshot(self, image: ProcessImage, cfg: CoreConfig, state: CoreState) -> BatteryNow | None:
        return battery_now(image, cfg, state)

    def changed(self, old: BatteryNow, new: BatteryNow) -> bool:
        return (
            abs(new.charge_max_w - old.charge_max_w) >= 10.0
            or abs(new.discharge_max_w - old.discharge_max_w) >= 10.0
            or (new.reserve_soc_pct, new.max_soc_pct) != (old.reserve_soc_pct, old.max_soc_pct)
        )

    def describe(self, now: BatteryNow, at: datetime) -> list[S2MessageWithID]:
        return [self.system_description(now, at)]

    def report(self, now: BatteryNow, at: datetime) -> list[S2MessageWithID]:
        measured = PowerMeasurement(
            message_id=uuid.uuid4(), measurement_timestamp=at, values=[power_value(now)]
        )
        out: list[S2MessageWithID] = [self.storage_status(now), measured]
        if now.hold_left_s > 0:  # the core's anti-flip hold runs: when it ends
            out.append(
                FRBCTimerStatus(
                    message_id=uuid.uuid4(),
                    timer_id=self.ids.hold_timer,
                    actuator_id=self.ids.actuator,
                    finished_at=at + timedelta(seconds=now.hold_left_s),
                )
            )
        return out

    def active_mode(self, req: Requests, t_s: float) -> str:
        return active_mode(req, t_s)

    def plan(
        self,
        msg: FRBCInstruction,
        described: BatteryNow | None,
        now: BatteryNow | None,
        req: Requests,
        t_s: float,
        ours_until_s: float | None,
    ) -> Plan | Refusal:
        return plan(self, msg, described or now or NO_LIMITS, now, req, t_s, ours_until_s)

    def fill_rate_pct_s(self, s2_power_w: float) -> float:
        """The SOC's rate of change (%/s) at an S2 power (+ = charging)."""
        one_way = math.sqrt(self.round_trip_efficiency)
        stored_w = s2_power_w * one_way if s2_power_w >= 0 else s2_power_w / one_way
        return stored_w / self.capacity_wh / 3600.0 * 100.0

    def element(
        self, lo_pct: float, hi_pct: float, lo_s2_w: float, hi_s2_w: float
    ) -> FRBCOperationModeElement:
        return FRBCOperationModeElement(
            fill_level_range=NumberRange(start_of_range=lo_pct, end_of_range=hi_pct),
            fill_rate=NumberRange(
                start_of_range=self.fill_rate_pct_s(lo_s2_w),
                end_of_range=self.fill_rate_pct_s(hi_s2_w),
            ),
            power_ranges=[
                PowerRange(
                    start_of_range=lo_s2_w, end_of_range=hi_s2_w, commodity_quantity=QUANTITY
                )
            ],
        )

    def modes(self, now: BatteryNow) -> list[FRBCOperationMode]:
        c, d = round(now.charge_max_w), round(now.discharge_max_w)
        reserve, top = now.reserve_soc_pct, now.max_soc_pct
        # Self-consumption by fill level: no discharge up to the reserve, no charge from
        # the maximum SOC on (what battery_window does at those levels).
        bands = [(0.0, reserve, 0.0, c), (reserve, top, -d, c), (top, 100.0, -d, 0.0)]
        own = [self.element(*b) for b in bands if b[1] > b[0]]
        return [
            FRBCOperationMode(
                id=self.ids.mode(Mode.CHARGE),
                diagnostic_label="charge (a force charge of the chosen power)",
                elements=[self.element(0.0, top, 0.0, c)],
                abnormal_condition_only=False,
            ),
            FRBCOperationMode(
                id=self.ids.mode(Mode.IDLE),
                diagnostic_label="idle (standby)",
                elements=[self.element(0.0, 100.0, 0.0, 0.0)],
                abnormal_condition_only=False,
            ),
            FRBCOperationMode(
                id=self.ids.mode(Mode.SELF_CONSUMPTION),
                diagnostic_label="self-consumption (the core's own loop; no export)",
                elements=own,
                abnormal_condition_only=False,
            ),
        ]

    def system_description(self, now: BatteryNow, at: datetime) -> FRBCSystemDescription:
        hold = Timer(
            id=self.ids.hold_timer,
            diagnostic_label="anti-flip hold",
            duration=Duration(root=round(self.hold_s * 1000.0)),
        )
        charge, idle, own = (self.ids.mode(m) for m in Mode)
        pairs = [(charge, idle), (idle, charge), (idle, own), (own, idle)]
        transitions = [self._transition(a, b, []) for a, b in pairs]
        transitions += [
            self._transition(charge, own, [hold.id]),
            self._transition(own, charge, [hold.id]),
        ]
        actuator = FRBCActuatorDescription(
            id=self.ids.actuator,
            diagnostic_label="battery inverter",
            supported_commodities=[Commodity.ELECTRICITY],
            operation_modes=self.modes(now),
            transitions=transitions,
            timers=[hold],
        )
        storage = FRBCStorageDescription(
            diagnostic_label="battery",
            fill_level_label="SOC %",
            provides_leakage_behaviour=False,
            provides_fill_level_target_profile=False,
            provides_usage_forecast=False,
            fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
        )
        return FRBCSystemDescription(
            message_id=uuid.uuid4(), valid_from=at, actuators=[actuator], storage=storage
        )

    def _transition(self, a: uuid.UUID, b: uuid.UUID, timers: list[uuid.UUID]) -> Transition:
        return Transition(
            id=self.ids.of(f"transition/{a}/{b}"),
            from_=a,
            to=b,
            start_timers=timers,
            blocking_timers=timers,
            abnormal_condition_only=False,
        )

    def storage_status(self, now: BatteryNow) -> FRBCStorageStatus:
        return FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=now.soc_pct)

    def actuator_status(self, mode: str, factor: float) -> FRBCActuatorStatus:
        return FRBCActuatorStatus(
            message_id=uuid.uuid4(),
            actuator_id=self.ids.actuator,
            active_operation_mode_id=self.ids.mode(Mode(mode)),
            operation_mode_factor=factor,
        )


def power_value(now: BatteryNow) -> PowerValue:
    """The battery's power now, in S2's sign (+ = charging)."""
    return PowerValue(commodity_quantity=QUANTITY, value=-now.battery_w)


def active_mode(req: Requests, t_s: float) -> Mode:
    """The mode the requests in force amount to."""
    if t_s < req.force_charge_until_s and req.force_charge_w > 0:
        return Mode.CHARGE
    if req.mode is RequestMode.STANDBY and t_s < req.mode_until_s:
        return Mode.IDLE
    return Mode.SELF_CONSUMPTION


def _cannot(verb: str, want_w: float, may_w: float, why: str) -> str:
    return f"{want_w:g} W asked: the battery may {verb} {may_w:g} W now ({why})"


def _within(x: float, r: NumberRange) -> bool:
    return r.start_of_range <= x <= r.end_of_range


def _point(lo_w: float, hi_w: float, factor: float) -> float:
    return lo_w + factor * (hi_w - lo_w)


def plan(
    battery: Battery,
    instruction: FRBCInstruction,
    described: BatteryNow,
    now: BatteryNow | None,
    req: Requests,
    t_s: float,
    ours_standby_until_s: float | None,
) -> Plan | Refusal:
    """What an instruction becomes, or why it cannot be honoured. described: the limits in
    the system description the CEM was last sent (its factor refers to those ranges);
    now: the limits at this moment (None: no inverter data). ours_standby_until_s: the
    expiry of the standby this RM set, if one is in force (a user's standby is theirs)."""
    ids = battery.ids
    if instruction.actuator_id != ids.actuator:
        return Refusal(INVALID, f"unknown actuator {instruction.actuator_id}")
    mode = ids.mode_of(instruction.operation_mode)
    if mode is None:
        return Refusal(
            INVALID,
            f"unknown operation mode {instruction.operation_mode}",
        )
    factor = instruction.operation_mode_factor
    if not 0.0 <= factor <= 1.0:
        return Refusal(
            INVALID,
            f"operation_mode_factor {factor:g}: allowed 0 to 1",
        )
    if now is None:
        return Refusal(
            TEMPORARY,
            "no fresh inverter data: the system is in its safe state",
        )
    if req.emergency_stop:
        return Refusal(
            TEMPORARY,
            "emergency stop latched: everything idle until cleared",
        )
    user_mode = req.mode if t_s < req.mode_until_s else RequestMode.AUTO
    theirs = user_mode is RequestMode.STANDBY and req.mode_until_s != ours_standby_until_s
    if user_mode is RequestMode.SELF_USE or theirs:
        return Refusal(
            TEMPORARY,
            f"the user asked for {user_mode.value} for {req.mode_until_s - t_s:.0f} s more",
        )
    ours_standby = ours_standby_until_s is not None and user_mode is RequestMode.STANDBY
    forcing = t_s < req.force_charge_until_s and req.force_charge_w > 0
    if mode is Mode.CHARGE:
        s2_w = round(_point(0.0, described.charge_max_w, factor))
        if s2_w > 0 and now.soc_pct >= now.max_soc_pct:
            return Refusal(
                TEMPORARY,
                f"battery at {now.soc_pct:g} %: {now.charge_why}",
            )
        if s2_w > now.charge_max_w:
            return Refusal(
                TEMPORARY,
                _cannot("take", s2_w, now.charge_max_w, now.charge_why),
            )
        if s2_w >= 1:
            cmds: list[tuple[str, str | float | bool]] = [("mode", "auto")] if ours_standby else []
            return Plan(mode, factor, s2_w, (*cmds, ("force_charge_w", float(s2_w))))
        mode = Mode.IDLE  # a charge of 0 W is idle
    if mode is Mode.IDLE:
        cmds = [("force_charge_w", 0.0)] if forcing else []
        return Plan(mode, factor, 0.0, (*cmds, ("mode", "standby")), holds="mode_until_s")
    bands = battery.modes(described)[2].elements
    band = next(
        (
            e
            for e in bands
            if e.fill_level_range.start_of_range
            <= described.soc_pct
            <= e.fill_level_range.end_of_range
        ),
        bands[-1],
    )
    rng = band.power_ranges[0]
    s2_w = round(_point(rng.start_of_range, rng.end_of_range, factor))
    if -s2_w > now.discharge_max_w:
        return Refusal(
            TEMPORARY,
            _cannot("give", -s2_w, now.discharge_max_w, now.discharge_why),
        )
    if s2_w > now.charge_max_w:
        return Refusal(
            TEMPORARY,
            _cannot("take", s2_w, now.charge_max_w, now.charge_why),
        )
    cmds = [("force_charge_w", 0.0)] if forcing else []
    if ours_standby:
        cmds.append(("mode", "auto"))
    return Plan(Mode.SELF_CONSUMPTION, factor, s2_w, tuple(cmds))


# Before any description and without data: limits of nothing (plan refuses for no data).
NO_LIMITS = BatteryNow(0.0, 0.0, "no data", 0.0, "no data", 0.0, 100.0, 0.0)
