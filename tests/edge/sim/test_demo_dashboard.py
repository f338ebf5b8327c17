"""`edge demo`'s dashboard: drawn in a real terminal (tmux) with the flows, the decision
and the progress bar, --plain keeps one line per tick on that same terminal, and the run
ends with a PNG whose axes are the powers, the tank and the SOC."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import matplotlib.image
from rich.console import Console

from edge.sim.dashboard import DemoDashboard, History, figure, sparkline
from tests.edge.conftest import wait_until

NOON_S = 12 * 3600.0


def tmux(server: str, *args: str) -> str:
    out = subprocess.run(
        ["tmux", "-L", server, *args], capture_output=True, text=True, timeout=10, check=False
    )
    return out.stdout


def demo_in_tmux(server: str, tmp_path, *extra: str) -> None:
    command = " ".join(
        [
            *(sys.executable, "-m", "edge", "demo", "--minutes", "2", "--speed", "20"),
            *("--no-mqtt", "--api-socket", str(tmp_path / "api.sock"), *extra),
            # Keep the pane (and what it shows) after the demo ends.
            "; echo DEMO-EXIT-$?; sleep 60",
        ]
    )
    subprocess.run(
        [
            *("tmux", "-L", server, "new-session", "-d", "-s", "demo", "-x", "120", "-y", "50"),
            *("-e", "TERM=xterm-256color", "-c", os.getcwd(), command),
        ],
        check=True,
        timeout=10,
    )


def showing(text: str, wanted: tuple[str, ...]) -> str | None:
    """The screen when it shows all of wanted (a whole frame), else None."""
    return text if all(w in text for w in wanted) else None


def test_the_dashboard_in_a_terminal_and_the_picture_it_leaves(tmp_path):
    server = f"edge-demo-{os.getpid()}"
    png = tmp_path / "run.png"
    demo_in_tmux(server, tmp_path, "--png", str(png))
    screen = lambda: tmux(server, "capture-pane", "-p", "-t", "demo")  # noqa: E731
    try:
        # While it runs, one whole frame: the diagram with every part, the signs stated
        # once, the sparklines, the decision and the progress bar.
        wanted = (
            *("Power flows", "☀ PV", "Grid", "House", "Battery", "Tank", "Heat pump"),
            *("house bus", "grid + = import, battery + = discharge", "Last 5 minutes"),
            *("Decision: self-consumption", "simulated time", "━", "of 2 min"),
        )
        shown = wait_until(lambda: showing(screen(), wanted))
        assert any(c in shown for c in "▁▂▃▄▅▆▇█")
        assert " W" in shown and "SOC" in shown and "°C" in shown
        wait_until(lambda: "DEMO-EXIT-" in screen(), timeout_s=90)
        final = screen()
        assert "DEMO-EXIT-0" in final
        assert "100%" in final  # the bar ran to the end
        assert f"picture of the run: {png}" in final
        assert "12:00:0" not in final.split("Power flows")[0]  # no tick lines
    finally:
        tmux(server, "kill-server")
    # A valid PNG of the size the figure is drawn at, with something drawn on it.
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 20_000 < png.stat().st_size < 2_000_000
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[:2] == (800, 1000)
    assert pixels[..., :3].std() > 0.05


def test_plain_keeps_one_line_per_tick_on_a_terminal(tmp_path):
    server = f"edge-plain-{os.getpid()}"
    demo_in_tmux(server, tmp_path, "--plain", "--png", str(tmp_path / "plain.png"))
    # The whole scroll-back, wrapped lines joined.
    screen = lambda: tmux(server, "capture-pane", "-p", "-J", "-S", "-", "-t", "demo")  # noqa: E731
    try:
        wait_until(lambda: "DEMO-EXIT-" in screen(), timeout_s=90)
        shown = screen()
        assert "DEMO-EXIT-0" in shown and "Power flows" not in shown
        ticks = [
            line for line in shown.splitlines() if line.startswith("12:0") and "| cmd " in line
        ]
        assert len(ticks) >= 100  # two simulated minutes of 1 s ticks
    finally:
        tmux(server, "kill-server")
    assert (tmp_path / "plain.png").stat().st_size > 20_000


def doc(t_s: float, grid_w: float, battery_w: float, reason: str = "self-consumption") -> dict:
    return {
        "t_s": t_s,
        "grid_power_w": grid_w,
        "pv_power_w": 3000.0,
        "load_power_w": 800.0,
        "battery_power_w": battery_w,
        "battery_soc_pct": 55.0,
        "heater_power_w": 1200.0,
        "tank_temp_degc": 48.5,
        "heat_pump_power_w": 0.0,
        "heat_pump_sg_ready": "normal",
        "reason": reason,
        "mode": "passive",
    }


def render(dash: DemoDashboard) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(dash.render())
    return console.export_text()


def test_arrows_point_the_way_the_energy_goes():
    dash = DemoDashboard(NOON_S, NOON_S + 600.0)
    dash.update(doc(NOON_S + 60.0, grid_w=-500.0, battery_w=-1000.0))
    text = render(dash)
    assert "← 500 W" in text  # exporting: out of the house to the grid
    assert "↓ 1,000 W" in text  # charging: down into the battery
    assert "↓ 3,000 W" in text  # PV comes down into the house
    assert "→ 800 W" in text and "↓ 1,200 W" in text  # to the house and into the tank
    assert "SOC 55 %" in text and "48.5 °C" in text and "SG-Ready normal" in text
    assert "10%" in text and "12:01:00" in text  # one of ten simulated minutes
    dash.update(doc(NOON_S + 120.0, grid_w=700.0, battery_w=400.0, reason="hold"))
    text = render(dash)
    assert "→ 700 W" in text and "↑ 400 W" in text  # importing; discharging up to the house
    assert "Decision: hold" in text and "earlier: 12:01:00 self-consumption" in text


def test_sparklines_scale_between_the_window_min_and_max():
    assert sparkline([0.0, 50.0, 100.0], 10) == "▁▅█"
    assert sparkline([5.0, 5.0], 10) == "▁▁"
    assert sparkline([math.nan, 1.0, 2.0, 3.0], 2) == "▁█"  # the last two only
    assert sparkline([], 10) == ""


def test_the_picture_has_the_powers_the_tank_and_the_soc():
    history = History()
    for i in range(120):
        history.add(doc(NOON_S + i, grid_w=100.0 - i, battery_w=-500.0))
    fig = figure(history)
    power, tank, soc = fig.axes
    assert (power.get_ylabel(), tank.get_ylabel(), soc.get_ylabel()) == (
        "Power (W)",
        "Tank (°C)",
        "SOC (%)",
    )
    labels = {line.get_label() for line in power.get_lines()}
    assert {"Grid", "PV", "House", "Battery", "Tank heater", "Heat pump"} <= labels
    assert soc.get_xlabel() == "Time of day"
    assert list(soc.get_lines()[0].get_ydata()) == [55.0] * 120


def test_a_png_path_that_cannot_be_written_is_refused_before_the_run(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "demo", "--no-mqtt", "--png", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(
        f"--png {str(tmp_path)!r}: is a folder; give a file name ending in .png"
    )
    assert "simulated house" not in proc.stdout  # nothing ran


def test_the_decision_shows_what_the_plan_asks_of_the_battery_and_the_heat_pump():
    dash = DemoDashboard(NOON_S, NOON_S + 600.0)
    dash.update(doc(NOON_S + 60.0, grid_w=0.0, battery_w=0.0))
    assert "plan:" not in render(dash)  # no planner, no plan line
    planned = {
        **doc(NOON_S + 120.0, grid_w=0.0, battery_w=0.0, reason="plan: hold"),
        "plan_action": "hold",
        "plan_heat_pump": "force",
        "plan_next_action": "grid charge",
        "plan_next_action_at": "2026-12-07T23:30:00Z",
    }
    dash.update(planned)
    text = render(dash)
    assert "plan: battery hold, heat pump force; then grid charge from 23:30 UTC" in text
