"""`python -m host_tools bench s2`: the figures it promises, in its JSON (the numbers are
the benchmark's to print, not a timed test's to assert)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edge.sim.wire import frame_time_s


def test_bench_s2_writes_its_figures(tmp_path: Path):
    out = tmp_path / "s2.json"
    proc = subprocess.run(
        [sys.executable, "-m", "host_tools", "bench", "s2", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    for key in ("s2_instruction_to_wire_ms_median", "s2_instruction_to_wire_ms_p95", "trials"):
        assert key in data and key in proc.stdout
    assert (data["trials"], data["baud"]) == (8, 9600)
    # the command crosses the wire at 9600 baud: no round trip beats its frame on the line
    assert data["s2_instruction_to_wire_ms_median"] >= 1000 * frame_time_s(8, 9600)
    assert data["s2_instruction_to_wire_ms_median"] <= data["s2_instruction_to_wire_ms_p95"]
