"""The tank's FRBC description and what an instruction becomes (edge/s2/tank.py)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from s2python.frbc import (
    FRBCInstruction,
    FRBCLeakageBehaviour,
    FRBCSystemDescription,
    FRBCUsageForecast,
)

from edge.config import EdgeConfig
from edge.core.model import CoreState, InverterReading, LoadsReading, ProcessImage, Requests, Sample
from edge.s2.frbc import Plan, Refusal
from edge.s2.tank import (
    WATER_KWH_PER_L_K,
    DrawForecast,
    Tank,
    TankIds,
    TankMode,
    usage_forecast,
)
from edge.settings import core_config

CFG = core_config(EdgeConfig())  # element 3000 W, tank maximum 60 °C
TANK = Tank(TankIds(uuid.UUID(int=3)), volume_l=150.0, comfort_min_degc=45.0, standing_loss_w=60.0)


def now_at(temp_degc: float | None):
    inv = Sample(InverterReading(0.0, 0.0, 50.0, 500.0, 500.0), 0.5)
    loads = Sample(LoadsReading(0.0, 0.0, temp_degc), 0.5)
    return TANK.snapshot(ProcessImage(10.0, inv, None, loads=loads), CFG, CoreState())


def instruction(mode_id: uuid.UUID) -> FRBCInstruction:
    return FRBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        actuator_id=TANK.ids.actuator,
        operation_mode=mode_id,
        operation_mode_factor=1.0,
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
    )


def test_the_fill_level_is_the_heat_above_the_comfort_minimum():
    # 4.18 kJ/(kg K) x 0.99 kg/l: 150 l warmed 15 K stores 2.59 kWh
    assert pytest.approx(0.0011495, rel=1e-4) == WATER_KWH_PER_L_K
    assert TANK.heat_kwh(60.0) == pytest.approx(150 * 15 * 4.18 * 0.99 / 3600)
    now = now_at(50.0)
    desc, leak = TANK.describe(now, datetime.now(UTC))
    desc = FRBCSystemDescription.from_json(desc.to_json())
    assert desc.storage.fill_level_range.start_of_range == pytest.approx(TANK.heat_kwh(10.0))
    assert desc.storage.fill_level_range.end_of_range == pytest.approx(TANK.heat_kwh(60.0))
    surplus, boost = desc.actuators[0].operation_modes
    assert surplus.elements[0].power_ranges[0].end_of_range == 3000.0
    assert boost.elements[0].fill_rate.start_of_range == pytest.approx(3000.0 / 3.6e6)
    leak = FRBCLeakageBehaviour.from_json(leak.to_json())
    assert leak.elements[0].leakage_rate == pytest.approx(60.0 / 3.6e6)
    level = TANK.report(now, datetime.now(UTC))[0]
    assert level.present_fill_level == pytest.approx(TANK.heat_kwh(50.0))


def test_a_boost_is_the_boost_request_and_the_tank_maximum_refuses_it():
    p = TANK.plan(
        instruction(TANK.ids.mode(TankMode.BOOST)), None, now_at(50.0), Requests(), 10.0, None
    )
    assert p == Plan(
        TankMode.BOOST, 1.0, 3000.0, (("boost_hot_water", "PRESS"),), "boost_hot_water_until_s"
    )
    r = TANK.plan(
        instruction(TANK.ids.mode(TankMode.BOOST)), None, now_at(60.0), Requests(), 10.0, None
    )
    assert isinstance(r, Refusal) and r.reason == "tank at 60.0 °C, its maximum 60 °C"
    r = TANK.plan(
        instruction(TANK.ids.mode(TankMode.BOOST)),
        None,
        now_at(50.0),
        Requests(diverter_enabled=False),
        10.0,
        None,
    )
    assert isinstance(r, Refusal) and r.reason == "the user switched the diverter off"
    assert now_at(None) is None  # no probe: no fill level, nothing described
    r = TANK.plan(instruction(TANK.ids.mode(TankMode.BOOST)), None, None, Requests(), 10.0, None)
    assert isinstance(r, Refusal) and "no fresh tank temperature" in r.reason


def test_surplus_cannot_end_a_running_boost_early():
    boosting = Requests(boost_hot_water_until_s=310.0)
    r = TANK.plan(
        instruction(TANK.ids.mode(TankMode.SURPLUS)), None, now_at(50.0), boosting, 10.0, 310.0
    )
    assert isinstance(r, Refusal) and r.reason.startswith("a boost runs 300 s more")
    p = TANK.plan(
        instruction(TANK.ids.mode(TankMode.SURPLUS)), None, now_at(50.0), boosting, 310.0, 310.0
    )
    assert isinstance(p, Plan) and p.commands == ()


def test_the_draw_forecast_maps_to_usage_rates_within_the_element():
    # 1800 s slots: 750 Wh is 1500 W; 9000 Wh would be 18 kW, more than the 3 kW element
    f = DrawForecast(1_800_000_000.0, 1800.0, (0.0, 750.0, 9000.0, -5.0, float("nan")))
    msg = FRBCUsageForecast.from_json(usage_forecast(f, 3000.0).to_json())
    assert msg.start_time == datetime.fromtimestamp(1_800_000_000.0, UTC)
    assert [e.duration.root for e in msg.elements] == [1_800_000] * 5
    rates_w = [e.usage_rate_expected * 3.6e6 for e in msg.elements]
    assert rates_w == pytest.approx([0.0, 1500.0, 3000.0, 0.0, 0.0])


def test_the_usage_forecast_is_offered_only_with_a_history():
    now = now_at(50.0)
    at = datetime.now(UTC)
    assert len(TANK.describe(now, at)) == 2  # no history: no forecast, none promised
    desc = TANK.describe(now, at)[0]
    assert isinstance(desc, FRBCSystemDescription) and not desc.storage.provides_usage_forecast
    seen: list[float] = []

    def draws(now_s: float) -> DrawForecast:
        seen.append(now_s)
        return DrawForecast(now_s - now_s % 1800.0, 1800.0, (100.0, 200.0))

    with_history = replace(TANK, draws=draws)
    desc, _leak, usage = with_history.describe(now, at)
    assert isinstance(desc, FRBCSystemDescription) and desc.storage.provides_usage_forecast
    assert isinstance(usage, FRBCUsageForecast) and len(usage.elements) == 2
    assert seen == [at.timestamp()]
    empty = replace(TANK, draws=lambda now_s: DrawForecast(now_s, 1800.0, ()))
    assert len(empty.describe(now, at)) == 2


def test_with_a_history_the_tank_is_described_again_each_half_hour():
    def at_s(t_s: float, tank: Tank = TANK):
        inv = Sample(InverterReading(0.0, 0.0, 50.0, 500.0, 500.0), 0.5)
        loads = Sample(LoadsReading(0.0, 0.0, 50.0), 0.5)
        return tank.snapshot(ProcessImage(t_s, inv, None, loads=loads), CFG, CoreState())

    with_history = replace(TANK, draws=lambda now_s: None)
    assert not with_history.changed(at_s(10.0), at_s(1799.0))
    assert with_history.changed(at_s(1799.0), at_s(1800.0))
    assert not TANK.changed(at_s(1799.0), at_s(1800.0))  # nothing to forecast from
