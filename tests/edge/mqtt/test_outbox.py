"""The durable outbox: bounded by thinning samples (never counters), kept across a
restart, and an hour of telemetry held while the broker is down delivered in order, none
twice, once it is back."""

from __future__ import annotations

import itertools
import json
import time

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
        pub.publish_state({"seq": -1})
        assert pub.sender.flush(5.0)  # acknowledged while the broker was up
        broker.stop()  # the broker goes away...
        deadline = time.monotonic() + 10
        while pub.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        for k in range(3600):  # ...for an hour of 1 s telemetry
            pub.publish_state({"seq": k, "grid_power_w": 100.0 + k})
            if k % 60 == 0:
                pub.publish_counters({"seq": k, "import_kwh": k / 3600})
        assert len(outbox) == 3600 + 60
        broker = LocalMosquitto(port=port)  # ...and comes back
        reader = MqttReader("127.0.0.1", port)
        reader.start()
        reader.wait_for(lambda: len(reader.on("edge/state")) >= 3600, timeout_s=90)
        reader.wait_for(lambda: len(outbox) == 0 and not pub.sender.busy, timeout_s=30)
        seqs = [json.loads(m.payload)["seq"] for m in reader.on("edge/state")]
        assert seqs == list(range(3600)), "every sample, in order, none twice"
        counters = [json.loads(m.payload)["seq"] for m in reader.on("edge/energy")]
        assert counters == list(range(0, 3600, 60))
        # Live again: the next sample goes straight out.
        pub.publish_state({"seq": 3600})
        reader.wait_for(lambda: json.loads(reader.on("edge/state")[-1].payload)["seq"] == 3600)
    finally:
        if reader is not None:
            reader.stop()
        pub.stop()
        broker.stop()
