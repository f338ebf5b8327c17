"""`edge demo` plans the simulated house's heat pump: the site file completed with the
simulated house ([planner.house] from the heat pump's own parameters, where the file does
not set them), its room temperature published on a real Mosquitto and read by the
sources' runner, its weather served as Open-Meteo's API on a local port; and the demo
itself, end to end, keeps a plan with the heat pump in it."""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from edge.clock import ScaledClock
from edge.config import EXAMPLE_CONFIG, EdgeConfig, load_config, parse_config
from edge.planner.site import bands_of, house_of
from edge.sim.demo_config import INDOOR_TOPIC, plans_heat_pump, with_planned_house
from edge.sim.heatpump import HeatPumpParams, cop
from edge.sim.indoor import IndoorTempPublisher, indoor_payload, period_s
from edge.sim.weather import SimulatedWeather, WeatherServer
from edge.sim.world import SimulatedWorld, WorldParams, house_params
from edge.sources.http import HttpPolicy
from edge.sources.indoor_temp import parse_indoor_payload
from edge.sources.openmeteo import fetch_forecast
from edge.sources.pv_model import PvArray
from edge.sources.runner import SourcesRunner
from tests.asyncwait import wait_until
from tests.conftest import MqttReader
from tests.edge.planner.test_live import in_loop

URL = "http://127.0.0.1:9"  # never asked: the config alone
NOON_S = 12 * 3600.0


def example(**tables: dict[str, Any]) -> EdgeConfig:
    """The example site file with the planner and the heat pump on, and `tables` over it
    as a site file would set them."""
    raw = load_config(EXAMPLE_CONFIG).model_dump(exclude_unset=True)
    raw["planner"] = {"enabled": True, **tables.pop("planner", {})}
    raw["loads"]["heat_pump"]["enabled"] = True
    for name, table in tables.items():
        raw[name] = {**raw.get(name, {}), **table}
    return parse_config(raw)


def test_the_planned_house_is_the_simulated_one():
    cfg = with_planned_house(example(), URL)
    hp = HeatPumpParams()
    house = house_of(cfg)
    assert house is not None
    assert house.heat_w == hp.heat_w
    assert house.ua_w_per_k == hp.house_ua_w_per_k
    assert house.c_j_per_k == pytest.approx(hp.house_c_j_per_k)
    assert house.internal_gain_w == hp.internal_gain_w
    # The plan's COP is the plant's at every outside temperature of the year.
    for t_out in range(-10, 25):
        assert house.cop(t_out) == pytest.approx(cop(t_out), abs=1e-9), t_out
    # SG-Ready's bands are the simulated thermostat's.
    bands = bands_of(cfg)
    assert bands.floor_degc == hp.setpoint_degc - hp.hysteresis_k
    assert bands.recommend_top_degc == hp.setpoint_degc + hp.recommend_boost_k + hp.hysteresis_k
    assert house.ceiling_degc == hp.setpoint_degc + hp.force_limit_k
    src = cfg.sources
    assert src.indoor_temp_topic == f"edge/{INDOOR_TOPIC}"
    assert (src.pv, src.open_meteo_url) == ("open_meteo", URL)
    assert (src.pv_kwp, src.pv_tilt_deg) == (cfg.simulation.pv_kwp, cfg.simulation.pv_tilt_deg)


def test_the_example_s_demo_is_left_as_it_is():
    base = load_config(EXAMPLE_CONFIG)  # the heat pump off: nothing to plan it for
    assert not plans_heat_pump(base)
    assert with_planned_house(base, URL) is base


def test_what_the_site_file_sets_wins():
    cfg = with_planned_house(
        example(
            planner={"house": {"floor_degc": 19.0, "heat_w": 7000}},
            sources={"indoor_temp_topic": "home/lounge/temperature", "pv_kwp": 4.0},
        ),
        URL,
    )
    h = cfg.planner.house
    assert (h.enabled, h.floor_degc, h.heat_w) == (True, 19.0, 7000.0)
    assert h.loss_w_per_k == HeatPumpParams().house_ua_w_per_k  # not set: the simulated one
    assert cfg.sources.indoor_temp_topic == "home/lounge/temperature"
    assert cfg.sources.pv_kwp == 4.0
    off = with_planned_house(example(planner={"house": {"enabled": False}}), URL)
    assert house_of(off) is None
    own = with_planned_house(example(sources={"pv": "none"}), URL)
    assert own.sources.pv == "none"  # no forecast: the planner will say so


