"""One supervisor per state file: a second `edge run` on the same site refuses to start,
naming the first, before it opens any device (two would share the MQTT client id and the
outbox, and drive one RS485 line from two processes)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.sim.house import InverterMode
from edge.state_db import lock_site
from tests.edge.test_run import ENV, BackgroundEmulator, write_config


def edge_run(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def test_a_second_edge_run_on_one_state_file_exits_2_naming_the_first(tmp_path: Path):
    bg = BackgroundEmulator()
    config = write_config(tmp_path, bg.port)
    first = edge_run(config)
    second: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 30
        while bg.emu.passive_commands == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bg.emu.passive_commands > 0
        second = edge_run(config)
        try:
            out, err = second.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
            second.communicate()
            pytest.fail("the second supervisor did not refuse to start")
        assert second.returncode == 2
        lock = f"{tmp_path / 'state.sqlite'}.lock"
        assert err.splitlines() == [
            f"edge: site.state_db = {str(tmp_path / 'state.sqlite')!r}: in use by another"
            f" edge supervisor (pid {first.pid}, lock {lock}); stop it first"
        ]
        assert "first full read done" not in out  # no device was opened
        assert first.poll() is None  # the first runs on
        first.send_signal(signal.SIGTERM)
        _out, err = first.communicate(timeout=30)
        assert first.returncode == 0, err
        assert bg.house.state.mode is InverterMode.AUTO
        # The lock goes with the process: the next start is not refused.
        third = edge_run(config)
        deadline = time.monotonic() + 30
        while third.poll() is None and time.monotonic() < deadline:
            if bg.house.state.mode is InverterMode.PASSIVE:
                break
            time.sleep(0.05)
        third.send_signal(signal.SIGTERM)
        _out, err = third.communicate(timeout=30)
        assert third.returncode == 0, err
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate()
        bg.stop()


def test_the_lock_names_the_holder_and_is_free_once_closed(tmp_path: Path):
    db = str(tmp_path / "site" / "state.sqlite")
    held = lock_site(db)
    assert held is not None
    assert Path(db + ".lock").read_text().strip().isdigit()
    with pytest.raises(ConfigError, match=r"in use by another edge supervisor \(pid \d+"):
        lock_site(db)  # a second open file description: flock refuses it
    held.close()
    again = lock_site(db)
    assert again is not None
    again.close()
    assert lock_site(":memory:") is None
