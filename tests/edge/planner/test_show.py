"""`edge plan`: the site's tariff planned from the command line."""

from __future__ import annotations

import subprocess
import sys

from edge.config import parse_config
from edge.planner.show import Asked, plan_for, plan_text, series_of

E7 = parse_config({"tariff": {"kind": "economy7", "night_p_per_kwh": 10.0}})


def test_the_plan_charges_on_the_night_rate():
    out = plan_text(E7, 0.0, Asked(25.0), 12.0)  # from midnight UTC
    lines = out.splitlines()
    assert lines[0] == "tariff: economy7"
    night = [ln for ln in lines if " 01:" in ln or " 02:" in ln]
    assert night and all("10.00" in ln for ln in night)
    assert any("grid charge" in ln for ln in night)


def test_a_missing_price_file_is_a_warning_not_a_crash(tmp_path):
    cfg = parse_config({"tariff": {"kind": "agile", "prices_csv": str(tmp_path / "no.csv")}})
    out = plan_text(cfg, 0.0, Asked(), 6.0)
    assert "warning:" in out and "cannot read" in out and "plan:" in out


def edge_plan(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    """`edge plan` on a site on the Go tariff, with these arguments."""
    site = tmp_path / "site.toml"
    site.write_text('[tariff]\nkind = "go"\n')
    return subprocess.run(
        [sys.executable, "-m", "edge", "plan", "--config", str(site), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command(tmp_path):
    r = edge_plan(tmp_path, "--hours", "6")
    assert r.returncode == 0, r.stderr
    assert "tariff: go" in r.stdout and r.stdout.count("\n20") >= 12
    bad = edge_plan(tmp_path, "--soc", "140")
    assert bad.returncode != 0 and "--soc 140: expected 0 to 100" in bad.stderr


HOUSE = parse_config(
    {
        "tariff": {"kind": "economy7", "night_p_per_kwh": 10.0},
        "loads": {"diverter": {"enabled": True}, "heat_pump": {"enabled": True}},
        "planner": {"house": {"enabled": True}},
    }
)


def _rows(out: str) -> list[list[str]]:
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("start (UTC)"))
    return [ln.split() for ln in lines[head + 1 :]]


def test_with_the_house_now_the_heat_pump_is_planned_on_the_night_rate():
    asked = Asked(soc_pct=50.0, t_out_degc=0.0, tank_degc=40.0, indoor_degc=19.8)
    out = plan_text(HOUSE, 0.0, asked, 24.0)  # from midnight UTC: E7's night 00:30 to 07:30
    assert "warning" not in out
    assert "tank W  heat pump W  SG-Ready" in out
    rows = _rows(out)
    assert len(rows) == 48
    # [date, time, price, action..., power, SOC, tank W, heat pump W, SG-Ready]
    night = [r for r in rows if r[2] == "10.00"]
    day = [r for r in rows if r[2] != "10.00"]
    assert night and day
    night_kwh = sum(float(r[-2]) for r in night) / 2000.0
    day_kwh = sum(float(r[-2]) for r in day) / 2000.0
    assert night_kwh > day_kwh  # pre-heated on the night rate, in 14 slots against 34
    assert any(r[-1] in ("recommend", "force") for r in night)
    assert any(r[-1] == "lock" for r in day)  # the house kept warm enough without it
    assert all("-0" not in r for r in rows)  # a battery at rest is 0 W, not -0


def test_without_the_house_now_the_heat_pump_is_left_out_and_said_so():
    out = plan_text(HOUSE, 0.0, Asked(), 12.0)
    assert "warning: heat pump not planned: give the house's temperature now (--indoor-degc)" in out
    assert "heat pump W" not in out
    assert "tank W" in out  # the diverter's tank is still planned
    assert all(len(r) >= 7 for r in _rows(out))


def test_an_indoor_temperature_out_of_range_is_refused(tmp_path):
    bad = edge_plan(tmp_path, "--indoor-degc", "80")
    assert bad.returncode != 0 and "--indoor-degc 80: expected 0 to 40" in bad.stderr


def test_the_chart_has_the_tank_and_the_heat_pump_planned():
    made = plan_for(HOUSE, 0.0, Asked(t_out_degc=0.0, indoor_degc=19.8), 24.0)
    assert made.plan is not None, made.why
    series = series_of(made.plan, made.inp)
    assert series.tank_w is not None and series.heat_pump_w is not None
    assert max(series.heat_pump_w) > 0.0
