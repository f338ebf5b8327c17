"""From per-entity to device discovery through a real Mosquitto: the old topics are told
to migrate, the device payloads follow, then the old topics are emptied, once; nothing of
the old layout stays retained, and a restart leaves the old topics alone."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt

from edge.config import MqttConfig
from edge.mqtt.discovery import DeviceIds, Topics, discovery_messages, legacy_topics
from edge.mqtt.migration import MIGRATE, migrate
from edge.mqtt.publisher import MqttPublisher
from tests.conftest import MqttReader

IDS = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home", devices=("diverter",))
TOPICS = Topics("homeassistant", "edge")
LEGACY = legacy_topics(IDS, TOPICS)
DEVICES = [t for t, _p in discovery_messages(IDS, TOPICS)]


def seed_old_release(broker) -> None:
    """What the previous release left on the broker: one retained config per entity."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.connect(broker.host, broker.port)
    c.loop_start()
    for topic in LEGACY:
        uid = topic.split("/")[2]
        old = {"name": uid, "uniq_id": uid, "stat_t": "edge/state", "o": {"name": "edge"}}
        c.publish(topic, json.dumps(old), qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def publisher(broker, db: str) -> MqttPublisher:
    cfg = MqttConfig(host=broker.host, port=broker.port)
    pub = MqttPublisher(cfg, IDS, "edge-migration-test", state_db=db, settle_s=0.2)
    pub.start()
    assert pub.connected.wait(10), pub.connect_failure
    return pub


def retained(broker) -> dict[str, bytes]:
    """What a client that subscribes now is handed: the retained messages."""
    late = MqttReader(broker.host, broker.port)
    late.start()
    try:
        late.wait_for(lambda: set(DEVICES) <= {m.topic for m in late.messages})
        return {m.topic: m.payload for m in late.messages if m.retain}
    finally:
        late.stop()


def test_the_old_topics_migrate_then_empty_once_and_nothing_old_stays(
    mosquitto, mqtt_reader, tmp_path
):
    seed_old_release(mosquitto)
    mqtt_reader.wait_for(lambda: all(mqtt_reader.on(t) for t in LEGACY))
    seeded = len(mqtt_reader.messages)
    db = str(tmp_path / "state.sqlite")

    pub = publisher(mosquitto, db)
    try:
        mqtt_reader.wait_for(lambda: all(len(mqtt_reader.on(t)) == 3 for t in LEGACY))
        mqtt_reader.wait_for(lambda: pub.discovery_sent == 1)  # acknowledged, noted as done
    finally:
        pub.stop()
    assert pub.discovery_sent == 1
    after = mqtt_reader.messages[seeded:]
    order = [(i, m.topic, m.payload) for i, m in enumerate(after)]
    migrates = [i for i, t, p in order if t in LEGACY and p == MIGRATE.encode()]
    configs = [i for i, t, _p in order if t in DEVICES]
    empties = [i for i, t, p in order if t in LEGACY and p == b""]
    # Each old topic: told to migrate once, emptied once; the device payloads in between.
    assert len(migrates) == len(empties) == len(LEGACY) and len(configs) == len(DEVICES)
    assert max(migrates) < min(configs) and max(configs) < min(empties)

    kept = retained(mosquitto)
    assert not [t for t in kept if t in LEGACY]  # no orphan left for HA to rediscover
    assert set(DEVICES) <= set(kept)
    payload = json.loads(kept["homeassistant/device/sofar_S1/config"])
    assert "sofar_S1_grid_power_w" in payload["cmps"]  # the old unique ids, taken over
    assert payload["dev"]["ids"] == ["sofar_S1"] and payload["o"]["name"] == "edge"
    for topic in DEVICES:  # every device payload: origin, device and platform-tagged parts
        device = json.loads(kept[topic])
        assert {"dev", "o", "cmps", "avty", "avty_mode"} <= set(device)
        assert all(c["p"] and c["uniq_id"] == uid for uid, c in device["cmps"].items())

    # A restart with the same state file: device payloads only, the old topics untouched.
    before = len(mqtt_reader.messages)
    pub = publisher(mosquitto, db)
    try:
        mqtt_reader.wait_for(
            lambda: sum(m.topic in DEVICES for m in mqtt_reader.messages[before:]) == len(DEVICES)
        )
        # Home Assistant's birth message asks for discovery again: still no old topic.
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        c.connect(mosquitto.host, mosquitto.port)
        c.loop_start()
        c.publish("homeassistant/status", "online", qos=1).wait_for_publish(5)
        c.disconnect()
        c.loop_stop()
        mqtt_reader.wait_for(
            lambda: (
                sum(m.topic in DEVICES for m in mqtt_reader.messages[before:]) == 2 * len(DEVICES)
            )
        )
    finally:
        pub.stop()
    assert pub.discovery_sent == 2
    assert not [m for m in mqtt_reader.messages[before:] if m.topic in LEGACY]


def test_without_a_state_file_every_start_migrates_and_still_leaves_nothing(mosquitto, mqtt_reader):
    # site.state_db = ":memory:" (the demo): nothing says it was done, so it is done again;
    # harmless, and the broker ends with the device payloads only.
    for _ in range(2):
        pub = publisher(mosquitto, ":memory:")
        try:
            mqtt_reader.wait_for(lambda p=pub: p.discovery_sent == 1)
        finally:
            pub.stop()
    kept = retained(mosquitto)
    assert not [t for t in kept if t in LEGACY] and set(DEVICES) <= set(kept)
    assert sum(m.payload == b"" for m in mqtt_reader.messages if m.topic in LEGACY) == 2 * len(
        LEGACY
    )


def test_a_step_the_broker_does_not_acknowledge_ends_the_migration_before_the_next():
    sent: list[str] = []

    def publish(topic: str, payload: str):
        sent.append(topic)
        return lambda _timeout_s: topic != LEGACY[3]  # one migrate message is never acked

    assert not migrate(publish, LEGACY, [(t, "{}") for t in DEVICES], settle_s=0.0)
    assert sent == LEGACY  # the device payloads and the clean-up wait for the next connect
    stop = threading.Event()
    stop.set()
    sent.clear()
    ok = lambda topic, _p: sent.append(topic) or (lambda _t: True)  # noqa: E731
    assert not migrate(ok, LEGACY, [(t, "{}") for t in DEVICES], settle_s=5.0, stop=stop)
    assert sent == LEGACY  # closing: it stops at once after the step under way
