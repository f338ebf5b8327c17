"""`python -m host_tools bench firmware` runs under QEMU and writes its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_firmware_writes_every_figure(tmp_path: Path):
    out = tmp_path / "fw.json"
    proc = subprocess.run(
        [sys.executable, "-m", "host_tools", "bench", "firmware", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    for key in ("instructions_per_step", "flash_bytes", "ram_bytes"):
        assert key in data and key in proc.stdout
    # QEMU's SysTick at 25 MHz with -icount shift=0 (1 ns per instruction): 40 per tick.
    assert data["instructions_per_systick_tick"] == 40.0
    assert 30 < data["instructions_per_step"] < 2000
    assert data["flash_bytes"] > 1000 and data["ram_bytes"] > 0
