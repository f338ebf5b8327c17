"""Commands through a real Mosquitto reach a running `edge demo`: an emergency stop idles
everything until cleared, and a bad command is refused with the reason on cmd/result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import paho.mqtt.client as mqtt

from tests.conftest import MqttReader

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def send(broker, key: str, value, **extra) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.connect(broker.host, broker.port)
    c.loop_start()
    payload = json.dumps({"value": value, "sent_s": time.time(), **extra})
    c.publish(f"edge/cmd/{key}", payload, qos=1).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def states(reader: MqttReader) -> list[dict]:
    return [json.loads(m.payload) for m in reader.on("edge/state")]


def results(reader: MqttReader) -> list[dict]:
    return [json.loads(m.payload) for m in reader.on("edge/cmd/result")]


def test_emergency_stop_and_a_refused_command_over_mqtt(mosquitto, mqtt_reader, tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "edge",
            "demo",
            "--broker",
            f"{mosquitto.host}:{mosquitto.port}",
            "--minutes",
            "20",
            "--speed",
            "10",
            "--quiet",
            *("--png", str(tmp_path / "run.png")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        mqtt_reader.wait_for(lambda: len(states(mqtt_reader)) >= 3, timeout_s=60)
        # The BMS is a Home Assistant device named by its master module's serial.
        bms_topic = "homeassistant/device/pylontech_PPTAP00000000000/config"
        mqtt_reader.wait_for(lambda: mqtt_reader.on(bms_topic) != [], timeout_s=30)
        bms_config = json.loads(mqtt_reader.on(bms_topic)[0].payload)
        assert bms_config["dev"]["sn"] == "PPTAP00000000000"
        spread = bms_config["cmps"]["pylontech_PPTAP00000000000_bms_cell_spread_mv"]
        assert spread["uniq_id"] == "pylontech_PPTAP00000000000_bms_cell_spread_mv"
        first = states(mqtt_reader)[-1]
        assert first["emergency_stop"] == "OFF"
        # The BMS's own view is published beside the inverter's: cells, alarms, startup.
        assert 3.0 < first["bms_cell_min_v"] < first["bms_cell_max_v"] < 3.6
        assert first["bms_cell_spread_mv"] > 0 and first["bms_alarm"] == "OFF"
        assert first["inverter_state"] in ("charging", "standby", "discharging")
        assert first["inverter_fault"] == "OFF" and first["export_limit_w"] == 25000.0
        # The DAB board starts tripped by its dead bus, and is reset once the bus is up.
        mqtt_reader.wait_for(
            lambda: (
                (s := states(mqtt_reader)[-1])["dab_tripped"] == "OFF"
                and s["dab_faults"] == "none"
                and s["dab_startup"] == "ready"
            )
        )

        send(mosquitto, "force_charge_w", 9000)  # above inverter.max_charge_w
        mqtt_reader.wait_for(lambda: results(mqtt_reader) != [])
        r = results(mqtt_reader)[-1]
        assert r["command"] == "force_charge_w" and r["accepted"] is False
        assert "allowed 0 to 3000 W" in r["reason"]

        send(mosquitto, "emergency_stop", "PRESS")
        mqtt_reader.wait_for(
            lambda: any(
                s["emergency_stop"] == "ON" and s["reason"].startswith("emergency stop")
                for s in states(mqtt_reader)
            )
        )
        assert results(mqtt_reader)[-1]["accepted"] is True
        # While stopped the battery is commanded idle and the element is off.
        mqtt_reader.wait_for(
            lambda: (
                (s := states(mqtt_reader)[-1])["emergency_stop"] == "ON"
                and abs(s["battery_power_w"]) < 50
                and s.get("diverter_setpoint_w", 0) == 0
            ),
            timeout_s=20,
        )

        send(mosquitto, "clear_trip", "PRESS")
        mqtt_reader.wait_for(
            lambda: (
                (s := states(mqtt_reader)[-1])["emergency_stop"] == "OFF"
                and not s["reason"].startswith("emergency stop")
            )
        )
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            out, err = proc.communicate(timeout=30)
            raise AssertionError(f"edge demo did not stop on SIGTERM:\n{err[-6000:]}") from None
    assert proc.returncode == 0, err
    assert "commands: 2 accepted, 1 refused" in out
    # Energy totals went out on their own topic, growing.
    totals = [json.loads(m.payload) for m in mqtt_reader.on("edge/energy")]
    assert len(totals) >= 2
    assert totals[-1]["battery_charge_kwh"] > totals[0]["battery_charge_kwh"] >= 0.0
    assert "command force_charge_w refused: force_charge_w = 9000" in err
