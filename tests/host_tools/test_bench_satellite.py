"""`bench satellite`: the files it sizes are the ones deploy puts on a board, and the
application runs clean in the 64 KiB budget (the figures themselves are printed by the
benchmark, not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from host_tools.bench import satellite


def test_the_benchmark_sizes_the_boards_files_and_runs_the_app_in_its_budget(
    tmp_path: Path, capsys
):
    out = tmp_path / "satellite.json"
    assert satellite.main(out, quick=True) == 0
    r = json.loads(out.read_text())
    assert "lib/tank_satellite/app.mpy" in r["mpy_bytes"] and "main.py" in r["mpy_bytes"]
    assert r["app_mpy_bytes"] == sum(
        n for f, n in r["mpy_bytes"].items() if f.startswith("lib/tank_satellite/")
    )
    assert r["budget_run"]["clean"] and r["smallest_heap_kb"] <= 64
    assert 0 < r["budget_run"]["live_max_b"] <= r["budget_run"]["used_max_b"] <= 64 * 1024
    printed = capsys.readouterr().out
    assert f"app {r['app_mpy_bytes']} B of .mpy" in printed
