"""Password and TLS to a real Mosquitto whose CA and password file the test makes: the
right ones connect and publish; a wrong password or a wrong CA is refused, and said why."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import pytest

from edge.config import ConfigError, MqttConfig
from edge.mqtt.broker import LocalMosquitto
from edge.mqtt.client import make_client
from edge.mqtt.discovery import DeviceIds
from edge.mqtt.publisher import MqttPublisher
from tests.tlsutil import make_ca, make_server_cert

IDS = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home")


@pytest.fixture
def secure_broker(tmp_path: Path):
    ca, ca_key, ca_cert = make_ca(tmp_path, "edge-test-ca")
    crt, key = make_server_cert(tmp_path, ca_key, ca_cert)
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "edge", "s3cret"], check=True)
    conf = f"cafile {ca}\ncertfile {crt}\nkeyfile {key}\npassword_file {passwd}\n"
    broker = LocalMosquitto(extra_conf=conf, anonymous=False)
    try:
        yield broker, ca, tmp_path
    finally:
        broker.stop()


def connect(broker: LocalMosquitto, **cfg) -> MqttPublisher:
    pub = MqttPublisher(MqttConfig(host=broker.host, port=broker.port, **cfg), IDS, "edge-sec")
    pub.start()
    return pub


def test_password_and_tls_connect_and_publish(secure_broker):
    broker, ca, _tmp = secure_broker
    pub = connect(broker, username="edge", password="s3cret", tls=True, ca_file=str(ca))
    reader = make_client(
        MqttConfig(username="edge", password="s3cret", tls=True, ca_file=str(ca)), "reader"
    )
    got: list[bytes] = []
    reader.on_message = lambda _c, _u, m: got.append(m.payload)
    try:
        assert pub.connected.wait(10), pub.connect_failure
        reader.connect(broker.host, broker.port)
        reader.subscribe("edge/state", qos=1)
        reader.loop_start()
        time.sleep(0.3)
        pub.publish_state({"k": 1})
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [json.loads(p)["k"] for p in got] == [1]
    finally:
        reader.loop_stop()
        pub.stop()


def test_a_wrong_password_is_refused_and_said(secure_broker, caplog):
    broker, ca, _tmp = secure_broker
    caplog.set_level(logging.WARNING)
    pub = connect(broker, username="edge", password="guess", tls=True, ca_file=str(ca))
    try:
        deadline = time.monotonic() + 10
        while pub.connect_failure is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pub.connected.is_set()
        assert "refused the connection: Not authorized" in pub.connect_failure
        assert "check mqtt.username and mqtt.password" in caplog.text
    finally:
        pub.stop()


def test_a_wrong_ca_is_refused_and_said(secure_broker, caplog):
    broker, _ca, tmp = secure_broker
    other_ca, _k, _c = make_ca(tmp, "someone-else")
    caplog.set_level(logging.WARNING)
    pub = connect(broker, username="edge", password="s3cret", tls=True, ca_file=str(other_ca))
    try:
        deadline = time.monotonic() + 10
        while pub.connect_failure is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pub.connected.is_set()
        assert "certificate verify failed" in pub.connect_failure
        assert "check mqtt.ca_file" in caplog.text
    finally:
        pub.stop()


def test_without_tls_or_credentials_nothing_connects(secure_broker):
    broker, _ca, _tmp = secure_broker
    pub = connect(broker)  # plain MQTT to the TLS listener
    try:
        time.sleep(1.5)
        assert not pub.connected.is_set()
    finally:
        pub.stop()


def test_a_missing_ca_file_is_a_config_error():
    with pytest.raises(ConfigError, match=r"mqtt\.ca_file = '/nonexistent/ca\.crt'"):
        make_client(MqttConfig(tls=True, ca_file="/nonexistent/ca.crt"), "x")
