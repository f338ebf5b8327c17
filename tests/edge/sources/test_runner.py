"""The runner: refreshes, keeps the last good value until its staleness limit, says what
went wrong once in one line, survives everything a source does; history across a restart."""

import asyncio
import json
import logging
import math
import time

import paho.mqtt.client as mqtt
import pytest

from edge.config import parse_config
from edge.sources.history import HistoryStore
from edge.sources.runner import SourcesRunner
from edge.state_db import StorageHealth
from tests.edge.sources.conftest import T0_S, iso, octopus_page, open_meteo

OCTO = "/v1/products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standard-unit-rates/"


class Clock:
    """Monotonic and wall seconds the test moves; sleep yields at once."""

    def __init__(self, wall_s: float) -> None:
        self.mono, self.wall = 0.0, wall_s

    def now_s(self) -> float:
        return self.mono

    def wall_s(self) -> float:
        return self.wall

    def advance(self, dt_s: float) -> None:
        self.mono += dt_s
        self.wall += dt_s

    async def sleep(self, dt_s: float) -> None:
        await asyncio.sleep(0.01)


def site(server, **sources):
    base = server.url_for("/").rstrip("/")
    return parse_config(
        {
            "sources": {
                "octopus_url": base,
                "open_meteo_url": base,
                "http_timeout_s": 1.0,
                "http_attempts": 1,
                **sources,
            }
        }
    )


OCTOPUS = {
    "prices": "octopus",
    "octopus_product": "AGILE-24-10-01",
    "octopus_tariff": "E-1R-AGILE-24-10-01-C",
    "prices_stale_after_s": 3600.0,
}


def test_a_failing_api_keeps_the_last_good_prices_then_falls_back(httpserver, caplog):
    clock = Clock(T0_S + 60)
    runner = SourcesRunner(site(httpserver, **OCTOPUS), clock)
    httpserver.expect_oneshot_request(OCTO).respond_with_json(octopus_page(T0_S, [20.0, 30.0]))
    asyncio.run(runner.refresh_prices())
    snap = runner.snapshot(4)
    assert snap.import_prices is not None and snap.import_prices.prices_gbp_per_kwh == (0.2, 0.3)
    assert snap.problems == () and snap.ages_s["prices"] == 0.0

    httpserver.expect_request(OCTO).respond_with_data("down", status=503)
    clock.advance(1200)
    with caplog.at_level(logging.WARNING, "edge.sources"):
        asyncio.run(runner.refresh_prices())
        asyncio.run(runner.refresh_prices())  # the same problem: not said again
    lines = [r.getMessage() for r in caplog.records if r.name == "edge.sources"]
    assert lines == [
        "sources: octopus import: HTTP 503 SERVICE UNAVAILABLE after 1 try; using the last"
        " good one, 20 min old"
    ]
    snap = runner.snapshot(4)
    assert snap.import_prices is not None and snap.ages_s["prices"] == 1200.0
    assert snap.problems == (lines[0].removeprefix("sources: ").split("; using")[0],)

    clock.advance(3600)  # past prices_stale_after_s: the tariff's fixed rates
    assert runner.snapshot(4).import_prices is None
    asyncio.run(runner.close())


def test_a_missing_price_file_is_one_line_and_the_fixed_rates(httpserver, tmp_path, caplog):
    runner = SourcesRunner(
        site(httpserver, prices="csv", prices_csv=str(tmp_path / "gone.csv")), Clock(T0_S)
    )
    with caplog.at_level(logging.WARNING, "edge.sources"):
        asyncio.run(runner.refresh_prices())
    (line,) = [r.getMessage() for r in caplog.records if r.name == "edge.sources"]
    assert (
        "gone.csv: cannot read: No such file or directory; using the tariff's fixed rates" in line
    )
    assert len(line) <= 220 and runner.snapshot(2).import_prices is None


