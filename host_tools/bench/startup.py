"""Benchmark of what the Pi pays to start edge: `edge --help`, and `edge run` against the
emulated house (`edge sim`), each as a fresh process. Printed: wall time, and peak RSS
from the kernel's own accounting of the child (wait4's ru_maxrss).

`edge run` is timed to its first full read of the inverter (the line it prints then), and
its peak RSS is taken over a short run that includes the decisions, MQTT off.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FIRST_READ = "first full read done"


def _edge() -> list[str]:
    return [sys.executable, "-m", "edge"]


def _run_child(argv: list[str], until_line: str | None = None) -> tuple[float, float, int]:
    """Run argv; (seconds to exit or to until_line, peak RSS in MB, exit status)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen_s = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if seen_s is None and until_line is not None and until_line in line:
            seen_s = time.perf_counter() - t0
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (seen_s if seen_s is not None else elapsed), usage.ru_maxrss / 1024.0, proc.returncode


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _site_file(folder: Path, inverter_port: int, dab_port: int) -> Path:
    path = folder / "site.toml"
    path.write_text(
        f"""[site]
state_db = "{folder / "state.sqlite"}"
api_socket = "{folder / "api.sock"}"
[inverter]
port = "tcp://127.0.0.1:{inverter_port}"
[dab]
port = "tcp://127.0.0.1:{dab_port}"
[mqtt]
enabled = false
""",
        encoding="utf-8",
    )
    return path


def _wait_listening(port: int, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the emulator did not listen on port {port} within {limit_s:g} s")


def measure(runs: int, run_minutes: float) -> dict[str, Any]:
    helps = [_run_child([*_edge(), "--help"]) for _ in range(runs)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        site = _site_file(folder, _free_port(), _free_port())
        sim = subprocess.Popen(
            [*_edge(), "sim", "--config", str(site)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            text = site.read_text(encoding="utf-8")
            _wait_listening(int(text.split("tcp://127.0.0.1:")[1].split('"')[0]))
            cmd = [*_edge(), "run", "--config", str(site), "--minutes", f"{run_minutes:g}"]
            starts = [_run_child([*cmd, "--quiet"], FIRST_READ) for _ in range(runs)]
        finally:
            sim.terminate()
            sim.wait(10)
    return {
        "help_s_median": statistics.median(h[0] for h in helps),
        "help_rss_mb_max": max(h[1] for h in helps),
        "run_first_read_s_median": statistics.median(s[0] for s in starts),
        "run_rss_mb_max": max(s[1] for s in starts),
        "run_exit_codes": sorted({s[2] for s in starts}),
        "runs": runs,
        "run_minutes": run_minutes,
    }


def main(json_path: Path | None, quick: bool) -> int:
    r = measure(runs=2 if quick else 5, run_minutes=0.1 if quick else 0.5)
    print(f"edge --help: median {r['help_s_median']:.2f} s, peak RSS {r['help_rss_mb_max']:.0f} MB")
    print(
        f"edge run against the emulator: first full read after a median"
        f" {r['run_first_read_s_median']:.2f} s, peak RSS {r['run_rss_mb_max']:.0f} MB"
        f" ({r['runs']} runs of {r['run_minutes'] * 60:.0f} s, exit {r['run_exit_codes']})"
    )
    if json_path is not None:
        json_path.write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    return 0 if r["run_exit_codes"] == [0] else 1
