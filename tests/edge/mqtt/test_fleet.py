"""The shipped Mosquitto examples, run: a house broker bridged to a central broker (TLS
and password, as an installer's would be), and the ACL that gives Home Assistant exactly
the commands."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from edge.config import MqttConfig
from edge.mqtt.broker import LocalMosquitto
from edge.mqtt.client import make_client
from edge.mqtt.discovery import DeviceIds
from edge.mqtt.publisher import MqttPublisher
from tests.tlsutil import make_ca, make_server_cert

EXAMPLES = Path(__file__).parents[3] / "edge" / "examples"
IDS = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home")


class Listener:
    def __init__(self, cfg: MqttConfig, topic: str) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.client = make_client(cfg, f"listener-{time.monotonic_ns()}")
        self.client.on_message = lambda _c, _u, m: self.got.append((m.topic, m.payload))
        self.client.connect(cfg.host, cfg.port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        time.sleep(0.3)

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def wait(self, pred, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not pred() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pred(), self.got

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_a_house_bridged_to_the_central_broker(tmp_path):
    ca, ca_key, ca_cert = make_ca(tmp_path, "fleet-ca")
    crt, key = make_server_cert(tmp_path, ca_key, ca_cert)
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "house1", "pw1"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "installer", "pw2"], check=True)
    central = LocalMosquitto(
        extra_conf=f"cafile {ca}\ncertfile {crt}\nkeyfile {key}\npassword_file {passwd}\n",
        anonymous=False,
    )
    bridge = (
        (EXAMPLES / "mosquitto-bridge.conf")
        .read_text()
        .replace("HOUSE", "house1")
        .replace("central.example.net:8883", f"127.0.0.1:{central.port}")
        .replace("CHANGE-ME", "pw1")
        .replace("/etc/mosquitto/certs/central-ca.crt", str(ca))
    )
    house = LocalMosquitto(extra_conf=bridge)
    central_cfg = MqttConfig(
        host="127.0.0.1",
        port=central.port,
        username="installer",
        password="pw2",
        tls=True,
        ca_file=str(ca),
    )
    pub = MqttPublisher(MqttConfig(host="127.0.0.1", port=house.port), IDS, "edge-house1")
    watcher = in_house = None
    try:
        watcher = Listener(central_cfg, "houses/house1/#")
        in_house = Listener(MqttConfig(host="127.0.0.1", port=house.port), "edge/cmd/#")
        watcher.wait(lambda: any(t == "houses/house1/bridge/state" for t, _p in watcher.got))
        pub.start()
        assert pub.connected.wait(10)
        pub.publish_state({"k": 7})
        watcher.wait(lambda: any(t == "houses/house1/edge/state" for t, _p in watcher.got))
        state = next(p for t, p in watcher.got if t == "houses/house1/edge/state")
        assert json.loads(state)["k"] == 7
        assert any(t == "houses/house1/edge/status" and p == b"online" for t, p in watcher.got)
        # A command sent centrally reaches the house, under the house's own topic.
        watcher.publish("houses/house1/edge/cmd/emergency_stop", "PRESS")
        in_house.wait(lambda: ("edge/cmd/emergency_stop", b"PRESS") in in_house.got)
        # ...and is not echoed back out.
        time.sleep(0.5)
        echoed = [t for t, _p in watcher.got if t == "houses/house1/edge/cmd/emergency_stop"]
        assert len(echoed) == 1  # the installer's own publish, seen once
    finally:
        for c in (watcher, in_house):
            if c is not None:
                c.stop()
        pub.stop()
        house.stop()
        central.stop()


def test_the_acl_gives_home_assistant_exactly_the_commands(tmp_path):
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "edge", "e"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "homeassistant", "h"], check=True)
    acl = EXAMPLES / "mosquitto-acl.conf"
    broker = LocalMosquitto(extra_conf=f"password_file {passwd}\nacl_file {acl}\n", anonymous=False)
    port = broker.port
    edge_cfg = MqttConfig(host="127.0.0.1", port=port, username="edge", password="e")
    ha_cfg = MqttConfig(host="127.0.0.1", port=port, username="homeassistant", password="h")
    edge_side = Listener(edge_cfg, "edge/#")
    ha = Listener(ha_cfg, "edge/#")
    try:
        ha.publish("edge/cmd/boost_hot_water", "PRESS")  # allowed
        ha.publish("edge/state", '{"forged": true}')  # denied: dropped by the broker
        ha.publish("edge/write_register", "0x1187")  # denied
        ha.publish("edge/prices", '{"prices": []}')  # allowed: the planner's prices
        edge_side.wait(lambda: ("edge/cmd/boost_hot_water", b"PRESS") in edge_side.got)
        edge_side.wait(lambda: ("edge/prices", b'{"prices": []}') in edge_side.got)
        edge_side.publish("edge/state", '{"seq": 1}')  # the controller may publish state
        ha.wait(lambda: ("edge/state", b'{"seq": 1}') in ha.got)
        time.sleep(0.3)
        topics = [t for t, _p in edge_side.got]
        assert "edge/write_register" not in topics
        assert (b'{"forged": true}') not in [p for _t, p in edge_side.got]
    finally:
        edge_side.stop()
        ha.stop()
        broker.stop()
