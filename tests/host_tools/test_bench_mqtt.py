"""`python -m host_tools bench mqtt`: the figures it promises, in its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_mqtt_writes_its_figures(tmp_path: Path):
    out = tmp_path / "mqtt.json"
    proc = subprocess.run(
        [sys.executable, "-m", "host_tools", "bench", "mqtt", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    for key in ("publish_msgs_per_second", "tick_lateness_ms_p99", "outbox_bytes_per_day"):
        assert key in data and key in proc.stdout
    # Every sample handed over reached the broker's subscriber, none lost or doubled.
    assert data["received"] == data["published"] > 0
    assert data["publish_msgs_per_second"] > 0
    assert data["tick_lateness_ms_p50"] <= data["tick_lateness_ms_p99"]
    # A day at one ~1 kB document a second cannot take less than its payloads.
    assert data["outbox_bytes_per_day"] >= 86400 * data["state_doc_bytes"]
    assert data["outbox_rows_per_day"] == 86400 + 1440
