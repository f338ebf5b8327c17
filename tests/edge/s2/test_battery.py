"""The battery's FRBC description and what an instruction becomes (edge/s2/battery.py), on
the core's own window: the numbers below are the config's and the BMS's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from s2python.common import ReceptionStatusValues
from s2python.frbc import FRBCInstruction, FRBCSystemDescription, FRBCTimerStatus

from edge.config import EdgeConfig
from edge.core.model import (
    BmsReading,
    CoreState,
    InverterReading,
    ProcessImage,
    RequestMode,
    Requests,
    Sample,
)
from edge.s2.battery import Battery, BatteryIds, Mode, Plan, Refusal, active_mode, battery_now, plan
from edge.settings import core_config

CFG = core_config(EdgeConfig())  # 3000 W each way, reserve 20 %, max 100 %
BATTERY = Battery(BatteryIds(uuid.UUID(int=7)), 4800.0, 0.81, 60.0)


def now_at(soc_pct: float, bms_charge_w: float = 1500.0, req: Requests | None = None):
    inv = InverterReading(
        grid_power_w=0.0,
        battery_power_w=0.0,
        battery_soc_pct=soc_pct,
        load_power_w=500.0,
        pv_power_w=500.0,
    )
    bms = Sample(BmsReading(bms_charge_w, 2500.0), 0.5)
    image = ProcessImage(100.0, Sample(inv, 0.5), None, bms, requests=req or Requests())
    now = battery_now(image, CFG)
    assert now is not None
    return now


def instruction(mode: Mode, factor: float) -> FRBCInstruction:
    return FRBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        actuator_id=BATTERY.ids.actuator,
        operation_mode=BATTERY.ids.mode(mode),
        operation_mode_factor=factor,
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
    )


def test_the_description_carries_the_core_window_and_round_trips_through_json():
    now = now_at(50.0)
    assert (now.charge_max_w, now.charge_why) == (1500.0, "BMS charge limit")
    assert now.discharge_max_w == 2500.0
    desc = BATTERY.system_description(now, datetime.now(UTC))
    again = FRBCSystemDescription.from_json(desc.to_json())  # valid S2, as a CEM parses it
    charge, idle, own = again.actuators[0].operation_modes
    assert charge.elements[0].power_ranges[0].end_of_range == 1500.0
    assert idle.elements[0].power_ranges[0].end_of_range == 0.0
    # self-consumption by fill level: no discharge below the 20 % reserve
    bands = [
        (e.fill_level_range.start_of_range, e.power_ranges[0].start_of_range) for e in own.elements
    ]
    assert bands == [(0.0, 0.0), (20.0, -2500.0)]
    hold = again.actuators[0].timers[0]
    assert hold.duration.root == 60000
    blocked = [t for t in again.actuators[0].transitions if t.blocking_timers]
    assert {(t.from_, t.to) for t in blocked} == {
        (BATTERY.ids.mode(Mode.CHARGE), BATTERY.ids.mode(Mode.SELF_CONSUMPTION)),
        (BATTERY.ids.mode(Mode.SELF_CONSUMPTION), BATTERY.ids.mode(Mode.CHARGE)),
    }


def test_fill_rates_carry_the_losses():
    # 81 % round trip: 90 % each way; 4800 Wh; 1000 W in stores 900 W
    assert BATTERY.fill_rate_pct_s(1000.0) == pytest.approx(900.0 / 4800.0 / 36.0)
    assert BATTERY.fill_rate_pct_s(-900.0) == pytest.approx(-1000.0 / 4800.0 / 36.0)


def test_a_charge_becomes_a_force_charge_of_the_chosen_power():
    now = now_at(50.0)
    p = plan(BATTERY, instruction(Mode.CHARGE, 0.5), now, now, Requests(), 100.0, None)
    assert p == Plan(Mode.CHARGE, 0.5, 750.0, (("force_charge_w", 750.0),))


def test_a_charge_past_the_bms_limit_of_now_is_refused_with_the_reason():
    described = now_at(50.0, bms_charge_w=3000.0)
    now = now_at(50.0, bms_charge_w=1000.0)
    r = plan(BATTERY, instruction(Mode.CHARGE, 0.5), described, now, Requests(), 100.0, None)
    assert isinstance(r, Refusal) and r.status is ReceptionStatusValues.TEMPORARY_ERROR
    assert r.reason == "1500 W asked: the battery may take 1000 W now (BMS charge limit)"


def test_a_discharge_below_the_reserve_is_refused():
    described = now_at(50.0)
    now = now_at(19.0)
    r = plan(
        BATTERY, instruction(Mode.SELF_CONSUMPTION, 0.0), described, now, Requests(), 100.0, None
    )
    assert isinstance(r, Refusal)
    assert (
        r.reason
        == "2500 W asked: the battery may give 0 W now (reserve SOC 20 % reached: no discharge)"
    )


def test_idle_and_back_to_self_consumption():
    now = now_at(50.0)
    idle = plan(BATTERY, instruction(Mode.IDLE, 0.0), now, now, Requests(), 100.0, None)
    assert isinstance(idle, Plan) and idle.commands == (("mode", "standby"),)
    ours = Requests(mode=RequestMode.STANDBY, mode_until_s=400.0)
    back = plan(BATTERY, instruction(Mode.SELF_CONSUMPTION, 0.8), now, now, ours, 100.0, 400.0)
    assert isinstance(back, Plan) and back.commands == (("mode", "auto"),)
    assert (
        active_mode(ours, 100.0) is Mode.IDLE and active_mode(ours, 400.0) is Mode.SELF_CONSUMPTION
    )


@pytest.mark.parametrize(
    ("req", "why"),
    [
        (Requests(emergency_stop=True), "emergency stop latched"),
        (Requests(mode=RequestMode.SELF_USE, mode_until_s=700.0), "the user asked for self_use"),
        (Requests(mode=RequestMode.STANDBY, mode_until_s=700.0), "the user asked for standby"),
    ],
)
def test_the_users_stop_and_modes_win(req, why):
    now = now_at(50.0)
    r = plan(BATTERY, instruction(Mode.CHARGE, 1.0), now, now, req, 100.0, None)
    assert isinstance(r, Refusal) and r.reason.startswith(why)


def test_unknown_ids_and_factors_are_invalid_content():
    now = now_at(50.0)
    good = instruction(Mode.CHARGE, 1.0).to_dict()
    bad_mode = FRBCInstruction.from_dict({**good, "operation_mode": str(uuid.uuid4())})
    for msg in (bad_mode, instruction(Mode.CHARGE, 1.5)):
        r = plan(BATTERY, msg, now, now, Requests(), 100.0, None)
        assert isinstance(r, Refusal) and r.status is ReceptionStatusValues.INVALID_CONTENT
    r = plan(BATTERY, instruction(Mode.CHARGE, 1.0), now, None, Requests(), 100.0, None)
    assert isinstance(r, Refusal) and "no fresh inverter data" in r.reason


def test_the_anti_flip_hold_is_reported_as_its_timer_running():
    inv = InverterReading(0.0, -500.0, 50.0, 500.0, 1000.0)
    image = ProcessImage(100.0, Sample(inv, 0.5), None, requests=Requests())
    flipped = CoreState(battery_sign=-1, last_flip_s=80.0)  # 20 s ago, hold 60 s
    now = BATTERY.snapshot(image, CFG, flipped)
    assert now is not None and now.hold_left_s == 40.0
    at = datetime.now(UTC)
    timers = [m for m in BATTERY.report(now, at) if isinstance(m, FRBCTimerStatus)]
    assert [(t.timer_id, t.finished_at) for t in timers] == [
        (BATTERY.ids.hold_timer, at + timedelta(seconds=40.0))
    ]
    quiet = BATTERY.snapshot(image, CFG, CoreState(last_flip_s=0.0))  # 100 s ago: over
    assert quiet is not None and not any(
        isinstance(m, FRBCTimerStatus) for m in BATTERY.report(quiet, at)
    )
