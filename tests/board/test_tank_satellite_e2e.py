"""End to end: a real Mosquitto, `edge run` with the mqtt_satellite diverter against the
emulated inverter at noon, and the tank satellite's application under the MicroPython
Unix port (64 KiB heap) with its probe, SSR and zero-cross emulated.

The tests share one set-up and run in this order (each leaves the satellite heating):
the element follows the surplus; a garbled or out-of-range setpoint is refused; probe
faults and over-temperature switch it off with the reason published; the broker
stopping switches it off and it resumes when the broker is back; killing the supervisor
switches it off within its limit. Short limits keep each step to a few seconds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge.mqtt.broker import LocalMosquitto
from tests.board.satellite.harness import Satellite
from tests.edge.test_run import ENV, BackgroundEmulator, _step_house, write_config

LIMITS = {
    "setpoint_timeout_s": 2.0,
    "probe_period_s": 1.0,
    "probe_timeout_s": 4.0,
    "tank_max_degc": 60.0,
    "tank_resume_degc": 55.0,
    "state_period_s": 1.0,
    "retry_s": 0.5,
    "connect_timeout_s": 2.0,
}
TOPIC = "edge/satellite/tank/"


@dataclass
class Watcher:
    """A paho client on the satellite's topics: every state and availability message."""

    host: str
    port: int
    states: list[dict[str, Any]] = field(default_factory=list)
    availability: list[tuple[bytes, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_connect = lambda c, *_a: c.subscribe(TOPIC + "#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect(self.host, self.port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            if msg.topic == TOPIC + "state":
                self.states.append(json.loads(msg.payload))
            elif msg.topic == TOPIC + "availability":
                self.availability.append((bytes(msg.payload), bool(msg.retain)))

    def wait_state(self, pred: Callable[[dict[str, Any]], bool], timeout_s: float = 10.0):
        """The current state, or a later one, that satisfies pred."""
        deadline = time.monotonic() + timeout_s
        with self.lock:
            seen = max(0, len(self.states) - 1)
        while time.monotonic() < deadline:
            with self.lock:
                new = self.states[seen:]
                seen = len(self.states)
            for doc in new:
                if pred(doc):
                    return doc
            time.sleep(0.05)
        with self.lock:
            last = self.states[-3:]
        raise AssertionError(f"no such satellite state within {timeout_s} s; last: {last}")

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def retained(broker: LocalMosquitto, topic: str, timeout_s: float = 5.0) -> bytes | None:
    """The retained message on topic, as a fresh subscriber receives it, or None."""
    got: list[bytes] = []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
    c.on_message = lambda _c, _u, m: got.append(bytes(m.payload)) if m.retain else None
    c.connect(broker.host, broker.port)
    c.loop_start()
    deadline = time.monotonic() + timeout_s
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    c.loop_stop()
    c.disconnect()
    return got[0] if got else None


@dataclass
class Rig:
    broker: LocalMosquitto
    satellite: Satellite
    watcher: Watcher
    supervisor: subprocess.Popen[str]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("satellite")
    broker = LocalMosquitto()
    bg = BackgroundEmulator()
    stepping = __import__("asyncio").run_coroutine_threadsafe(_step_house(bg.house), bg.loop)
    cfg = write_config(tmp, bg.port)
    text = cfg.read_text().replace("[mqtt]\nenabled = false\n", "")
    cfg.write_text(
        text + f'\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n\n'
        '[loads.diverter]\noutput = "mqtt_satellite"\nsatellite = "tank"\n'
        "satellite_refresh_s = 0.5\n"
    )
    watcher = Watcher(broker.host, broker.port)
    watcher.start()
    satellite = Satellite(tmp, broker.host, broker.port, "tank", **LIMITS).start()
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(cfg), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    rig = Rig(broker, satellite, watcher, supervisor)
    try:
        yield rig
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        supervisor.wait(10)
        log = satellite.stop()
        watcher.stop()
        rig.broker.stop()  # the one running now: a test restarts it on another object
        stepping.cancel()
        bg.stop()
        print(log)


def heating(doc: dict[str, Any]) -> bool:
    return doc["reason"] == "ok" and doc["power_w"] > 100


def heating_for(watcher: Watcher, seconds: float, timeout_s: float = 30.0) -> None:
    """Wait until every state for `seconds` (by the satellite's uptime) says heating: the
    supervisor is commanding it, not a setpoint left over from before an outage."""
    since: list[int] = []

    def pred(doc: dict[str, Any]) -> bool:
        if not heating(doc):
            since.clear()
            return False
        since.append(doc["uptime_s"])
        return since[-1] - since[0] >= seconds

    watcher.wait_state(pred, timeout_s)


def test_the_element_follows_the_supervisors_surplus(rig: Rig):
    # Noon on the emulated 5 kWp roof: more surplus than the battery takes.
    first = rig.watcher.wait_state(heating, timeout_s=45)
    assert first["power_w"] == first["setpoint_w"] and first["tank_temp_degc"] == 45.0
    assert first["version"] == "0.1.0" and first["uptime_s"] >= 0 and first["mem_free_b"] > 0
    # Retained, as Home Assistant needs: a client subscribing later is told at once.
    assert retained(rig.broker, TOPIC + "availability") == b"online"
    # Several commands in: the element keeps following (each state answers the latest).
    later = rig.watcher.wait_state(lambda d: heating(d) and d["uptime_s"] > first["uptime_s"] + 2)
    assert 0 < later["power_w"] <= 3000.0


def test_home_assistant_discovers_the_satellite_under_the_controller(rig: Rig):
    found: dict[str, dict[str, Any]] = {}
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.on_connect = lambda c, *_a: c.subscribe("homeassistant/device/+/config", qos=1)
    c.on_message = lambda _c, _u, m: m.payload and found.update({m.topic: json.loads(m.payload)})
    c.connect(rig.broker.host, rig.broker.port)
    c.loop_start()
    deadline = time.monotonic() + 10
    while not any("satellite_tank" in t for t in found) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    c.loop_stop()
    c.disconnect()
    sat = [p for t, p in found.items() if "_satellite_tank" in t]
    bridges = {p["dev"]["ids"][0] for p in found.values() if "controller" in p["dev"]["name"]}
    assert len(sat) == 1 and len(bridges) == 1
    assert sat[0]["dev"]["via_device"] in bridges
    assert len(sat[0]["cmps"]) == 8
    assert {e["stat_t"] for e in sat[0]["cmps"].values()} == {TOPIC + "state"}


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"{not json", "garbled"),
        (b'{"power_w": 2000}', "garbled"),
        (b'{"power_w": 99999, "sent_ms": 99999999999999}', "power out of range"),
        (b'{"power_w": 3000, "sent_ms": 1000}', "replayed"),
    ],
)
def test_a_garbled_or_out_of_range_setpoint_is_refused_and_published(rig: Rig, payload, why):
    before = rig.watcher.wait_state(heating)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(rig.broker.host, rig.broker.port)
    pub.loop_start()
    pub.publish(TOPIC + "set", payload, qos=1).wait_for_publish(5)
    pub.loop_stop()
    pub.disconnect()
    doc = rig.watcher.wait_state(lambda d: d["refusals"] > before["refusals"])
    assert doc["refused"] == why and doc["refusals"] == before["refusals"] + 1
    assert doc["power_w"] != 99999 and doc["reason"] == "ok"  # the last good one stands


