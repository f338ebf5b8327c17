"""The indoor temperature on MQTT: the payloads taken (a number, a JSON field) and refused
(each named), and the runner's feed through the real Mosquitto (tests/conftest.py): a
reading, garbage said once and the reading before kept, then stale."""

import asyncio
import contextlib
import json
import logging
import time

import paho.mqtt.client as mqtt
import pytest

from edge.config import MqttConfig, parse_config
from edge.sources.indoor_temp import MqttIndoorTemp, parse_indoor_payload
from edge.sources.runner import SourcesRunner
from edge.sources.series import SourceError
from tests.edge.sources.conftest import T0_S
from tests.edge.sources.test_runner import Clock

TOPIC = "home/living_room/temperature"


@pytest.mark.parametrize(
    ("payload", "field", "degc"),
    [
        (b"21.3", None, 21.3),  # Home Assistant's statestream: the state as it is
        (b" 19 \n", None, 19.0),
        (b'"20.5"', None, 20.5),
        (json.dumps({"temperature": 21.75, "humidity": 48}).encode(), "temperature", 21.75),
        (json.dumps({"state": {"value": "18.2"}}).encode(), "state.value", 18.2),
    ],
)
def test_a_number_or_a_json_field_is_a_temperature(payload, field, degc):
    assert parse_indoor_payload(payload, field) == pytest.approx(degc)


@pytest.mark.parametrize(
    ("payload", "field", "why"),
    [
        (b"unavailable", None, "payload = 'unavailable': expected a temperature in degC"),
        (b"", None, "payload = '': expected a temperature"),
        (b"nan", None, "payload = 'nan': outside -20 to 50 degC"),
        (b"70.5", None, "payload = 70.5: outside -20 to 50 degC"),
        (b"294.15", None, "payload = 294.15: outside"),  # kelvin
        (b"true", None, "payload = True: expected a temperature"),
        (b'{"temperature": 21}', None, "a JSON object: set sources.indoor_temp_field"),
        (b'{"humidity": 48}', "temperature", "temperature: missing"),
        (b"21.3", "temperature", "temperature: expected a JSON object"),
        (b'{"temperature": null}', "temperature", "temperature = None: expected a temperature"),
        (b"\xff\xfe", None, "payload is not UTF-8 text"),
        (b"1" * 5000, None, "payload of 5000 bytes; at most 4096"),
        (b"1" + b"0" * 400, None, "payload = 1000.*: outside -20 to 50 degC"),  # no OverflowError
    ],
)
def test_bad_payloads_are_named(payload, field, why):
    with pytest.raises(SourceError, match=f"^indoor temperature: {why}") as exc:
        parse_indoor_payload(payload, field)
    assert len(str(exc.value)) <= 200


def _publisher(mosquitto) -> mqtt.Client:
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    return pub


def _until(cond, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(cond())


def test_readings_arrive_through_the_broker_and_bad_ones_are_reported(mosquitto):
    got: list[float] = []
    problems: list[str] = []
    cfg = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    sub = MqttIndoorTemp(cfg, TOPIC, "temperature", "edge-indoor-test", got.append, problems.append)
    pub = _publisher(mosquitto)
    try:
        # Retained before we subscribe: of unknown age (a dead sensor's last value), so
        # it is not a reading; the next one published is.
        pub.publish(TOPIC, json.dumps({"temperature": 19.0}), qos=1, retain=True).wait_for_publish(
            5
        )
        sub.start()
        assert sub.subscribed.wait(10)
        pub.publish(TOPIC, json.dumps({"temperature": 20.4}), qos=1).wait_for_publish(5)
        assert _until(lambda: bool(got)) and got == [20.4]
        pub.publish(TOPIC, b"{garbage", qos=1).wait_for_publish(5)
        assert _until(lambda: bool(problems))
        want = f"indoor temperature ({TOPIC}): temperature: expected a JSON object"
        assert problems[0].startswith(want), problems
        assert got == [20.4]
    finally:
        sub.stop()
        pub.loop_stop()
        pub.disconnect()


def site(mosquitto, **sources):
    return parse_config(
        {
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "sources": {"indoor_temp_topic": TOPIC, "indoor_temp_stale_after_s": 900.0, **sources},
        }
    )


async def _wait(cond, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return bool(cond())


def test_the_runner_keeps_a_reading_until_it_is_stale_and_says_what_went_wrong_once(
    mosquitto, caplog
):
    clock = Clock(T0_S)
    runner = SourcesRunner(site(mosquitto), clock, client_id="edge-indoor-runner")
    pub = _publisher(mosquitto)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        try:
            assert runner.snapshot(2).indoor_degc is None  # nothing heard yet
            # published until the runner has it: only a reading sent while it is
            # subscribed counts (a retained one is of unknown age)
            deadline = time.monotonic() + 10.0
            while runner.snapshot(2).indoor_degc is None and time.monotonic() < deadline:
                pub.publish(TOPIC, b"21.5", qos=1).wait_for_publish(5)
                await asyncio.sleep(0.2)
            snap = runner.snapshot(2)
            assert snap.indoor_degc == 21.5
            assert snap.ages_s["indoor temperature"] == 0.0
            with caplog.at_level(logging.WARNING, logger="edge.sources"):
                for _ in range(2):  # the same garbage twice: said once
                    pub.publish(TOPIC, b"unavailable", qos=1).wait_for_publish(5)
                assert await _wait(lambda: runner.indoor.problem is not None)
                await asyncio.sleep(0.3)
            said = [r.getMessage() for r in caplog.records if "indoor" in r.getMessage()]
            assert len(said) == 1, said
            assert "'unavailable': expected a temperature" in said[0]
            assert "using the last good one, 0 min old" in said[0]
            clock.advance(600.0)  # within indoor_temp_stale_after_s: the reading before
            assert runner.snapshot(2).indoor_degc == 21.5
            clock.advance(301.0)  # past it: none
            snap = runner.snapshot(2)
            assert snap.indoor_degc is None
            assert any("unavailable" in p for p in snap.problems)
            pub.publish(TOPIC, b"19.0", qos=1).wait_for_publish(5)  # a good one again
            assert await _wait(lambda: runner.snapshot(2).indoor_degc == 19.0)
            assert runner.indoor.problem is None
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    try:
        asyncio.run(scenario())
    finally:
        pub.loop_stop()
        pub.disconnect()
