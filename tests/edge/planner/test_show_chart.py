"""The plan's chart (edge/planner/chart.py) and `edge plan --png`: the figure draws the
plan it is given, the PNG is a real PNG of a sane size, a plan document that is not a
plan is refused with the field named, and stdout carries no HiGHS banner."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys

import pytest
from matplotlib.colors import to_hex

from edge.config import parse_config
from edge.core.model import PlanBattery
from edge.planner.chart import ACTION_SHOWN, PlanUnreadable, figure, from_document, write_png
from edge.planner.live import figures
from edge.planner.show import Asked, plan_for, series_of
from edge.planner.status import plan_document

TARIFF = {"kind": "economy7", "night_p_per_kwh": 10.0, "day_p_per_kwh": 30.0}
E7 = parse_config({"tariff": TARIFF, "loads": {"diverter": {"enabled": False}}})  # no tank
T0 = 1_765_000_800.0  # 2025-12-06 06:00 UTC, on a half hour


def e7_plan(soc_pct: float = 30.0, hours: float = 36.0):
    made = plan_for(E7, T0, Asked(soc_pct), hours)
    assert made.plan is not None, made.why
    return made


def artist(ax, label):
    found = [a for a in [*ax.lines, *ax.patches, *ax.containers] if a.get_label() == label]
    assert len(found) == 1, f"{label!r}: {found}"
    return found[0]


def test_the_figure_draws_the_plan_it_is_given():
    made = e7_plan()
    series = series_of(made.plan, made.inp).window(T0)
    assert series.n == 48  # 24 h of half hours from the slot in force
    assert any(a is PlanBattery.GRID_CHARGE for a in series.action)  # the night is used
    fig = figure(series, "test")
    price_ax, act_ax, bat_ax, load_ax = fig.axes[:4]
    soc_ax = fig.axes[4]
    values = artist(price_ax, "import").get_data().values
    assert list(values) == pytest.approx(series.import_p_per_kwh)
    assert {round(v, 6) for v in values} == {10.0, 30.0}
    values = artist(price_ax, "export").get_data().values
    assert list(values) == pytest.approx(series.export_p_per_kwh)
    assert list(artist(soc_ax, "SOC").get_ydata()) == pytest.approx(series.soc_pct)
    bars = artist(bat_ax, "battery")
    assert [b.get_height() for b in bars] == pytest.approx(series.battery_w)
    strip = artist(act_ax, "action")
    assert [to_hex(b.get_facecolor()).upper() for b in strip] == [
        ACTION_SHOWN[a][1].upper() for a in series.action
    ]
    # a site without the diverter and the house: no tank and no heat pump, said, not
    # drawn as zeros
    assert series.tank_w is None and series.heat_pump_w is None
    assert "tank and heat pump: not planned" in [t.get_text() for t in load_ax.texts]


def test_the_png_is_a_png_of_a_sane_size(tmp_path):
    made = e7_plan()
    path = tmp_path / "plan.png"
    write_png(figure(series_of(made.plan, made.inp).window(T0), "test"), path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 800)
    assert 20_000 < len(data) < 1_000_000


def test_the_document_the_supervisor_publishes_reads_back_as_the_plan():
    made = e7_plan()
    doc = json.loads(json.dumps(plan_document(figures(made.plan, made.inp, 0.0, T0, 0.0, 0.0))))
    got = from_document(doc)
    want = series_of(made.plan, made.inp)
    assert got.start_utc_s == want.start_utc_s and got.slot_s == 1800.0
    assert got.action == want.action
    assert got.soc_pct == pytest.approx(want.soc_pct, abs=0.05)
    assert got.battery_w == pytest.approx(want.battery_w, abs=0.5)
    assert got.import_p_per_kwh == pytest.approx(want.import_p_per_kwh, abs=0.005)
    assert got.tank_w is not None and got.heat_pump_w is None  # the live plan's columns


def good_doc() -> dict:
    made = e7_plan(hours=3.0)
    return plan_document(figures(made.plan, made.inp, 0.0, T0, 0.0, 0.0))


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d.pop("start"), "'start' is missing"),
        (lambda d: d["soc_pct"].pop(), "'soc_pct' has 5 values for 6 slots"),
        (lambda d: d["battery_w"].__setitem__(2, math.nan), "battery_w[2] = 'nan'"),
        (lambda d: d["import_p"].__setitem__(0, "12"), "import_p[0] = '12'"),
        (lambda d: d["action"].__setitem__(1, "x" * 500), "action: 'xxxx"),
        (lambda d: d["start"].__setitem__(3, "soon"), "start[3] = 'soon' is not a time"),
        (lambda d: d.__setitem__("slot_s", 0), "slot_s = '0': expected 60 to 86400 s"),
        (lambda d: d.__setitem__("start", ["2025-01-01T00:00:00Z"] * 1000), "1000 slots"),
    ],
)
def test_a_document_that_is_not_a_plan_is_refused_with_the_field_named(change, said):
    doc = good_doc()
    change(doc)
    with pytest.raises(PlanUnreadable) as exc:
        from_document(doc)
    assert said in str(exc.value) and len(str(exc.value)) < 160


def test_the_window_starts_at_the_slot_in_force():
    made = e7_plan(hours=36.0)
    series = series_of(made.plan, made.inp)
    w = series.window(T0 + 1000.0)  # 16 min into the first slot
    assert w.start_utc_s[0] == T0 and w.n == 48
    w = series.window(T0 + 30 * 3600.0)  # 6 h of plan left
    assert w.start_utc_s[0] == T0 + 30 * 3600.0 and w.n == 12
    assert series.window(T0 + 40 * 3600.0).n == 0


def run_edge(*args: str, hide_matplotlib: bool = False) -> subprocess.CompletedProcess[str]:
    hide = "sys.modules['matplotlib'] = None; " if hide_matplotlib else ""
    code = f"import sys; {hide}from edge.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_edge_plan_png_writes_the_chart_and_no_highs_banner(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[tariff]\nkind = "flux"\n')
    png = tmp_path / "plan.png"
    r = run_edge("plan", "--config", str(site), "--png", str(png))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"chart of the next 24 h: {png}" in r.stdout
    assert r.stdout.startswith("tariff: flux\n")
    assert "HiGHS" not in r.stdout + r.stderr  # "Running HiGHS 1.x ...: Copyright ..."


def test_without_matplotlib_the_png_names_the_extra_in_one_line(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[tariff]\nkind = "go"\n')
    png = tmp_path / "plan.png"
    r = run_edge("plan", "--config", str(site), "--png", str(png), hide_matplotlib=True)
    assert r.returncode == 2 and not png.exists()
    assert r.stderr == (
        "edge: edge plan --png needs the 'plot' extra (matplotlib is missing):"
        " pip install 'edge[plot]'\n"
    )
    r = run_edge("plan", "--config", str(site), "--hours", "2", hide_matplotlib=True)
    assert r.returncode == 0 and "tariff: go" in r.stdout  # the text needs no extra


def test_a_png_into_a_folder_that_is_not_there_is_refused_before_planning(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[tariff]\nkind = "go"\n')
    r = run_edge("plan", "--config", str(site), "--png", str(tmp_path / "no" / "plan.png"))
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr == f"edge plan: --png {tmp_path}/no/plan.png: no folder {tmp_path}/no\n"
    r = run_edge("plan", "--config", str(site), "--png", str(tmp_path))
    assert r.returncode != 0 and r.stdout == ""
    assert r.stderr == f"edge plan: --png {tmp_path}: a folder; give a file's path\n"


def test_a_png_that_cannot_be_written_is_one_line(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('[tariff]\nkind = "go"\n')
    r = run_edge("plan", "--config", str(site), "--png", "/dev/full")  # every write: ENOSPC
    assert r.returncode != 0 and "tariff: go" in r.stdout
    assert r.stderr == "edge plan: --png /dev/full: cannot write it: No space left on device\n"
