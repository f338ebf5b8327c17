"""`python -m host_tools bench soak`: a short soak prints and writes its figures, and the
outbox delivers every state document once, in order, while faults hit the links."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SOAK = [sys.executable, "-m", "host_tools", "bench", "soak"]


def test_a_short_soak_loses_nothing_and_writes_its_figures(tmp_path: Path):
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [*SOAK, "--hours", "0.2", "--speed", "50", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert "state documents: published" in proc.stdout and "peak RSS" in proc.stdout
    # 12 simulated minutes, with faults on the links. At 50x a loaded machine makes fewer
    # than one decision a simulated second (the speed is the benchmark's to print, not
    # this test's to assert): enough of them to judge the delivery.
    assert data["ticks"] >= 100
    assert sum(data["faults"].values()) >= 1
    assert data["received"] == data["published"] == data["ticks"]
    assert (data["lost"], data["duplicated"], data["in_order"]) == (0, 0, True)
    assert data["budgets"]["inverter"]["used"] <= data["budgets"]["inverter"]["per_day"]
    assert data["status_samples"] >= 10
