"""`edge run --config` drives the devices a config names; SIGTERM hands the inverter back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from edge.drivers.budget import WriteBudget
from edge.drivers.sofar.sim import SofarEmulator
from edge.sim.house import House, HouseParams, InverterMode

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


class BackgroundEmulator:
    """A Sofar emulator on its own event loop in a thread, for a supervisor in a subprocess."""

    def __init__(self) -> None:
        self.house = House(HouseParams(), start_s=12 * 3600.0)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.emu = SofarEmulator(self.house)
        self.port = asyncio.run_coroutine_threadsafe(self.emu.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.emu.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def write_config(tmp_path: Path, port: int) -> Path:
    cfg = tmp_path / "site.toml"
    cfg.write_text(
        f'[site]\nstate_db = "{tmp_path / "state.sqlite"}"\n\n'
        f'[inverter]\nfamily = "sofar_me3000sp"\nport = "tcp://127.0.0.1:{port}"\n\n'
        "[mqtt]\nenabled = false\n\n"
        "[dab]\nenabled = false\n"
    )
    return cfg


def test_run_commands_the_inverter_and_sigterm_returns_it_to_self_use(tmp_path: Path):
    bg = BackgroundEmulator()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(write_config(tmp_path, bg.port))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        deadline = time.monotonic() + 30
        while bg.emu.passive_commands == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert bg.house.state.mode is InverterMode.PASSIVE
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert bg.house.state.mode is InverterMode.AUTO
        assert "first full read done" in out
        assert "summary:" in out
        assert "Traceback" not in err
        # Every write, the final self-use included, is counted in the state file.
        writes = WriteBudget("inverter", 10, str(tmp_path / "state.sqlite"))
        today_s = time.time() + time.localtime().tm_gmtoff
        assert writes.used(today_s) == bg.emu.passive_commands
    finally:
        bg.stop()


def test_run_without_a_device_retries_and_reports_without_a_traceback(tmp_path: Path):
    from edge.mqtt.broker import free_port

    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(write_config(tmp_path, free_port()))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "cannot connect (refused or no device), retrying in 0.5 s" in err
    assert "Traceback" not in err


def test_edge_run_with_a_bad_config_exits_non_zero_with_the_message(tmp_path: Path):
    bad = tmp_path / "site.toml"
    bad.write_text('[inverter]\nport = "tcp://127.0.0.1:1"\nslave_id = 99\n')
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "inverter.slave_id = 99: Input should be less than or equal to 63" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_drives_a_hyd_ep_through_its_g3_registers(tmp_path: Path):
    example = Path("edge/examples/simulated-house.toml").read_text(encoding="utf-8")
    assert 'family = "sofar_me3000sp"' in example
    cfg = tmp_path / "hyd-ep.toml"
    cfg.write_text(example.replace('"sofar_me3000sp"', '"sofar_hyd_ep"'), encoding="utf-8")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "edge", "demo", "--config", str(cfg), "--no-mqtt"),
            *("--minutes", "2", "--speed", "30"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "HYD-EP inverter at" in proc.stderr and "serial SM2ES410SIM001" in proc.stderr
    ticks = [line for line in proc.stdout.splitlines() if line.startswith("12:0")]
    assert len(ticks) >= 100
    # Passive commands reach the house: the battery follows them and the grid stays near 0.
    assert sum("cmd passive" in line for line in ticks) >= 0.95 * len(ticks)
    assert "ticks in safe state: 0" in proc.stdout


def test_run_drives_a_diverter_satellite_and_turns_it_off_on_sigterm(tmp_path: Path, mosquitto):
    import json

    import paho.mqtt.client as mqtt

    bg = BackgroundEmulator()
    stepping = asyncio.run_coroutine_threadsafe(_step_house(bg.house), bg.loop)
    commands: list[float] = []
    sat = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(c, _u, msg):
        power = json.loads(msg.payload)["power_w"]
        commands.append(power)
        state = {"power_w": power, "tank_temp_degc": 45.0}
        c.publish("edge/satellite/diverter/state", json.dumps(state), qos=1)

    sat.on_message = on_message
    sat.connect(mosquitto.host, mosquitto.port)
    sat.subscribe("edge/satellite/diverter/set", qos=1)
    sat.loop_start()
    cfg = write_config(tmp_path, bg.port)
    text = cfg.read_text().replace("[mqtt]\nenabled = false\n", "")
    cfg.write_text(
        text + f'\n[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n\n'
        '[loads.diverter]\noutput = "mqtt_satellite"\n'
    )
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        # Noon on a 5 kWp roof: more surplus than the battery's 3 kW, so the element runs.
        deadline = time.monotonic() + 40
        while not any(p > 100 for p in commands) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any(p > 100 for p in commands), commands
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        time.sleep(0.3)
        assert commands[-1] == 0.0  # the element is off when the supervisor stops
        assert "surplus to the tank" in out
    finally:
        sat.loop_stop()
        sat.disconnect()
        stepping.cancel()
        bg.stop()


async def _step_house(house: House) -> None:
    while True:
        await asyncio.sleep(0.25)
        house.step(0.25)