@pytest.mark.parametrize(
    ("field", "payload"),
    [(None, b"20.43"), ("temperature", b'{"temperature": 20.43}'), ("a.b", b'{"a": {"b": 20.43}}')],
)
def test_a_reading_is_what_the_sources_parse(field, payload):
    assert indoor_payload(20.4321, field) == payload
    assert parse_indoor_payload(payload, field) == 20.43


def test_readings_come_well_inside_the_staleness_limit():
    assert period_s(7200.0) == 180.0
    assert period_s(60.0) == 15.0  # the least limit the site file allows


def indoor_rig(
    mosquitto: Any, speed: float, client_id: str
) -> tuple[ScaledClock, SimulatedWorld, str, EdgeConfig, SourcesRunner]:
    """The simulated world on a clock at `speed`, and the sources reading its room
    temperature's topic from the broker."""
    clock = ScaledClock(start_s=NOON_S, speed=speed)
    world = SimulatedWorld(clock, WorldParams(dab=False))
    topic = f"edge/{INDOOR_TOPIC}"
    cfg = parse_config(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "sources": {"indoor_temp_topic": topic},
        }
    )
    return clock, world, topic, cfg, SourcesRunner(cfg, clock, client_id=client_id)


@in_loop
async def test_the_room_temperature_reaches_the_sources(mosquitto):
    # 3 simulated min = 0.3 s
    clock, world, topic, cfg, runner = indoor_rig(mosquitto, 600.0, "test-demo-indoor")
    reader = MqttReader(mosquitto.host, mosquitto.port)
    reader.start()
    runner.start_indoor()
    world.house.heat_pump.t_in_degc = 18.76
    publisher = IndoorTempPublisher(cfg.mqtt, topic, world.indoor_degc, clock)
    task = asyncio.ensure_future(publisher.run())
    try:
        await wait_until(lambda: runner.indoor.value is not None, timeout_s=20.0)
        assert runner.indoor.value == 18.76
        assert runner.snapshot(2).indoor_degc == 18.76  # fresh on the runner's clock
        world.house.heat_pump.t_in_degc = 19.12  # the next reading, 3 simulated min on
        await wait_until(lambda: runner.indoor.value == 19.12, timeout_s=20.0)
        await wait_until(lambda: len(reader.on(topic)) >= 2)
        msgs = reader.on(topic)
        assert not any(m.retain for m in msgs)  # a sensor's reading, not a stored value
        assert {m.payload for m in msgs} >= {b"18.76", b"19.12"}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.close()
        reader.stop()


@in_loop
async def test_at_high_speed_the_readings_never_go_stale(mosquitto):
    """Ages, the staleness limit and the publishing period are all simulated seconds: at
    2000x, 3 simulated minutes are 90 ms, and over more than the 2 h limit the
    supervisor's reading stays fresh."""
    clock, world, topic, cfg, runner = indoor_rig(mosquitto, 2000.0, "test-demo-indoor-fast")
    runner.start_indoor()
    every_s = period_s(cfg.sources.indoor_temp_stale_after_s)
    publisher = IndoorTempPublisher(cfg.mqtt, topic, world.indoor_degc, clock, every_s=every_s)
    task = asyncio.ensure_future(publisher.run())
    try:
        await wait_until(lambda: runner.indoor.value is not None, timeout_s=20.0)
        start_s, ages = clock.now_s(), []
        limit_s = cfg.sources.indoor_temp_stale_after_s
        while clock.now_s() - start_s < 1.5 * limit_s:  # past the limit: 5.4 s here
            age = runner.indoor.age_s(clock.now_s())
            assert age is not None
            ages.append(age)
            await asyncio.sleep(0.01)
        assert publisher.published >= 10
        assert max(ages) < limit_s, max(ages)
        assert runner.snapshot(2).indoor_degc is not None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.close()


