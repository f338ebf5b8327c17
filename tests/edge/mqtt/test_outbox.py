"""The durable outbox: bounded by thinning samples (never counters), kept across a
restart, and an hour of telemetry held while the broker is down delivered in order, none
twice, once it is back."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import MqttConfig
from edge.mqtt.broker import LocalMosquitto
from edge.mqtt.discovery import DeviceIds
from edge.mqtt.outbox import Outbox
from edge.mqtt.publisher import MqttPublisher
from tests.conftest import MqttReader


def test_thinning_takes_the_oldest_samples_first_and_never_a_counter():
    box = Outbox(max_bytes=60_000)
    for k in range(400):
        box.put("edge/state", json.dumps({"seq": k, "pad": "x" * 100}).encode(), "sample")
        if k % 50 == 0:
            box.put("edge/energy", json.dumps({"seq": k}).encode(), "counter")
        box.write()  # what the sender thread does after each put
    assert box.size_bytes <= 60_000 + 300  # back under the bound after each thinning
    assert box.thinned > 0
    rows = box.oldest(10_000)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # order kept
    counters = [json.loads(p)["seq"] for _i, t, p in rows if t == "edge/energy"]
    assert counters == list(range(0, 400, 50))  # every counter kept
    samples = [json.loads(p)["seq"] for _i, t, p in rows if t == "edge/state"]
    assert samples[-50:] == list(range(350, 400))  # the newest are whole
    gaps = [b - a for a, b in itertools.pairwise(samples)]
    assert max(gaps) > 1 and gaps[-1] == 1  # the old end is thinned, the new end is not


def test_the_queue_survives_a_restart(tmp_path):
    db = str(tmp_path / "state.sqlite")
    box = Outbox(db)
    for k in range(5):
        box.put("edge/state", f'{{"seq": {k}}}'.encode(), "sample")
    box.delete([box.oldest(1)[0][0]])
    box.close()
    again = Outbox(db)
    assert [json.loads(p)["seq"] for _i, _t, p in again.oldest()] == [1, 2, 3, 4]
    assert len(again) == 4 and again.size_bytes > 0
    again.close()


def test_an_hour_offline_is_delivered_in_order_none_twice(tmp_path):
    broker = LocalMosquitto()
    port = broker.port
    ids = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home")
    outbox = Outbox(str(tmp_path / "state.sqlite"))
    pub = MqttPublisher(MqttConfig(host="127.0.0.1", port=port), ids, "edge-test", outbox=outbox)
    pub.start()
    reader = None
    try:
        assert pub.connected.wait(10)
        pub.publish_state({"k": -1})
        assert pub.sender.flush(5.0)  # acknowledged while the broker was up
        broker.stop()  # the broker goes away...
        deadline = time.monotonic() + 10
        while pub.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        for k in range(3600):  # ...for an hour of 1 s telemetry
            pub.publish_state({"k": k, "grid_power_w": 100.0 + k})
            if k % 60 == 0:
                pub.publish_counters({"k": k, "import_kwh": k / 3600})
        assert len(outbox) == 3600 + 60
        broker = LocalMosquitto(port=port)  # ...and comes back
        reader = MqttReader("127.0.0.1", port)
        reader.start()
        reader.wait_for(lambda: len(reader.on("edge/state")) >= 3600, timeout_s=90)
        reader.wait_for(lambda: len(outbox) == 0 and not pub.sender.busy, timeout_s=30)
        seqs = [json.loads(m.payload)["k"] for m in reader.on("edge/state")]
        assert seqs == list(range(3600)), "every sample, in order, none twice"
        counters = [json.loads(m.payload)["k"] for m in reader.on("edge/energy")]
        assert counters == list(range(0, 3600, 60))
        # Live again: the next sample goes straight out.
        pub.publish_state({"k": 3600})
        reader.wait_for(lambda: json.loads(reader.on("edge/state")[-1].payload)["k"] == 3600)
    finally:
        if reader is not None:
            reader.stop()
        pub.stop()
        broker.stop()


class _Subscriber:
    """A consumer with a persistent session (MQTT 3.1.1, QoS 1), as Home Assistant's
    recorder or a logger would be: what the broker keeps for it across a restart reaches
    it; every payload is kept as it came."""

    def __init__(self, port: int) -> None:
        self.docs: list[dict[str, Any]] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="edge-once", clean_session=False
        )
        self.client.on_connect = lambda c, *_: c.subscribe("edge/state", qos=1)
        self.client.on_message = lambda _c, _u, m: self.docs.append(json.loads(m.payload))
        self.client.reconnect_delay_set(1, 1)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_broker_restarts_mid_stream_lose_nothing_and_repeats_carry_their_identity(tmp_path):
    """The broker (persistent, as Home Assistant's add-on is) restarts three times while
    the outbox streams. QoS 1 is at least once: what was in flight may arrive twice. Every
    document carries (run, seq), so a consumer that drops a pair it has seen gets each
    document once, in the order published, and a repeat is always the same document."""
    folder = tmp_path / "broker"
    folder.mkdir()
    conf = f"persistence true\npersistence_location {folder}/\nmax_queued_messages 0\n"
    broker = LocalMosquitto(extra_conf=conf)
    port = broker.port
    ids = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home")
    outbox = Outbox(str(tmp_path / "state.sqlite"))
    pub = MqttPublisher(MqttConfig(host="127.0.0.1", port=port), ids, "edge-eo", outbox=outbox)
    sub = _Subscriber(port)
    pub.start()
    total = 6000
    try:
        assert pub.connected.wait(10)
        deadline = time.monotonic() + 10
        while not sub.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        for k in range(total):
            pub.publish_state({"k": k})
            if k in (1500, 3000, 4500):  # mid-stream: messages of ours are in flight
                broker.stop()
                broker = LocalMosquitto(port=port, extra_conf=conf)
            if k % 100 == 0:
                time.sleep(0.01)
        deadline = time.monotonic() + 60
        while (len(sub.docs) < total or pub.sender.busy) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # a late repeat would arrive now
        first: dict[tuple[str, int], dict[str, Any]] = {}
        for doc in sub.docs:
            key = (doc["run"], doc["seq"])
            assert first.setdefault(key, doc) == doc, "a repeat is the same document"
        assert {run for run, _seq in first} == {pub.run_id}
        assert [doc["seq"] for doc in first.values()] == list(range(1, total + 1))
        assert [doc["k"] for doc in first.values()] == list(range(total)), "all, in order"
    finally:
        sub.stop()
        pub.stop()
        broker.stop()
