"""The SG-Ready heat pump's OMBC description and what an instruction becomes
(edge/s2/heat_pump.py): every safety rule of the core's heat-pump policy refuses, with its
reason, what the core would not follow."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from s2python.ombc import OMBCInstruction, OMBCSystemDescription, OMBCTimerStatus

from edge.config import EdgeConfig
from edge.core.model import (
    CoreState,
    InverterReading,
    LoadsReading,
    ProcessImage,
    Requests,
    Sample,
    SgState,
)
from edge.s2.frbc import INVALID, TEMPORARY, Plan, Refusal
from edge.s2.heat_pump import HeatPump, HeatPumpIds, HpMode
from edge.settings import core_config

CFG = dataclasses.replace(core_config(EdgeConfig()), hp_enabled=True, dab_enabled=False)
# minimum on 600 s, off 300 s, 3 starts an hour (the defaults)
HP = HeatPump(HeatPumpIds(uuid.UUID(int=4)))
T = 10_000.0
RESTED = CoreState(hp_changed_s=T - 400.0)


def now_of(state: CoreState = RESTED, inverter_age_s: float = 0.5, cfg=CFG):
    inv = Sample(InverterReading(0.0, 0.0, 50.0, 500.0, 500.0), inverter_age_s)
    loads = Sample(LoadsReading(0.0, 1350.0, 50.0), 0.5)
    return HP.snapshot(ProcessImage(T, inv, None, loads=loads), cfg, state)


def order(mode: HpMode, factor: float = 1.0, mode_id: uuid.UUID | None = None) -> OMBCInstruction:
    return OMBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        operation_mode_id=mode_id or HP.ids.mode(mode),
        operation_mode_factor=factor,
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
    )


NO_REQUESTS = Requests()


def plan(mode: HpMode, state: CoreState = RESTED, req: Requests = NO_REQUESTS, **kw):
    now = now_of(state, **kw)
    return HP.plan(order(mode), now, now, req, T, None)


def test_four_modes_two_timers_and_the_transitions_they_block():
    desc = HP.describe(now_of(), datetime.now(UTC))[0]
    desc = OMBCSystemDescription.from_json(desc.to_json())
    names = [m.diagnostic_label.split(":")[1].split()[0] for m in desc.operation_modes]
    assert names == ["lock", "normal", "recommend", "force"]
    force = desc.operation_modes[3].power_ranges[0]
    assert (force.start_of_range, force.end_of_range) == (CFG.hp_power_w, CFG.hp_power_w)
    assert {t.duration.root for t in desc.timers} == {600_000, 300_000}
    by_pair = {(t.from_, t.to): t for t in desc.transitions}
    start = by_pair[(HP.ids.mode(HpMode.NORMAL), HP.ids.mode(HpMode.FORCE))]
    assert start.blocking_timers == [HP.ids.min_off] and start.start_timers == [HP.ids.min_on]
    stop = by_pair[(HP.ids.mode(HpMode.RECOMMEND), HP.ids.mode(HpMode.LOCK))]
    assert stop.blocking_timers == [HP.ids.min_on] and stop.start_timers == [HP.ids.min_off]
    free = by_pair[(HP.ids.mode(HpMode.RECOMMEND), HP.ids.mode(HpMode.FORCE))]
    assert free.blocking_timers == [] and len(desc.transitions) == 12


def test_the_running_timer_is_reported_with_its_end():
    just_on = CoreState(hp_state=SgState.RECOMMEND, hp_changed_s=T - 100.0)
    at = datetime.now(UTC)
    out = HP.report(now_of(just_on), at)
    timers = [m for m in out if isinstance(m, OMBCTimerStatus)]
    assert [t.timer_id for t in timers] == [HP.ids.min_on]
    assert (timers[0].finished_at - at).total_seconds() == 500.0


def test_a_start_is_the_timed_sg_request():
    p = plan(HpMode.FORCE)
    assert p == Plan(
        HpMode.FORCE,
        1.0,
        CFG.hp_power_w,
        (("heat_pump_sg", "force"),),
        holds="heat_pump_sg_until_s",
    )


def test_each_safety_rule_refuses_with_its_reason():
    cases = [
        (plan(HpMode.FORCE, CoreState(hp_changed_s=T - 100.0)), "minimum off time (300 s)"),
        (
            plan(HpMode.RECOMMEND, CoreState(hp_changed_s=T - 400.0, hp_starts_s=(T - 3000,) * 3)),
            "3 starts in the last hour, at most 3; the next in 600 s",
        ),
        (
            plan(HpMode.LOCK, CoreState(hp_state=SgState.FORCE, hp_changed_s=T - 100.0)),
            "minimum on time (600 s) runs 500 s more",
        ),
        (plan(HpMode.FORCE, req=Requests(emergency_stop=True)), "emergency stop"),
        (plan(HpMode.LOCK, CoreState(hp_state=SgState.LOCK)), "a lock is not renewed"),
        (plan(HpMode.FORCE, inverter_age_s=60.0), "safe state"),
        (
            plan(HpMode.FORCE, req=Requests(mode="standby", mode_until_s=T + 50)),
            "standby for 50 s more",
        ),
    ]
    for verdict, why in cases:
        assert isinstance(verdict, Refusal) and verdict.status is TEMPORARY, why
        assert why in verdict.reason


def test_what_is_not_a_start_or_a_stop_passes_the_timers():
    just_on = CoreState(hp_state=SgState.RECOMMEND, hp_changed_s=T - 10.0)
    assert isinstance(plan(HpMode.FORCE, just_on), Plan)
    just_off = CoreState(hp_changed_s=T - 10.0)
    assert isinstance(plan(HpMode.LOCK, just_off), Plan)


def test_unknown_modes_factors_and_a_site_without_a_heat_pump():
    now = now_of()
    r = HP.plan(order(HpMode.FORCE, mode_id=uuid.uuid4()), now, now, Requests(), T, None)
    assert isinstance(r, Refusal) and r.status is INVALID and "unknown operation mode" in r.reason
    r = HP.plan(order(HpMode.FORCE, factor=1.5), now, now, Requests(), T, None)
    assert isinstance(r, Refusal) and r.status is INVALID
    assert now_of(cfg=dataclasses.replace(CFG, hp_enabled=False)) is None
    r = HP.plan(order(HpMode.FORCE), None, None, Requests(), T, None)
    assert isinstance(r, Refusal) and r.status is TEMPORARY