@pytest.mark.parametrize(
    ("control", "reason"),
    [
        ({"fault": "crc"}, "probe: crc error"),
        ({"fault": "power_on"}, "probe: power-on value"),
        ({"connected": False}, "probe: disconnected"),
        ({"temp_degc": 62.0}, "over temperature"),
    ],
)
def test_a_probe_fault_or_over_temperature_switches_the_element_off(rig: Rig, control, reason):
    rig.watcher.wait_state(heating)
    rig.satellite.set_probe(**{"temp_degc": 45.0, **control})
    off = rig.watcher.wait_state(lambda d: d["reason"] == reason, timeout_s=5)
    assert off["power_w"] == 0.0
    if reason == "over temperature":
        # Hysteresis: 57 degC is below the maximum but above the resume point.
        rig.satellite.set_probe(temp_degc=57.0)
        rig.watcher.wait_state(lambda d: d["tank_temp_degc"] == 57.0, timeout_s=5)
        assert rig.watcher.wait_state(lambda d: True)["reason"] == "over temperature"
    else:
        assert off["tank_temp_degc"] is None  # a fault is never a temperature
    rig.satellite.set_probe(temp_degc=45.0)
    rig.watcher.wait_state(heating, timeout_s=10)


def test_the_broker_stopping_switches_the_element_off_and_it_resumes_after(rig: Rig):
    heating_for(rig.watcher, 2)
    port = rig.broker.port
    mark, t0 = rig.satellite.mark(), time.monotonic()
    rig.broker.stop()
    rig.satellite.wait_log(lambda line: "off: broker unreachable" in line, 5, since=mark)
    off_s = time.monotonic() - t0
    time.sleep(1.0)
    rig.broker = LocalMosquitto(port=port)
    rig.satellite.wait_log(lambda line: "broker connected (2)" in line, 10, since=mark)
    # The supervisor's client reconnects too (paho backs off 1 s, then 2 s, ...).
    heating_for(rig.watcher, 3, timeout_s=30)
    print(f"broker stopped -> element off in {off_s:.2f} s")
    assert off_s < 2.0


