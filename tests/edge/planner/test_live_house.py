"""The heat pump in the live planner: the house from the site file ([planner.house]), its
temperature from MQTT through the real Mosquitto, the outside temperature from a local
Open-Meteo server, the real HiGHS model and the real core. On Economy 7 in winter the
plan pre-heats the house in the cheap night (SG-Ready RECOMMEND or FORCE there, never in
the dear day); without a reading, or with a stale one, it plans without the heat pump
and the status and the log say why, once."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge.config import EdgeConfig, HouseConfig, SourcesConfig, parse_config
from edge.core import CoreState, decide
from edge.core.model import LoadsReading, ProcessImage, Sample, SgState
from edge.planner.chart import from_document
from edge.planner.live import LivePlanner
from edge.planner.model import Plan, PlanInputs
from edge.planner.model import solve as highs_solve
from edge.planner.site import bands_of, house_of
from edge.planner.status import PlanStatus, plan_document
from edge.planner.tariffs import SLOT_S
from edge.settings import core_config
from edge.sources.runner import SourcesRunner
from edge.sources.series import TemperatureSeries
from tests.asyncwait import wait_until
from tests.edge.planner.test_live import clock_at, image_at, in_loop
from tests.edge.sources.conftest import open_meteo

# 2025-01-06 22:10 UTC, a Monday in winter (GMT: the site's clock is UTC).
WALL_S = 1_736_201_400.0
TOPIC = "home/living_room/temperature"
T_OUT_DEGC = 2.0
NIGHT_H = (0.5, 7.5)  # Economy 7's cheap hours in tariffs.py (00:30-07:30)


def site(mosquitto: Any, httpserver: Any, **house: object) -> EdgeConfig:
    return parse_config(
        {
            "planner": {"enabled": True, "house": {"enabled": True, **house}},
            "tariff": {"kind": "economy7", "day_p_per_kwh": 30.0, "night_p_per_kwh": 10.0},
            "loads": {"diverter": {"enabled": False}, "heat_pump": {"enabled": True}},
            "dab": {"enabled": False},
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "sources": {
                "pv": "open_meteo",
                "open_meteo_url": httpserver.url_for("/").rstrip("/"),
                "http_attempts": 1,
                "indoor_temp_topic": TOPIC,
                "indoor_temp_stale_after_s": 1800.0,
            },
        }
    )


def winter_forecast(httpserver: Any) -> None:
    """Two days of dark, cold weather (no PV: the night and the day are the tariff's)."""
    start = math.floor(WALL_S / 3600.0) * 3600.0 - 3600.0
    hours = 52
    httpserver.expect_request("/v1/forecast").respond_with_json(
        open_meteo(start, [0.0] * hours, [T_OUT_DEGC] * hours)
    )


async def published(mosquitto: Any, payload: bytes, until: Any) -> None:
    """The reading published every 0.2 s until until() holds: a reading counts only when
    published while the runner is subscribed (a retained one is of unknown age)."""
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    try:
        deadline = asyncio.get_running_loop().time() + 10.0
        while not until():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the reading {payload!r} did not arrive")
            pub.publish(TOPIC, payload, qos=1).wait_for_publish(5)
            await asyncio.sleep(0.2)
    finally:
        pub.loop_stop()
        pub.disconnect()


def night(t_utc_s: float) -> bool:
    h = (t_utc_s % 86400.0) / 3600.0
    return NIGHT_H[0] <= h < NIGHT_H[1]


def k_of(f: Any, t_utc_s: float) -> int:
    return f.slots_utc_s.index(t_utc_s)


def with_heat_pump(image: ProcessImage, heat_pump_w: float = 0.0) -> ProcessImage:
    loads = Sample(LoadsReading(heater_w=0.0, heat_pump_w=heat_pump_w), image.t_s)
    return ProcessImage(image.t_s, image.inverter, image.bms, loads=loads, plan=image.plan)


def recording_solve() -> tuple[list[PlanInputs], Callable[[PlanInputs], Plan | None]]:
    """HiGHS's solve, keeping each plan's inputs in the list it returns with it."""
    seen: list[PlanInputs] = []

    def solve(inp: PlanInputs) -> Plan | None:
        seen.append(inp)
        return highs_solve(inp)

    return seen, solve


async def started(mosquitto: Any, httpserver: Any, cfg: EdgeConfig, **kw: Any) -> Any:
    clock, mono = clock_at(WALL_S)
    runner = SourcesRunner(cfg, clock, client_id="edge-livehp-test")
    planner = LivePlanner(cfg, clock, runner, PlanStatus(), local_offset_s=lambda _t: 0.0, **kw)
    winter_forecast(httpserver)
    await runner.refresh_pv()
    assert runner.t_out.value is not None
    planner.observe(with_heat_pump(image_at(clock.now_s())))
    return clock, mono, runner, planner


def test_the_house_model_is_the_site_file_s_in_the_model_s_units(tmp_path):
    cfg = parse_config(
        {
            "planner": {
                "house": {"enabled": True, "capacity_kwh_per_k": 10.0, "setpoint_degc": 21}
            },
            "loads": {"heat_pump": {"enabled": True, "min_on_s": 900.0}},
        }
    )
    house = house_of(cfg)
    assert house is not None
    assert house.c_j_per_k == pytest.approx(36e6)  # 10 kWh/K
    assert house.min_on_s == 900.0
    bands = bands_of(cfg)
    # setpoint 21, hysteresis 0.5, RECOMMEND raises by 2 K
    assert (bands.floor_degc, bands.normal_top_degc) == (20.5, 21.5)
    assert (bands.recommend_on_degc, bands.recommend_top_degc) == (22.5, 23.5)
    # Off unless given, and only with the heat pump itself enabled.
    assert house_of(parse_config({"loads": {"heat_pump": {"enabled": True}}})) is None
    assert house_of(parse_config({"planner": {"house": {"enabled": True}}})) is None


def test_the_example_site_file_s_commented_house_is_a_valid_one():
    import tomllib

    text = (Path(__file__).parents[3] / "edge" / "examples" / "simulated-house.toml").read_text()
    block = text[text.index("# [planner.house]") :].split("\n\n")[0]
    data = tomllib.loads("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    cfg = parse_config(data)
    assert cfg.planner.house.enabled and cfg.sources.indoor_temp_topic is not None
    # Its values are the defaults docs/planner.md gives (the simulated house's).
    assert cfg.planner.house == HouseConfig(enabled=True)
    assert cfg.sources.indoor_temp_stale_after_s == SourcesConfig().indoor_temp_stale_after_s


@pytest.mark.parametrize(
    ("house", "why"),
    [
        ({"floor_degc": 23.0}, "planner.house.floor_degc (23) must be below"),
        ({"setpoint_degc": 24.0, "ceiling_degc": 23.5}, "planner.house.setpoint_degc (24)"),
        ({"heat_w": 0}, "planner.house.heat_w = 0: Input should be greater than 0"),
        ({"loss_w_per_k": "150"}, "planner.house.loss_w_per_k = '150': Input should be a valid"),
        ({"capacity_kwh_per_k": 500}, "planner.house.capacity_kwh_per_k = 500: Input should be"),
        ({"cop_at_7c_out": 0.5}, "planner.house.cop_at_7c_out = 0.5: Input should be greater"),
        ({"hysteresis_k": -1}, "planner.house.hysteresis_k = -1: Input should be greater"),
        ({"u_value": 1}, "planner.house.u_value = 1: unknown key"),
    ],
)
def test_bad_house_values_are_named(house, why):
    from edge.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        parse_config({"planner": {"house": {"enabled": True, **house}}})
    assert why in str(exc.value), str(exc.value)


@pytest.mark.parametrize(
    ("sources", "why"),
    [
        ({"indoor_temp_topic": "home/#"}, "sources.indoor_temp_topic = 'home/#': String should"),
        ({"indoor_temp_field": "a..b"}, "sources.indoor_temp_field = 'a..b': String should"),
        ({"indoor_temp_stale_after_s": 10}, "sources.indoor_temp_stale_after_s = 10: Input"),
    ],
)
def test_bad_indoor_sources_are_named(sources, why):
    from edge.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        parse_config({"sources": sources})
    assert why in str(exc.value), str(exc.value)


@in_loop
async def test_on_economy_7_the_plan_preheats_in_the_cheap_night(mosquitto, httpserver):
    cfg = site(mosquitto, httpserver)
    seen, solve = recording_solve()
    clock, mono, runner, planner = await started(mosquitto, httpserver, cfg, solve=solve)
    runner.start_indoor()
    try:
        await published(mosquitto, b"20.2", lambda: runner.snapshot(2).indoor_degc is not None)
        assert await planner.plan_once()
        inp = seen[-1]
        assert inp.house is not None and inp.state.house_degc == 20.2
        assert inp.house.min_on_s == cfg.loads.heat_pump.min_on_s
        assert set(inp.forecast.t_out_degc) == {T_OUT_DEGC}
        f = planner.status.figures
        assert f is not None and planner.status.problem is None
        asks = [(t, s.heat_pump) for t, s in zip(f.slots_utc_s, f.slots, strict=True)]
        warm = {SgState.RECOMMEND, SgState.FORCE}
        preheat = [t for t, s in asks if s in warm]
        assert preheat, "no pre-heat asked for"
        assert all(night(t) for t in preheat), [(t % 86400) / 3600 for t in preheat if not night(t)]
        # In the dear day the plan holds the heat pump back where the house allows (LOCK).
        assert any(s is SgState.LOCK and not night(t) for t, s in asks)
        # The plan's house stays in the comfort band it was given (the LP's tolerance).
        plan = planner.plan
        assert plan is not None
        assert cfg.planner.house.floor_degc - 0.05 <= min(plan.house_degc)
        assert max(plan.house_degc) <= cfg.planner.house.ceiling_degc + 0.05
        doc = plan_document(f)
        assert all(
            len(doc[c]) == len(doc["start"]) for c in ("heat_pump", "heat_pump_w", "house_degc")
        )
        assert doc["heat_pump"][k_of(f, min(preheat))] in ("recommend", "force")
        assert doc["house_degc"][0] == pytest.approx(plan.house_degc[0], abs=0.05)
        # With the heat pump's columns, still well under the 16 kB Home Assistant's
        # recorder keeps of an entity's attributes.
        assert len(json.dumps(doc, separators=(",", ":"))) < 12_000
        # The menu's and the PNG's chart draw the heat pump's row from it.
        drawn = from_document(doc).heat_pump_w
        assert drawn is not None and max(drawn) == pytest.approx(max(plan.hp_w), abs=1.0)

        # At the night's start, re-planned on a fresh reading: the slot in force asks for
        # the pre-heat, and the real core passes it to the heat pump.
        mono[0] += min(preheat) - WALL_S + 60.0
        await published(mosquitto, b"19.6", lambda: runner.snapshot(2).indoor_degc == 19.6)
        planner.observe(with_heat_pump(image_at(clock.now_s())))
        assert await planner.plan_once()
        now = clock.now_s()
        slot = planner.slot(now)
        assert slot is not None and slot.heat_pump in warm, slot
        sp, _state = decide(with_heat_pump(image_at(now, plan=slot)), core_config(cfg), CoreState())
        assert sp.sg_ready is slot.heat_pump, sp
    finally:
        await runner.close()


@in_loop
async def test_without_a_reading_the_plan_leaves_the_heat_pump_out_and_says_so(
    mosquitto, httpserver, caplog
):
    cfg = site(mosquitto, httpserver)
    seen, solve = recording_solve()
    clock, mono, runner, planner = await started(mosquitto, httpserver, cfg, solve=solve)
    with caplog.at_level(logging.INFO, logger="edge.planner"):
        assert await planner.plan_once()
        assert await planner.plan_once()  # said once, not per plan
    assert seen[-1].house is None
    why = planner.status.problem
    assert why == f"heat pump not planned: no indoor temperature yet on {TOPIC}"
    said = [r.getMessage() for r in caplog.records if "heat pump" in r.getMessage()]
    assert said == [f"{why}; the plan leaves the heat pump to its own thermostat"]
    f = planner.status.figures
    assert f is not None and all(s.heat_pump is None for s in f.slots)
    assert planner.status.shown(clock.now_s())["plan_problem"] == why
    # A reading arrives: in the plan, and said so.
    runner.start_indoor()
    try:
        await published(mosquitto, b"21.0", lambda: runner.snapshot(2).indoor_degc is not None)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="edge.planner"):
            assert await planner.plan_once()
        assert seen[-1].house is not None and seen[-1].state.house_degc == 21.0
        assert planner.status.problem is None
        assert "planner: the heat pump is in the plan now" in caplog.text
        # 31 minutes without another: stale, and the plan leaves it out again.
        mono[0] += 31 * 60.0
        planner.observe(with_heat_pump(image_at(clock.now_s())))
        assert await planner.plan_once()
        assert seen[-1].house is None
        assert planner.status.problem is not None
        assert "the indoor temperature is 31 min old" in planner.status.problem
    finally:
        await runner.close()


@in_loop
async def test_without_the_setting_or_the_weather_the_reason_is_named(mosquitto, httpserver):
    base = site(mosquitto, httpserver)
    no_topic = base.model_copy(
        update={"sources": base.sources.model_copy(update={"indoor_temp_topic": None})}
    )
    clock, _m, runner, planner = await started(mosquitto, httpserver, no_topic)
    assert await planner.plan_once()
    assert planner.status.problem == ("heat pump not planned: sources.indoor_temp_topic is not set")
    # A house described for a heat pump that is not enabled.
    loads = base.loads.model_copy(
        update={"heat_pump": base.loads.heat_pump.model_copy(update={"enabled": False})}
    )
    clock, _m, runner, planner = await started(
        mosquitto, httpserver, base.model_copy(update={"loads": loads})
    )
    runner.indoor.put(20.0, clock.now_s())
    assert await planner.plan_once()
    assert planner.status.problem == "heat pump not planned: loads.heat_pump.enabled is false"
    # The indoor reading without an outside forecast: nothing to plan the heat on.
    clock, _m, runner, planner = await started(mosquitto, httpserver, base)
    runner.t_out.value = runner.t_out.got_s = None
    runner.indoor.put(20.0, clock.now_s())
    assert await planner.plan_once()
    assert planner.status.problem is not None
    assert "no outside temperature forecast" in planner.status.problem


@in_loop
async def test_a_re_plan_comes_when_the_indoor_temperature_comes_in(mosquitto, httpserver):
    cfg = site(mosquitto, httpserver)  # replan_s 900
    # The clock's sleeps are 1000 times short and its reading stays put: replan_s never
    # passes here, so only the reading's arrival can cause the second plan.
    clock, _ = clock_at(WALL_S, speed=1000.0)
    runner = SourcesRunner(cfg, clock)
    planner = LivePlanner(cfg, clock, runner, PlanStatus(), local_offset_s=lambda _t: 0.0)
    winter_forecast(httpserver)
    await runner.refresh_pv()
    planner.observe(with_heat_pump(image_at(clock.now_s())))
    task = asyncio.create_task(planner.run())
    try:
        await wait_until(lambda: planner.status.plans_made == 1)
        await asyncio.sleep(0.2)  # several checks: nothing due
        assert planner.status.plans_made == 1
        assert planner.status.problem is not None
        runner.indoor.put(20.0, clock.now_s())  # as the MQTT callback does
        await wait_until(lambda: planner.status.plans_made == 2)
        assert planner.status.problem is None
        f = planner.status.figures
        assert f is not None and any(s.heat_pump is not None for s in f.slots)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.parametrize(
    ("indoor_degc", "t_out_degc"),
    [(12.0, -10.0), (-20.0, -20.0), (28.0, 15.0), (50.0, 30.0)],  # back from a holiday; a heatwave
)
@in_loop
async def test_a_house_far_outside_its_band_still_gets_a_safe_plan(
    mosquitto, httpserver, indoor_degc, t_out_degc
):
    cfg = site(mosquitto, httpserver)
    clock, _ = clock_at(WALL_S)
    runner = SourcesRunner(cfg, clock)
    t0 = math.floor(WALL_S / SLOT_S) * SLOT_S
    runner.t_out.put(TemperatureSeries(t0, SLOT_S, (t_out_degc,) * 100), clock.now_s())
    runner.indoor.put(indoor_degc, clock.now_s())
    planner = LivePlanner(cfg, clock, runner, PlanStatus(), local_offset_s=lambda _t: 0.0)
    planner.observe(with_heat_pump(image_at(clock.now_s())))
    assert await planner.plan_once()
    assert planner.status.problem is None
    f, plan = planner.status.figures, planner.plan
    assert f is not None and plan is not None
    first = [s.heat_pump for s in f.slots[:4]]
    if indoor_degc < cfg.planner.house.floor_degc:
        # Too cold: never held off, and heating from the first slot.
        assert SgState.LOCK not in first, first
        assert plan.hp_w[0] > 0.0
    else:
        # Too warm: never pushed, and held off.
        assert not {SgState.RECOMMEND, SgState.FORCE} & set(first), first
        assert plan.hp_w[0] == pytest.approx(0.0, abs=1.0)
