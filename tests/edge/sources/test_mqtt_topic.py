"""One topic a source reads, through the real Mosquitto (tests/conftest.py): a message its
parser cannot handle is reported as one line, and the messages after it still arrive."""

import time

import paho.mqtt.client as mqtt

from edge.config import MqttConfig
from edge.sources.mqtt_topic import MqttTopic


def parse(payload: bytes) -> int:
    return 100 // int(payload)  # b"0": ZeroDivisionError, not a SourceError


def test_a_parser_error_is_reported_and_the_next_message_still_arrives(mosquitto):
    got: list[int] = []
    problems: list[str] = []
    cfg = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    sub = MqttTopic(cfg, "test/topic", "edge-topic-test", parse, got.append, problems.append)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    try:
        sub.start()
        assert sub.subscribed.wait(10)
        for payload in (b"0", b"4"):
            pub.publish("test/topic", payload, qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got == [25]  # paho's network thread lived on past the bad message
        assert problems == [
            "test/topic: unreadable message: ZeroDivisionError: integer division or modulo by zero"
        ]
    finally:
        sub.stop()
        pub.loop_stop()
        pub.disconnect()