def test_killing_the_supervisor_switches_the_element_off_within_its_limit(rig: Rig):
    heating_for(rig.watcher, 2)
    mark, t0 = rig.satellite.mark(), time.monotonic()
    rig.supervisor.send_signal(signal.SIGKILL)  # no goodbye: its last command was > 0
    rig.satellite.wait_log(lambda line: "off: setpoint stale" in line, 10, since=mark)
    off_s = time.monotonic() - t0
    off = rig.watcher.wait_state(lambda d: d["reason"] == "setpoint stale", timeout_s=5)
    assert off["power_w"] == 0.0
    print(f"supervisor killed -> element off in {off_s:.2f} s")
    # Its last command came at most one refresh (0.5 s) before the kill; off when that
    # one is older than the limit (2 s), within one pass of the rules (0.1 s).
    limit_s = LIMITS["setpoint_timeout_s"]
    assert limit_s - 0.5 - 0.1 <= off_s <= limit_s + 0.5


def test_the_satellite_ran_within_the_boards_heap(rig: Rig):
    """Everything above ran with a 64 KiB heap (the state's free memory says the limit
    was in force), without running out of memory and without stopping."""
    log = rig.satellite.log()
    live = [int(line.split()[-1]) for line in log if " heap used " in line]
    assert live and all(0 < n < 64 * 1024 for n in live)
    assert not any("MemoryError" in line or "out of memory" in line for line in log)
    assert all(0 < d["mem_free_b"] < 64 * 1024 for d in rig.watcher.states)
    assert rig.satellite.proc is not None and rig.satellite.proc.poll() is None


def test_a_retained_setpoint_is_ignored_after_a_restart(tmp_path: Path, mosquitto):
    """A retained command (left by anyone) is old by definition: a satellite booting to it
    keeps the element off and says why."""
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    now_s = time.time()
    doc = {"power_w": 3000, "sent_s": now_s, "sent_ms": int(now_s * 1000)}
    pub.publish(TOPIC + "set", json.dumps(doc), qos=1, retain=True).wait_for_publish(5)
    watcher = Watcher(mosquitto.host, mosquitto.port)
    watcher.start()
    sat = Satellite(tmp_path, mosquitto.host, mosquitto.port, "tank", **LIMITS).start()
    try:
        state = watcher.wait_state(lambda d: d["refused"] is not None, timeout_s=10)
        assert state["refused"] == "retained" and state["power_w"] == 0.0
        assert state["reason"] == "no setpoint"
    finally:
        log = sat.stop()
        watcher.stop()
        pub.loop_stop()
        pub.disconnect()
    assert "setpoint refused: retained" in log
    # Stopped without a goodbye: the broker publishes its retained last will.
    assert retained(mosquitto, TOPIC + "availability", timeout_s=60) == b"offline"