def test_the_pv_forecast_is_calibrated_and_brings_the_temperature(httpserver):
    clock = Clock(T0_S)
    runner = SourcesRunner(site(httpserver, pv="open_meteo"), clock)
    httpserver.expect_request("/v1/forecast").respond_with_json(
        open_meteo(T0_S, [500.0, 500.0], [8.0, 8.0])
    )
    asyncio.run(runner.refresh_pv())
    raw = runner.pv.value
    assert raw is not None
    # a week in which the array gave 70 % of what was forecast
    for _ in range(7 * 48):
        for _t in range(0, 1800, 10):
            runner.record(load_w=300.0, pv_w=0.7 * 3000.0)
            clock.advance(10)
        runner.pv.value = type(raw)(clock.wall - clock.wall % 1800, 1800.0, (3000.0,) * 2)
    snap = runner.snapshot(4)
    assert snap.pv_ratio == pytest.approx(0.7, abs=0.01)
    # for want of a reading, the slots the temperature forecast covers took its value
    assert [r.t_out_degc for r in runner.records[:3]] == [None, 8.0, 8.0]
    assert snap.t_out is None  # a week on, the forecast is stale
    asyncio.run(runner.close())


def test_the_pv_forecast_is_pulled_toward_the_last_half_hour_measured(httpserver):
    """A half hour that gave twice its forecast pulls the next slots up, fading with
    sources.pv_nowcast_s; no longer once that half hour is not the last one."""
    clock = Clock(T0_S)
    runner = SourcesRunner(site(httpserver, pv="open_meteo", pv_kwp=2.5), clock)
    httpserver.expect_request("/v1/forecast").respond_with_json(
        open_meteo(T0_S, [500.0] * 4, [8.0] * 4)
    )
    asyncio.run(runner.refresh_pv())
    raw = runner.pv.value
    assert raw is not None
    runner.pv.value = type(raw)(T0_S, 1800.0, (1000.0,) * 6)
    for _t in range(0, 1800 + 10, 10):  # the half hour, and a reading of the next
        runner.record(load_w=300.0, pv_w=2000.0)
        clock.advance(10)
    assert runner.records[-1].pv_wh == pytest.approx(1000.0)  # 2 kW for half an hour
    assert runner.records[-1].pv_forecast_wh == pytest.approx(500.0)
    snap = runner.snapshot(3)
    assert snap.pv is not None and snap.pv_ratio == 1.0  # too little history to calibrate
    ahead = T0_S + 1800 + 900 - clock.wall  # to the middle of now's slot
    a = math.exp(-ahead / 7200.0)
    assert snap.pv.power_w[1] == pytest.approx(1000.0 * (2.0 * a + 1.0 - a))
    assert snap.pv.power_w[1] > snap.pv.power_w[2] > snap.pv.power_w[5] > 1000.0
    assert max(snap.pv.power_w) <= 2500.0  # the array's 2.5 kWp
    clock.advance(1800)  # that half hour is no longer the last one: the forecast as it is
    assert runner.snapshot(3).pv.power_w == (1000.0,) * 6
    asyncio.run(runner.close())


def test_history_survives_a_restart_and_drives_the_load_forecast(httpserver, tmp_path):
    db = str(tmp_path / "state.sqlite")
    cfg = site(httpserver)
    clock = Clock(T0_S - 86400)
    runner = SourcesRunner(cfg, clock, history=HistoryStore(db, StorageHealth()))
    for _ in range(48 * 180):  # a day at 10 s ticks: 800 W, 2500 W from 12:00 to 12:30
        hour = clock.wall % 86400 / 3600
        runner.record(load_w=2500.0 if 12 <= hour < 12.5 else 800.0, pv_w=0.0)
        clock.advance(10)
    runner.record(load_w=0.0, pv_w=0.0)
    asyncio.run(runner.close())

    again = SourcesRunner(cfg, clock, history=HistoryStore(db, StorageHealth()))
    assert len(again.records) == 48
    load = again.snapshot(3).load  # from 12:00 today, no live reading
    assert load.t0_s == T0_S and load.power_w == pytest.approx([2500.0, 800.0, 800.0])
    asyncio.run(again.close())


