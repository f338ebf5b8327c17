"""`edge plan`: the site's tariff planned from the command line."""

from __future__ import annotations

import subprocess
import sys

from edge.config import parse_config
from edge.planner.show import plan_text

E7 = parse_config({"tariff": {"kind": "economy7", "night_p_per_kwh": 10.0}})


def test_the_plan_charges_on_the_night_rate():
    out = plan_text(E7, 0.0, 25.0, 400.0, 12.0)  # from midnight UTC
    lines = out.splitlines()
    assert lines[0] == "tariff: economy7"
    night = [ln for ln in lines if " 01:" in ln or " 02:" in ln]
    assert night and all("10.00" in ln for ln in night)
    assert any("grid charge" in ln for ln in night)


def test_a_missing_price_file_is_a_warning_not_a_crash(tmp_path):
    cfg = parse_config({"tariff": {"kind": "agile", "prices_csv": str(tmp_path / "no.csv")}})
    out = plan_text(cfg, 0.0, 50.0, 400.0, 6.0)
    assert "warning:" in out and "cannot read" in out and "plan:" in out


def test_the_command(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[tariff]\nkind = "go"\n')
    r = subprocess.run(
        [sys.executable, "-m", "edge", "plan", "--config", str(site), "--hours", "6"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "tariff: go" in r.stdout and r.stdout.count("\n20") >= 12
    bad = subprocess.run(
        [sys.executable, "-m", "edge", "plan", "--config", str(site), "--soc", "140"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "--soc 140: expected 0 to 100" in bad.stderr
