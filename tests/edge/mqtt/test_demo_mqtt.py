"""`edge demo` publishes Home Assistant discovery, availability and state to a real Mosquitto."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from edge.mqtt.broker import LocalMosquitto
from tests.conftest import MqttReader

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def demo(broker: LocalMosquitto, *args: str) -> list[str]:
    return [sys.executable, "-m", "edge", "demo", "--broker", f"{broker.host}:{broker.port}", *args]


def test_demo_output_is_read_back_from_the_broker(mosquitto, mqtt_reader, tmp_path):
    proc = subprocess.run(
        demo(mosquitto, "--minutes", "4", "--speed", "30", "--png", str(tmp_path / "run.png")),
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert proc.returncode == 0, proc.stderr
    assert "summary:" in proc.stdout
    # Not a terminal: plain lines, and the picture of the run where it was asked for.
    assert f"picture of the run: {tmp_path / 'run.png'}" in proc.stdout
    # The DC bus came up dead: its under-voltage trip (fault 8) was cleared, then current.
    assert "clearing the trip its transient latched (0x0100)" in proc.stderr
    assert proc.stderr.index("clearing the trip") < proc.stderr.index("DC bus up at")
    ticks = [line for line in proc.stdout.splitlines() if line.startswith("12:0")]
    assert len(ticks) >= 200  # one line per tick over four simulated minutes

    mqtt_reader.wait_for(
        lambda: (
            mqtt_reader.on("edge/status")[-1:] != []
            and mqtt_reader.on("edge/status")[-1].payload == b"offline"
        )
    )
    configs, devices = {}, set()
    for m in mqtt_reader.messages:
        if m.topic.startswith("homeassistant/device/") and m.topic.endswith("/config"):
            devices.add(m.topic)
            configs.update(json.loads(m.payload)["cmps"])
    serial = "SE1ES410SIM001"
    for key, dev_cla, unit in [
        ("grid_power_w", "power", "W"),
        ("battery_power_w", "power", "W"),
        ("load_power_w", "power", "W"),
        ("pv_power_w", "power", "W"),
        ("battery_soc_pct", "battery", "%"),
    ]:
        c = configs[f"sofar_{serial}_{key}"]
        assert (c["dev_cla"], c["unit_of_meas"], c["stat_cla"]) == (dev_cla, unit, "measurement")
        assert c["stat_t"] == "edge/state"

    status = [m.payload for m in mqtt_reader.on("edge/status")]
    assert status[0] == b"online" and status[-1] == b"offline"
    assert mqtt_reader.on("edge/inverter/status")[0].payload == b"online"

    # Discovery and availability are retained: a client that comes later still gets them.
    late = MqttReader(mosquitto.host, mosquitto.port)
    late.start()
    try:
        late.wait_for(lambda: len(late.on("edge/status")) == 1)
        # Retained messages come in no set order: wait for them all (wait_for has a deadline).
        late.wait_for(lambda: devices <= {m.topic for m in late.messages if m.retain})
        assert late.on("edge/status")[0].payload == b"offline"
    finally:
        late.stop()

    states = [json.loads(m.payload) for m in mqtt_reader.on("edge/state")]
    assert len(states) >= 200
    last = states[-1]
    # Noon, 5 kWp: PV well above the 350 W base load; SOC rises from 50 %.
    assert last["pv_power_w"] > 3000
    assert 50 <= last["battery_soc_pct"] <= 60
    assert last["mode"] == "passive"
    # While the 3 kW kettle runs (12:02-12:04:30) the battery is off its 3 kW charge limit
    # and holds the grid near zero, apart from the tick of the step itself.
    unsaturated = [s for s in states if abs(s["battery_power_w"]) < 2900]
    assert len(unsaturated) >= 100
    near_zero = [s for s in unsaturated if abs(s["grid_power_w"]) <= 150]
    assert len(near_zero) >= 0.9 * len(unsaturated)
    # Before the kettle the surplus beyond the battery went to the DAB string (the first
    # decisions may come before the board's first reading: those states have no DAB).
    with_dab = [s["dab_charge_current_a"] for s in states if "dab_charge_current_a" in s]
    assert len(with_dab) >= 0.95 * len(states)
    assert max(with_dab) > 4.9


def test_the_last_will_says_offline_when_the_process_dies(mosquitto, mqtt_reader):
    proc = subprocess.Popen(
        demo(mosquitto, "--minutes", "60", "--speed", "1", "--quiet"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    try:
        mqtt_reader.wait_for(lambda: len(mqtt_reader.on("edge/state")) >= 1, timeout_s=60)
        assert mqtt_reader.on("edge/status")[-1].payload == b"online"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    # Keepalive is 30 s; a killed process closes its socket, so the broker sends the will now.
    mqtt_reader.wait_for(lambda: mqtt_reader.on("edge/status")[-1].payload == b"offline", 20)
    assert mqtt_reader.on("edge/status")[-1].retain is False  # delivered live to a subscriber
