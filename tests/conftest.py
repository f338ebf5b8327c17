"""Shared fixtures: a real Mosquitto on a free port, and an MQTT reader; every test's
processes keep their temporary files (the demo's PNG, say) in a folder of the test's."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest

from edge.mqtt.broker import LocalMosquitto

# Set on import, before any test module copies the environment for the processes it starts.
_TMPDIR = tempfile.mkdtemp(prefix="edge-tests-")
os.environ["TMPDIR"] = _TMPDIR


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_TMPDIR, ignore_errors=True)


@pytest.fixture
def mosquitto() -> Iterator[LocalMosquitto]:
    broker = LocalMosquitto()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool


@dataclass
class MqttReader:
    """A real paho client subscribed to '#', collecting every message it receives."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

        def on_connect(c, _u, _f, _rc, _p):
            c.subscribe("#", qos=1)

        def on_subscribe(*_a):
            ready.set()

        def on_message(_c, _u, msg):
            with self._lock:
                self.messages.append(Message(msg.topic, msg.payload, bool(msg.retain)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        assert ready.wait(5), "reader could not subscribe"

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def on(self, topic: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(self, pred, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.05)
        raise AssertionError("expected MQTT messages did not arrive")


@pytest.fixture
def mqtt_reader(mosquitto: LocalMosquitto) -> Iterator[MqttReader]:
    reader = MqttReader(mosquitto.host, mosquitto.port)
    reader.start()
    try:
        yield reader
    finally:
        reader.stop()