def test_a_bug_in_a_source_never_ends_the_runner(httpserver, caplog):
    runner = SourcesRunner(site(httpserver, pv="open_meteo"), Clock(T0_S))

    async def broken():
        raise ZeroDivisionError("division by zero")

    runner._fetch_pv = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, "edge.sources"):
        asyncio.run(runner.refresh_pv())
    assert runner.pv.problem == "pv forecast: unexpected ZeroDivisionError: division by zero"
    assert [r.getMessage() for r in caplog.records if r.name == "edge.sources"] == [
        "sources: pv forecast: unexpected ZeroDivisionError: division by zero; using no PV forecast"
    ]


def test_run_refreshes_on_its_period_and_stops_when_cancelled(httpserver):
    httpserver.expect_request(OCTO).respond_with_json(octopus_page(T0_S, [20.0]))
    runner = SourcesRunner(site(httpserver, **OCTOPUS), Clock(T0_S))

    async def go():
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert len(httpserver.log) >= 2 and runner.prices.value is not None
    assert runner._client is None  # closed


def test_mqtt_prices_through_the_broker_reach_the_snapshot(httpserver, mosquitto):
    cfg = parse_config(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port, "base_topic": "site1"},
            "sources": {"prices": "mqtt"},
        }
    )
    runner = SourcesRunner(cfg, Clock(T0_S))
    doc = {
        "unit": "p/kWh",
        "import": [{"start": iso(T0_S), "end": iso(T0_S + 1800), "price": 7.5}],
    }
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    pub.publish("site1/prices", json.dumps(doc), qos=1, retain=True).wait_for_publish(5)

    async def go():
        task = asyncio.create_task(runner.run())
        deadline = time.monotonic() + 10
        while runner.prices.value is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(go())
    finally:
        pub.loop_stop()
        pub.disconnect()
    snap = runner.snapshot(2)
    assert snap.import_prices is not None and snap.import_prices.prices_gbp_per_kwh == (0.075,)


def test_the_live_runner_keeps_its_history_in_the_sites_state_db(tmp_path):
    import sqlite3

    from edge.clock import local_clock
    from edge.sources.history import SlotRecord
    from edge.sources.runner import build_runner

    db = tmp_path / "state.sqlite"
    cfg = parse_config({"site": {"state_db": str(db)}, "sources": {"history_days": 10}})
    runner = build_runner(cfg, local_clock(), StorageHealth())
    assert runner.history is not None and runner.history.keep_s == 10 * 86400
    runner.history.save(SlotRecord(int(T0_S), 1800, 1800.0, 250.0, 0.0, None, 0.0, 0.0, None))
    asyncio.run(runner.close())
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT slot_start_s, load_wh FROM load_history").fetchall()
    assert rows == [(int(T0_S), 250.0)]


def test_the_heat_forecast_follows_the_history_as_it_grows(httpserver):
    from edge.sources.history import SlotRecord
    from edge.sources.series import TemperatureSeries

    clock = Clock(T0_S)
    runner = SourcesRunner(site(httpserver), clock)
    runner.t_out.put(TemperatureSeries(T0_S, 1800.0, (0.0, 20.0)), clock.now_s())

    def day(w_per_k: float, start: int) -> list[SlotRecord]:
        temps = [-2 + 14 * k / 47 for k in range(48)]  # -2 to 12 °C
        return [
            SlotRecord(start + 1800 * k, 1800, 1800.0, 0, 0, None, 0, w_per_k * (16 - t) / 2, t)
            for k, t in enumerate(temps)
        ]

    runner.records = day(100.0, int(T0_S) - 2 * 86400)
    first = runner.snapshot(2).heat_pump
    assert first is not None and first.power_w == pytest.approx((1600.0, 0.0), rel=0.05)
    runner.records += day(200.0, int(T0_S) - 86400)  # a colder-running week: refitted
    again = runner.snapshot(2).heat_pump
    assert again is not None and again.power_w[0] > first.power_w[0] * 1.2
