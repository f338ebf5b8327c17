"""The publisher's side of commands, through a real Mosquitto: a retained command is seen
as retained whether it was stored before we subscribed or published while we are
connected, and a command's result stays small whatever the payload was."""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt

from edge.config import MqttConfig
from edge.mqtt.discovery import DeviceIds
from edge.mqtt.publisher import MqttPublisher
from tests.conftest import MqttReader

IDS = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home")


def publish(broker, topic: str, payload: bytes, retain: bool) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.connect(broker.host, broker.port)
    c.loop_start()
    c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def started(broker) -> tuple[MqttPublisher, list[tuple[str, bytes, bool]], threading.Event]:
    pub = MqttPublisher(MqttConfig(host=broker.host, port=broker.port), IDS, "edge-cmd-test")
    got: list[tuple[str, bytes, bool]] = []
    arrived = threading.Event()

    def on_command(key: str, payload: bytes, retained: bool) -> None:
        got.append((key, payload, retained))
        arrived.set()

    pub.on_command = on_command
    pub.start()
    assert pub.connected.wait(10), pub.connect_failure
    return pub, got, arrived


def wait_for(pred, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_retained_command_is_seen_as_retained_before_and_after_we_subscribe(mosquitto):
    publish(mosquitto, "edge/cmd/mode", b"standby", retain=True)  # stored before we connect
    pub, got, _ = started(mosquitto)
    try:
        wait_for(lambda: len(got) == 1)
        assert got[0] == ("mode", b"standby", True)
        publish(mosquitto, "edge/cmd/emergency_stop", b"PRESS", retain=True)  # while connected
        publish(mosquitto, "edge/cmd/clear_trip", b"PRESS", retain=False)
        wait_for(lambda: len(got) == 3)
        assert got[1:] == [("emergency_stop", b"PRESS", True), ("clear_trip", b"PRESS", False)]
    finally:
        pub.stop()


def test_a_command_result_is_bounded_whatever_the_payload(mosquitto, mqtt_reader: MqttReader):
    pub, _got, _ = started(mosquitto)
    try:
        pub.publish_command_result(
            {"command": "m" * 70_000, "payload": "x" * 1_000_000, "accepted": False, "reason": "r"}
        )
        wait_for(lambda: mqtt_reader.on("edge/cmd/result") != [])
        raw = mqtt_reader.on("edge/cmd/result")[0].payload
        assert len(raw) < 1000
        result = json.loads(raw)
        assert result["payload"].endswith("... (1000000 characters in all)")
        assert result["command"].endswith("... (70000 characters in all)")
        assert (result["accepted"], result["reason"]) == (False, "r")
    finally:
        pub.stop()
