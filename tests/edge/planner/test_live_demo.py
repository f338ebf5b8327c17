"""`edge demo` with [planner] enabled against a real Mosquitto: the sources read a CSV of
half-hourly prices, a plan is made, its slot reaches the core (the decision says so), and
Home Assistant gets the plan's entities, their values and the whole plan on its retained
topic. A price file that cannot be read falls back to the tariff's fixed rates with one
log line, and the core does plain self-consumption."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from edge.mqtt.broker import LocalMosquitto
from tests.conftest import MqttReader

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
EXAMPLE = Path(__file__).parents[3] / "edge" / "examples" / "simulated-house.toml"
SLOT_S = 1800
DEMO = (sys.executable, "-m", "edge", "demo")


def prices_csv(path: Path) -> Path:
    """Two cheap hours from this half hour (real UTC: the sources read the wall clock),
    then two days at 60 p/kWh."""
    t0 = math.floor(time.time() / SLOT_S) * SLOT_S
    rows = ["start,import_p_per_kwh"]
    for k in range(96):
        start = dt.datetime.fromtimestamp(t0 + k * SLOT_S, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(f"{start},{2.0 if k < 4 else 60.0}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def site(tmp_path: Path, csv: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text += f'\n[planner]\nenabled = true\n\n[sources]\nprices = "csv"\nprices_csv = "{csv}"\n'
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_demo(
    broker: LocalMosquitto, config: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    args = ["--minutes", "3", "--speed", "30", "--png", str(tmp_path / "run.png")]
    proc = subprocess.run(
        [*DEMO, "--config", str(config), "--broker", f"{broker.host}:{broker.port}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def states(reader: MqttReader) -> list[dict[str, object]]:
    reader.wait_for(lambda: any(m.payload == b"offline" for m in reader.on("edge/status")))
    return [json.loads(m.payload) for m in reader.on("edge/state")]


def test_a_plan_is_made_drives_the_core_and_reaches_home_assistant(
    mosquitto, mqtt_reader, tmp_path
):
    proc = run_demo(mosquitto, site(tmp_path, prices_csv(tmp_path / "prices.csv")), tmp_path)
    docs = states(mqtt_reader)
    planned = [d for d in docs if str(d["reason"]).startswith("plan: grid charge")]
    # Cheap now, dear for two days: the plan charges from the grid, and the core does.
    assert len(planned) >= 0.8 * len(docs), [d["reason"] for d in docs[:5]]
    last = docs[-1]
    assert last["plan_action"] == "grid charge"
    assert last["plan_problem"] == "none"
    assert isinstance(last["plan_age_s"], int) and 0 <= last["plan_age_s"] <= 900
    assert 50.0 < float(last["plan_target_soc_pct"]) <= 100.0  # type: ignore[arg-type]
    assert float(last["plan_saving_gbp"]) > 0.0  # type: ignore[arg-type]
    assert "plan_cost_today_gbp" in last
    assert "planner: on" in proc.stderr

    configs: dict[str, dict[str, object]] = {}
    for m in mqtt_reader.messages:
        if m.topic.startswith("homeassistant/device/") and m.topic.endswith("/config"):
            configs.update(json.loads(m.payload)["cmps"])

    def by_key(key: str) -> dict[str, object]:
        (c,) = [c for uid, c in configs.items() if uid.endswith(f"_{key}")]
        return c

    action = by_key("plan_action")
    assert action["stat_t"] == "edge/state"
    assert action["json_attr_t"] == "edge/plan"
    assert by_key("plan_next_action_at")["dev_cla"] == "timestamp"
    assert by_key("plan_saving_gbp")["unit_of_meas"] == "GBP"
    assert by_key("plan_target_soc_pct")["unit_of_meas"] == "%"

    # The whole plan, retained: a chart card's data.
    plans = mqtt_reader.on("edge/plan")
    assert plans
    doc = json.loads(plans[-1].payload)
    assert 72 <= len(doc["start"]) <= 96
    # It charges now, or from the next slot when this one has only seconds left (a
    # first slot that short holds as much as it charges), and never at 60 p.
    assert "grid_charge" in doc["action"][:2], doc["action"][:5]
    dear = [a for a, p in zip(doc["action"], doc["import_p"], strict=True) if p == 60.0]
    assert dear and "grid_charge" not in dear
    assert doc["import_p"][0] == 2.0 and doc["import_p"][4] == 60.0
    late = MqttReader(mosquitto.host, mosquitto.port)
    late.start()
    try:
        late.wait_for(lambda: len(late.on("edge/plan")) == 1)
        assert late.on("edge/plan")[0].retain
    finally:
        late.stop()


def test_a_broken_price_file_falls_back_with_one_line(mosquitto, mqtt_reader, tmp_path):
    proc = run_demo(mosquitto, site(tmp_path, tmp_path / "missing.csv"), tmp_path)
    lines = [line for line in proc.stderr.splitlines() if "missing.csv" in line]
    assert len(lines) == 1, lines
    assert "cannot read: No such file or directory; using the tariff's fixed rates" in lines[0]
    docs = states(mqtt_reader)
    # The example's flat tariff: a plan on fixed rates keeps plain self-consumption.
    other = [
        (i, d["t_s"], d["reason"])
        for i, d in enumerate(docs)
        if "self-consumption" not in str(d["reason"])
    ]
    assert other == [], other
    assert not any(str(d["reason"]).startswith("plan: ") for d in docs)
    assert docs[-1]["plan_action"] == "self-consumption"
