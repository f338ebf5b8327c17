"""Running MicroPython code from pytest: the Unix port as a subprocess, micropython-lib
from the checkout .ci/install unpacks, the satellite app and its micropython-lib modules
compiled with mpy-cross as `edge satellite deploy` compiles them for a board, and the
hardware emulators in board/tank-satellite/unix (MicroPython code). Finding and building
are shared with the benchmark (host_tools/bench/satellite.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from edge.errors import EdgeError
from edge.satellite_deploy import SatelliteSettings, config_doc
from host_tools.bench import satellite as bench

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[3]
UNIX = bench.UNIX_DIR  # the Unix port's runner and hardware emulators (MicroPython code)
HEAP = "64K"  # the boards' budget: every run of the app is held to it


def _or_fail(find: Callable[[], T]) -> T:
    try:
        return find()
    except EdgeError as exc:
        pytest.fail(str(exc))


def micropython_exe() -> str:
    return _or_fail(bench.micropython_exe)


def micropython_lib() -> Path:
    return _or_fail(bench.micropython_lib)


def build_tree(dest: Path) -> str:
    return _or_fail(lambda: bench.build_tree(dest))


def source_path() -> str:
    """The app, micropython-lib and the fakes as source (for unit tests: tracebacks with
    line numbers, no build step)."""
    lib = micropython_lib() / "micropython"
    return ":".join(
        [
            ".frozen",
            str(REPO / "board" / "tank-satellite"),
            str(UNIX),
            str(lib / "umqtt.simple"),
            str(lib / "drivers" / "bus" / "onewire"),
            str(lib / "drivers" / "sensor" / "ds18x20"),
        ]
    )


def run_mp(code: str, path: str | None = None, heap: str | None = None, timeout_s: float = 20):
    """Run code under the Unix port; the CompletedProcess (text)."""
    argv = [micropython_exe()]
    if heap:
        argv += ["-X", f"heapsize={heap}"]
    env = dict(os.environ, MICROPYPATH=path or source_path())
    return subprocess.run(
        [*argv, "-c", code], capture_output=True, text=True, timeout=timeout_s, env=env
    )


def mp_ok(code: str, **kw: Any) -> str:
    """Run code; its stdout, or a test failure showing stderr."""
    proc = run_mp(code, **kw)
    if proc.returncode != 0:
        pytest.fail(f"MicroPython failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


class Satellite:
    """The app under the Unix port (mp/run_satellite.py) with its config and a control
    file for the probe; its log lines are collected as (ms, text)."""

    def __init__(
        self,
        tmp: Path,
        host: str = "127.0.0.1",
        port: int = 1883,
        name: str = "tank",
        config: Path | None = None,
        **limits: float,
    ):
        """config: a satellite.json to run with (as deploy wrote it); else one is made
        for this broker, name and limits."""
        self.tmp = tmp
        self.path = build_tree(tmp / "tree")
        self.name = name
        self.config = tmp / "satellite.json"
        if config is not None:
            shutil.copyfile(config, self.config)
        else:
            settings = SatelliteSettings(
                name=name, board="pico_w", broker_host=host, broker_port=port, limits=limits
            )
            self.config.write_text(json.dumps(config_doc(settings)))
        self.control = tmp / "control.json"
        self.set_probe(temp_degc=45.0)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc: subprocess.Popen[str] | None = None

    def start(self, heap: str = HEAP) -> Satellite:
        argv = [micropython_exe(), "-X", f"heapsize={heap}", "-m", "run_satellite"]
        self.proc = subprocess.Popen(
            [*argv, str(self.config), str(self.control)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, MICROPYPATH=self.path),
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def set_probe(self, **doc: Any) -> None:
        tmp = self.control.with_suffix(".new")
        tmp.write_text(json.dumps(doc))
        tmp.replace(self.control)  # whole files only: the app never reads half a write

    def log(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def mark(self) -> int:
        """A place in the log: wait_log(since=mark) sees only the lines after it."""
        with self._lock:
            return len(self.lines)

    def wait_log(self, pred: Callable[[str], bool], timeout_s: float = 10.0, since: int = 0) -> str:
        deadline = time.monotonic() + timeout_s
        seen = since
        while time.monotonic() < deadline:
            lines = self.log()
            for line in lines[seen:]:
                if pred(line):
                    return line
            seen = len(lines)
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("satellite log has no such line:\n" + "\n".join(self.log()[-30:]))

    def stop(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return "\n".join(self.log())
