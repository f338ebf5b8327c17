"""`python -m host_tools bench supervisor`: the figures it promises, in its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edge.sim.wire import frame_time_s


def test_bench_supervisor_writes_its_figures(tmp_path: Path):
    out = tmp_path / "supervisor.json"
    proc = subprocess.run(
        [sys.executable, "-m", "host_tools", "bench", "supervisor", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    for key in (
        "kettle_leak_wh_ours",
        "kettle_leak_wh_baseline",
        "reaction_ms_median",
        "reaction_ms_p95",
        "poll_period_ms",
        "decide_ms_median",
    ):
        assert key in data and key in proc.stdout
    assert data["kettle_leak_wh_ours"] == 0.0
    assert data["kettle_leak_wh_baseline"] > 100.0
    # The wire is paced at 9600 baud: no reaction can beat a power read and a command on
    # the line (8 + 23 + 8 bytes and their frame gaps).
    wire_ms = 1000 * (frame_time_s(8, 9600) + frame_time_s(23, 9600) + frame_time_s(8, 9600))
    assert data["reaction_ms_median"] >= wire_ms
    assert data["reaction_ms_median"] <= data["reaction_ms_p95"]
    assert data["poll_period_ms"] == 1000
    assert data["decide_ms_median"] > 0.0
