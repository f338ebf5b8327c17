"""The real load backends: burst fire in whole mains cycles, the 1-Wire tank probe, GPIO
without libgpiod, and a diverter satellite over a real Mosquitto."""

from __future__ import annotations

import asyncio
import json
import math
import time

import paho.mqtt.client as mqtt
import pytest

from edge.config import ConfigError, MqttConfig, parse_config
from edge.core.model import SgState
from edge.drivers.loads.hardware import (
    BurstFireOutput,
    GpioSgRelays,
    HardwareLoads,
    MqttSatelliteDiverter,
    W1TankSensor,
    hardware_loads,
)
from edge.drivers.loads.port import LoadsDriver
from edge.tasks import cancel_and_wait


class Lines:
    """Records every level set on every line."""

    def __init__(self) -> None:
        self.levels: dict[int, list[bool]] = {}

    def set(self, line: int, on: bool) -> None:
        self.levels.setdefault(line, []).append(on)


@pytest.mark.parametrize("duty", [0.0, 0.1, 0.3, 0.5, 0.77, 1.0])
def test_burst_fire_delivers_the_duty_within_one_cycle_at_every_moment(duty):
    lines = Lines()
    out = BurstFireOutput(lines, 17, element_w=3000.0, mains_hz=50)
    out.set_power_w(duty * 3000.0)
    on = 0
    for n in range(1, 501):
        on += out.step()
        assert abs(on - duty * n) <= 1.0, (n, on)
    assert out.cycles == 500 and out.cycles_on == on
    assert out.power_w == pytest.approx(duty * 3000.0)
    # The line only changes on an edge: no write per cycle while the level holds.
    assert len(lines.levels[17]) <= 2 * min(on, 500 - on) + 2


def test_burst_fire_spreads_the_cycles_evenly():
    out = BurstFireOutput(Lines(), 17, element_w=3000.0, mains_hz=50)
    out.set_power_w(900.0)  # 30 %
    pattern = [out.step() for _ in range(10)]
    assert pattern == [False, False, False, True, False, False, True, False, False, True]
    out.set_power_w(99999.0)
    assert out.duty == 1.0


def test_burst_fire_task_steps_at_mains_rate_and_leaves_the_line_off():
    async def go():
        lines = Lines()
        out = BurstFireOutput(lines, 17, element_w=3000.0, mains_hz=50)
        out.set_power_w(3000.0)
        task = asyncio.create_task(out.run())
        await asyncio.sleep(0.5)
        await cancel_and_wait([task])
        assert 20 <= out.cycles <= 30  # 25 cycles in 0.5 s at 50 Hz
        assert lines.levels[17][-1] is False

    asyncio.run(go())


def test_sg_ready_relays_follow_the_states():
    lines = Lines()
    loads = HardwareLoads(None, GpioSgRelays(lines, 22, 27), None, heat_pump_w=1400.0)
    drv = LoadsDriver(loads, deadband_w=50.0)
    drv.apply(0.0, SgState.FORCE)
    assert (lines.levels[22][-1], lines.levels[27][-1]) == (True, True)
    assert drv.sample(0.0).value.heat_pump_w == 1400.0  # rated power while boosted
    drv.apply(0.0, SgState.LOCK)
    assert (lines.levels[22][-1], lines.levels[27][-1]) == (True, False)
    drv.close()
    assert (lines.levels[22][-1], lines.levels[27][-1]) == (False, False)


def test_w1_tank_probe_formats_and_bad_readings(tmp_path, caplog):
    t = tmp_path / "temperature"
    t.write_text("45312\n")
    assert W1TankSensor(str(t)).read_degc() == pytest.approx(45.312)
    slave = tmp_path / "w1_slave"
    slave.write_text(
        "2d 02 4b 46 7f ff 03 10 92 : crc=92 YES\n2d 02 4b 46 7f ff 03 10 92 t=34812\n"
    )
    assert W1TankSensor(str(slave)).read_degc() == pytest.approx(34.812)
    slave.write_text("2d 02 4b 46 7f ff 03 10 92 : crc=00 NO\n2d 02 t=34812\n")
    probe = W1TankSensor(str(slave))
    assert probe.read_degc() is None and probe.failures == 1
    assert "CRC check failed" in caplog.text
    t.write_text("85000\n")  # the power-on value
    assert W1TankSensor(str(t)).read_degc() is None
    assert W1TankSensor(str(tmp_path / "gone")).read_degc() is None


def test_gpio_without_libgpiod_or_a_chip_is_a_config_error_naming_the_key():
    cfg = parse_config(
        {"loads": {"diverter": {"output": "burst_fire_gpio", "gpio_chip": "/dev/gpiochip9"}}}
    )
    with pytest.raises(ConfigError, match=r"loads\.diverter\.output: "):
        hardware_loads(cfg, client_id="t")
    assert hardware_loads(parse_config({}), client_id="t") is None  # all emulated