@in_loop
async def test_the_weather_server_answers_as_open_meteo():
    wall = [1_781_870_400.0]  # 2026-06-19 12:00 UTC
    mono = [0.0]
    clock = ScaledClock(
        start_s=NOON_S, speed=10.0, wall=lambda: wall[0] + mono[0], monotonic=lambda: mono[0]
    )
    params = house_params(load_config(EXAMPLE_CONFIG).simulation)
    weather = WeatherServer(SimulatedWeather(params, clock))
    weather.start()
    try:
        array = PvArray(5.0, 35.0, 180.0)
        async with httpx.AsyncClient() as client:
            fc = await fetch_forecast(
                client, 52.2, -1.5, array, HttpPolicy(timeout_s=30.0, attempts=1), base=weather.url
            )
            bad = await client.get(f"{weather.url}/v1/forecast?forecast_days=30")
            lost = await client.get(f"{weather.url}/v1/archive")
        # Two days from this UTC day's midnight: the first hourly value at 00:00, the
        # irradiance the mean of the hour before it, the temperature the value at it.
        midnight = wall[0] - NOON_S
        assert fc.pv.t0_s == midnight - 3600.0
        assert fc.t_out.t0_s == midnight - 1800.0
        assert len(fc.t_out.t_out_degc) == 2 * 48
        # An hour of Unix time is the house's (now_s - wall_s) later: noon is noon here.
        offset_s = clock.now_s() - clock.wall_s()
        house = SimulatedWorld(clock, WorldParams(dab=False)).house
        for k in (0, 13, 30, 60, 95):  # slot k holds the value at the hour nearest it
            t_s = midnight + k // 2 * 3600.0 + offset_s
            want = house.heat_pump.t_out_degc(t_s)
            assert fc.t_out.t_out_degc[k] == pytest.approx(want, abs=0.006), k
        pv = fc.pv.power_w
        assert max(pv[:8]) == 0.0  # the small hours
        noon = pv[24]  # 12:00-12:30: near the simulated array's clear-sky peak
        assert 0.7 * 0.85 * 5000.0 < noon < 1.1 * 0.85 * 5000.0
        assert bad.status_code == 400 and "forecast_days = 30" in bad.json()["reason"]
        assert lost.status_code == 404
    finally:
        weather.stop()


ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def test_the_demo_plans_the_heat_pump_from_the_simulated_room(mosquitto, tmp_path):
    site = tmp_path / "site.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    off = 'enabled = false              # SG-Ready "recommend"'
    assert text.count(off) == 1
    text = text.replace(off, off.replace("false", "true "))
    site.write_text(text + "\n[planner]\nenabled = true\n", encoding="utf-8")
    reader = MqttReader(mosquitto.host, mosquitto.port)
    reader.start()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "edge",
                "demo",
                "--config",
                str(site),
                "--broker",
                f"{mosquitto.host}:{mosquitto.port}",
                "--minutes",
                "16",  # the first plan with the house comes within about 5 of them
                "--speed",
                "30",
                "--png",
                str(tmp_path / "run.png"),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            env=ENV,
        )
        assert proc.returncode == 0, proc.stderr
        reader.wait_for(lambda: any(m.payload == b"offline" for m in reader.on("edge/status")))
        readings = reader.on(f"edge/{INDOOR_TOPIC}")
        plans = [json.loads(m.payload) for m in reader.on("edge/plan")]
        states = [json.loads(m.payload) for m in reader.on("edge/state")]
        announced: dict[str, Any] = {}
        for m in reader.messages:
            if m.topic.startswith("homeassistant/device/") and m.topic.endswith("/config"):
                announced.update(json.loads(m.payload)["cmps"])
    finally:
        reader.stop()
    assert readings and not any(m.retain for m in readings)
    assert all(15.0 < float(m.payload) < 30.0 for m in readings)
    assert "planner: the heat pump is in the plan now" in proc.stderr
    # The last plan has the house: a request (or the thermostat) and a temperature a slot.
    doc = plans[-1]
    assert len(doc["house_degc"]) == len(doc["start"]) > 0
    assert any(r in ("lock", "normal", "recommend", "force") for r in doc["heat_pump"])
    assert math.isclose(doc["house_degc"][0], float(readings[-1].payload), abs_tol=1.0)
    assert states[-1]["plan_problem"] == "none", states[-1]["plan_problem"]
    # Home Assistant sees what the plan asks of the heat pump now.
    (request,) = [c for uid, c in announced.items() if uid.endswith("_plan_heat_pump")]
    assert request["val_tpl"] == "{{ value_json.plan_heat_pump }}"
    asked = [d["plan_heat_pump"] for d in states]
    assert asked[-1] in ("lock", "normal", "recommend", "force", "thermostat"), asked[-1]
