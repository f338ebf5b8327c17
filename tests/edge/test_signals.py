"""Fault suite: signals against a real `python -m edge run` and the Sofar emulator.

SIGTERM and SIGINT end the run with the inverter back in its own self-use mode, the summary
printed and the local API's socket removed; SIGHUP (a closed SSH session) reloads the site
file as the local API's reload does and the run goes on."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edge.sim.house import InverterMode
from tests.edge.test_run import ENV, BackgroundEmulator

MAX_CHARGE = "max_charge_w = 3000\n"


def site_file(tmp_path: Path, port: int) -> Path:
    cfg = tmp_path / "site.toml"
    cfg.write_text(
        f'[site]\nstate_db = "{tmp_path / "state.sqlite"}"\n'
        f'api_socket = "{tmp_path / "api.sock"}"\n\n'
        f'[inverter]\nfamily = "sofar_me3000sp"\nport = "tcp://127.0.0.1:{port}"\n{MAX_CHARGE}\n'
        "[mqtt]\nenabled = false\n\n[dab]\nenabled = false\n"
    )
    return cfg


class EdgeRun:
    """`python -m edge run` (or another command) in a subprocess; its stderr read line by
    line as it comes."""

    def __init__(self, cfg: Path, command: str = "run") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge", command, "--config", str(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    def wait_for_err(self, text: str, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.err):
                return True
            if self.proc.poll() is not None:  # ended: no more lines will come
                self._reader.join(5)
                return any(text in line for line in self.err)
            time.sleep(0.05)
        return False

    def finish(self, timeout_s: float = 20.0) -> tuple[int, str, str]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout_s)
        self._reader.join(5)
        return code, out, "".join(self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self._reader.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def wait_until(pred, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def running(tmp_path: Path):
    bg = BackgroundEmulator()
    bg.commands = []  # the value of every accepted 0x42 command (W)
    bg.emu.on_command = lambda _cmd, value: bg.commands.append(value)
    cfg = site_file(tmp_path, bg.port)
    run = EdgeRun(cfg)
    try:
        assert wait_until(lambda: bg.emu.passive_commands > 0), "".join(run.err)
        assert bg.house.state.mode is InverterMode.PASSIVE
        assert wait_until((tmp_path / "api.sock").exists, 5.0)
        yield bg, run, cfg
    finally:
        run.kill()
        bg.stop()
        bg.loop.close()


def assert_handed_back(bg: BackgroundEmulator, run: EdgeRun, tmp_path: Path) -> None:
    code, out, err = run.finish()
    assert code == 0, err
    assert bg.house.state.mode is InverterMode.AUTO  # the inverter's own self-use mode
    assert "summary:" in out
    assert "Traceback" not in err
    assert not (tmp_path / "api.sock").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_hands_the_inverter_back_with_the_summary(running, tmp_path, sig):
    bg, run, _cfg = running
    run.proc.send_signal(sig)
    assert_handed_back(bg, run, tmp_path)


def test_sighup_reloads_the_site_file_and_the_run_goes_on(running, tmp_path):
    bg, run, cfg = running
    text = cfg.read_text()
    cfg.write_text(text.replace(MAX_CHARGE, "max_charge_w = 2000\nslave_id = 2\n"))
    run.proc.send_signal(signal.SIGHUP)
    assert run.wait_for_err("SIGHUP: configuration reloaded"), "".join(run.err)
    line = next(li for li in run.err if "SIGHUP: configuration reloaded" in li)
    assert "applied inverter.max_charge_w" in line
    assert "needs a restart for inverter.slave_id" in line
    assert run.proc.poll() is None  # still running, its local API too
    assert (tmp_path / "api.sock").exists()
    # Noon sun: the battery charges at its limit, 3000 W before the reload, 2000 W after.
    assert bg.commands[0] == 3000
    assert wait_until(lambda: bg.commands[-1] == 2000, 5.0), bg.commands
    assert bg.house.state.mode is InverterMode.PASSIVE
    run.proc.send_signal(signal.SIGTERM)
    assert_handed_back(bg, run, tmp_path)


def test_sighup_with_a_broken_site_file_keeps_the_running_config(running, tmp_path):
    bg, run, cfg = running
    cfg.write_text(cfg.read_text().replace(MAX_CHARGE, "max_charge_w = -5\n"))
    run.proc.send_signal(signal.SIGHUP)
    assert run.wait_for_err("SIGHUP: configuration not reloaded"), "".join(run.err)
    line = next(li for li in run.err if "SIGHUP: configuration not reloaded" in li)
    assert f"{cfg}: invalid configuration; inverter.max_charge_w = -5" in line
    assert run.proc.poll() is None
    assert set(bg.commands) == {3000}  # the running limit holds
    run.proc.send_signal(signal.SIGTERM)
    assert_handed_back(bg, run, tmp_path)


def test_an_exception_escaping_the_loop_still_hands_the_inverter_back(tmp_path, monkeypatch):
    """A bug that escapes a tick ends the run with its traceback, after the inverter is
    back in self-use and the local API's socket is gone."""
    import asyncio

    from edge import compose
    from edge.clock import ScaledClock
    from edge.config import load_config
    from edge.drivers.sofar.driver import SofarDriver
    from edge.drivers.sofar.sim import SofarEmulator
    from edge.sim.house import House, HouseParams

    class Bug(Exception):
        pass

    class BuggyDriver(SofarDriver):
        async def apply(self, command):
            await super().apply(command)
            if emu.passive_commands:
                raise Bug("a bug in a tick")

    monkeypatch.setattr(compose, "SofarDriver", BuggyDriver)
    house = House(HouseParams(), start_s=12 * 3600.0)
    emu = SofarEmulator(house)

    async def go():
        port = await emu.start()
        try:
            cfg = load_config(site_file(tmp_path, port))
            clock = ScaledClock(start_s=12 * 3600.0)
            with pytest.raises(Bug):
                await asyncio.wait_for(compose.supervise(cfg, clock, None, True, []), 20.0)
        finally:
            await emu.stop()

    asyncio.run(go())
    assert emu.passive_commands >= 1
    assert house.state.mode is InverterMode.AUTO
    assert not (tmp_path / "api.sock").exists()


