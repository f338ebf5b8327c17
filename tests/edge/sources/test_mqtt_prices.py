"""Prices on MQTT, through the real Mosquitto (tests/conftest.py)."""

import json
import time

import paho.mqtt.client as mqtt
import pytest

from edge.config import MqttConfig
from edge.sources.mqtt_prices import MqttPrices, parse_price_payload
from edge.sources.series import SourceError
from tests.edge.sources.conftest import T0_S, iso


def rates(prices, key="price", t0=T0_S):
    return [
        {"start": iso(t0 + 1800 * k), "end": iso(t0 + 1800 * (k + 1)), key: p}
        for k, p in enumerate(prices)
    ]


def test_our_documented_payload():
    doc = {"unit": "p/kWh", "import": rates([20, 25.5]), "export": rates([15, 15])}
    imp, exp = parse_price_payload(json.dumps(doc).encode())
    assert imp.t0_s == T0_S and imp.prices_gbp_per_kwh == (0.2, 0.255)
    assert exp is not None and exp.prices_gbp_per_kwh == (0.15, 0.15)


def test_home_assistants_octopus_rates_forwarded_as_they_are():
    doc = {"unit": "GBP/kWh", "import": rates([0.2, 0.3], key="value_inc_vat")}
    imp, exp = parse_price_payload(json.dumps(doc).encode())
    assert imp.prices_gbp_per_kwh == (0.2, 0.3) and exp is None


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"not json", "not JSON"),
        (b'{"unit": "p/kWh", "import": [', "not JSON"),
        (b"[1]", "expected a JSON object"),
        (json.dumps({"import": rates([1])}).encode(), "unit = None: one of p/kWh, GBP/kWh"),
        (
            json.dumps({"unit": "GBP/kWh", "import": rates([24.5])}).encode(),
            r"import\[0\].price = 24.5: over £10/kWh",
        ),
        (json.dumps({"unit": "p/kWh", "import": []}).encode(), "import: expected a non-empty list"),
        (json.dumps({"unit": "p/kWh", "import": [{"start": 1}]}).encode(), "import\\[0\\].start"),
        (b"{" + b" " * 300_000 + b"}", "payload of 300002 bytes"),
    ],
)
def test_bad_payloads_are_named(payload, why):
    with pytest.raises(SourceError, match=f"^mqtt prices: {why}"):
        parse_price_payload(payload)


def test_prices_arrive_through_the_broker_and_bad_ones_are_reported(mosquitto):
    got, problems = [], []
    cfg = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    sub = MqttPrices(cfg, "edge/prices", "edge-prices-test", got.append, problems.append)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    try:
        # retained before we subscribe: a restart finds the latest at once
        doc = {"unit": "p/kWh", "import": rates([9.5, 10.5])}
        pub.publish("edge/prices", json.dumps(doc), qos=1, retain=True).wait_for_publish(5)
        sub.start()
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got and got[0][0].prices_gbp_per_kwh == (0.095, 0.105)
        pub.publish("edge/prices", b"{garbage", qos=1).wait_for_publish(5)
        while not problems and time.monotonic() < deadline:
            time.sleep(0.05)
        assert problems and problems[0].startswith("mqtt prices (edge/prices): not JSON")
        assert len(got) == 1
    finally:
        sub.stop()
        pub.loop_stop()
        pub.disconnect()