def test_diverter_satellite_over_mqtt(mosquitto):
    received: list[dict] = []
    sat = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(c, _u, msg):
        doc = json.loads(msg.payload)
        received.append(doc)
        state = {"power_w": doc["power_w"], "tank_temp_degc": 48.5}
        c.publish("edge/satellite/diverter/state", json.dumps(state), qos=1)

    sat.on_message = on_message
    sat.connect(mosquitto.host, mosquitto.port)
    sat.subscribe("edge/satellite/diverter/set", qos=1)
    sat.loop_start()
    time.sleep(0.2)
    out = MqttSatelliteDiverter(
        MqttConfig(host=mosquitto.host, port=mosquitto.port), "diverter", "edge-test"
    )
    drv = LoadsDriver(HardwareLoads(out, None, None, heat_pump_w=0.0), deadband_w=50.0)
    try:
        assert math.isinf(drv.sample(0.0).age_s)  # nothing heard yet: stale
        deadline = time.monotonic() + 10
        while (r := drv.sample(0.0)).value.heater_w != 1200.0 and time.monotonic() < deadline:
            drv.apply(1200.0, SgState.NORMAL)
            time.sleep(0.1)
        assert r.value.heater_w == 1200.0 and r.value.tank_temp_degc == 48.5
        assert r.age_s < 5.0
        assert received[-1]["power_w"] == 1200.0 and abs(received[-1]["sent_s"] - time.time()) < 5
        # A garbled state is refused and does not replace the good one.
        sat.publish("edge/satellite/diverter/state", b'{"power_w": -5}', qos=1)
        while out.rejected == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.rejected == 1 and drv.sample(0.0).value.heater_w == 1200.0
        # The satellite goes silent: its reading ages.
        sat.loop_stop()
        sat.disconnect()
        time.sleep(1.2)
        assert drv.sample(0.0).age_s >= 1.0
    finally:
        drv.close()


def test_the_satellite_hears_its_command_again_while_it_is_unchanged(mosquitto):
    """A satellite that answers only commands (and switches off when they stop) keeps its
    setting and a fresh reading while the command stays the same: the driver sends it
    again every refresh_s. Without that, a start-up whose first decision comes after the
    loads' staleness limit keeps the element off for good."""
    received: list[dict] = []
    sat = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(c, _u, msg):
        doc = json.loads(msg.payload)
        received.append(doc)
        c.publish(
            "edge/satellite/diverter/state",
            json.dumps({"power_w": doc["power_w"], "tank_temp_degc": 50.0}),
            qos=1,
        )

    sat.on_message = on_message
    sat.connect(mosquitto.host, mosquitto.port)
    sat.subscribe("edge/satellite/diverter/set", qos=1)
    sat.loop_start()
    time.sleep(0.2)
    out = MqttSatelliteDiverter(
        MqttConfig(host=mosquitto.host, port=mosquitto.port), "diverter", "edge-t", refresh_s=0.3
    )
    drv = LoadsDriver(HardwareLoads(out, None, None, heat_pump_w=0.0), deadband_w=50.0)
    try:
        time.sleep(0.3)
        drv.apply(800.0, SgState.NORMAL)  # one change; then the same decision every tick
        start = time.monotonic()
        ages = []
        while time.monotonic() - start < 2.0:
            ages.append(drv.sample(0.0).age_s)
            drv.apply(800.0, SgState.NORMAL)
            time.sleep(0.1)
        assert drv.writes.diverter == 1  # resending is not a new write against the budget
        assert sum(d["power_w"] == 800.0 for d in received) >= 4  # 2 s at one per 0.3 s
        assert max(ages[5:]) < 1.0  # each resend brings a fresh state
    finally:
        sat.loop_stop()
        sat.disconnect()
        drv.close()


def test_the_satellites_report_and_availability_reach_the_driver(mosquitto):
    """The firmware's own fields (reason, version, ...) are kept when well formed and left
    out when not; its last will "offline" makes the reading stale at once."""
    received: list[dict] = []
    sat = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sat.on_message = lambda _c, _u, msg: received.append(json.loads(msg.payload))
    sat.connect(mosquitto.host, mosquitto.port)
    sat.subscribe("edge/satellite/tank/set", qos=1)
    sat.loop_start()
    time.sleep(0.2)
    out = MqttSatelliteDiverter(
        MqttConfig(host=mosquitto.host, port=mosquitto.port), "tank", "edge-t"
    )
    try:
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            out.set_power_w(500.0)
            time.sleep(0.2)
        cmd = received[-1]
        assert cmd["power_w"] == 500.0 and abs(cmd["sent_ms"] - cmd["sent_s"] * 1000) <= 1
        assert isinstance(cmd["sent_ms"], int)
        state = {
            "power_w": 0.0,
            "tank_temp_degc": None,
            "reason": "probe: crc error",
            "version": "0.1.0",
            "uptime_s": 42,
            "mem_free_b": 30000,
            "rssi_dbm": "strong",  # wrong type: left out
            "refused": "x" * 500,  # too long: left out
        }
        sat.publish("edge/satellite/tank/state", json.dumps(state), qos=1)
        while not out.status and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.status == {
            "reason": "probe: crc error",
            "version": "0.1.0",
            "uptime_s": 42,
            "mem_free_b": 30000,
        }
        assert out.age_s() < 5.0 and out.tank_temp_degc is None
        sat.publish("edge/satellite/tank/availability", b"offline", qos=1, retain=True)
        while out.online is not False and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.online is False and math.isinf(out.age_s())
    finally:
        sat.loop_stop()
        sat.disconnect()
        out.close()