def test_sighup_before_the_first_read_waits_for_the_supervisor(tmp_path):
    """A SIGHUP while edge waits for an inverter that does not answer yet is kept for
    the supervisor, and the process goes on waiting; SIGTERM then ends it cleanly."""
    from edge.mqtt.broker import free_port

    run = EdgeRun(site_file(tmp_path, free_port()))
    try:
        assert run.wait_for_err("retrying"), "".join(run.err)
        run.proc.send_signal(signal.SIGHUP)
        assert run.wait_for_err("SIGHUP: the site file is read again once the supervisor runs")
        assert run.proc.poll() is None
        run.proc.send_signal(signal.SIGTERM)
        code, _out, err = run.finish()
        assert code == 0, err
        assert "Traceback" not in err
    finally:
        run.kill()


def test_edge_sim_logs_a_sighup_and_serves_on(tmp_path):
    """`edge sim` has no site file to reload: a SIGHUP (a closed SSH session) is logged
    and the emulators go on serving until SIGTERM."""
    import socket

    from edge.mqtt.broker import free_port

    port = free_port()
    cfg = tmp_path / "site.toml"
    cfg.write_text(f'[inverter]\nport = "tcp://127.0.0.1:{port}"\n\n[dab]\nenabled = false\n')
    sim = EdgeRun(cfg, command="sim")
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "edge sim did not listen"
            time.sleep(0.1)
        sim.proc.send_signal(signal.SIGHUP)
        assert sim.wait_for_err("SIGHUP ignored: nothing to reload")
        time.sleep(0.5)
        assert sim.proc.poll() is None
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # still serving
        sim.proc.send_signal(signal.SIGTERM)
        code, _out, err = sim.finish()
        assert code == 0 and "Traceback" not in err
    finally:
        sim.kill()
