"""`edge demo`'s live terminal dashboard (rich) and its picture of the run (matplotlib).

Fed the supervisor's state document every tick (edge/mqtt/state.py: the same keys Home
Assistant reads). Signs, stated once on screen as everywhere in edge: grid + = import,
battery + = discharge. The diagram draws each flow as an arrow the way the energy goes.

Run: the flows (grid, PV, house, battery, tank, heat pump), a sparkline of each over the
last SPARK_S of simulated time, the decision and its reason, and a progress bar for the
simulated time. The history (every tick, for the picture) is kept in memory: a 30 minute
demo is 1800 rows.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

from edge.clock import format_time_of_day

SPARK_S = 300.0  # the sparklines' window of simulated time
BARS = "▁▂▃▄▅▆▇█"
# (state document key, label, unit, colour): the series the sparklines and the picture
# show; the colours are names both rich and matplotlib know.
SERIES = (
    ("grid_power_w", "Grid", "W", "red"),
    ("pv_power_w", "PV", "W", "yellow"),
    ("load_power_w", "House", "W", "cyan"),
    ("battery_power_w", "Battery", "W", "green"),
    ("heater_power_w", "Tank heater", "W", "magenta"),
    ("heat_pump_power_w", "Heat pump", "W", "blue"),
    ("battery_soc_pct", "SOC", "%", "green"),
    ("tank_temp_degc", "Tank", "°C", "magenta"),
)


def sparkline(values: list[float], width: int) -> str:
    """The last `width` values as block characters, scaled between their min and max."""
    tail = [v for v in values[-width:] if not math.isnan(v)]
    if not tail:
        return ""
    low, high = min(tail), max(tail)
    span = high - low
    return "".join(
        BARS[0 if span <= 0 else min(len(BARS) - 1, int((v - low) / span * len(BARS)))]
        for v in tail
    )


def _w(doc: dict[str, Any], key: str) -> float | None:
    v = doc.get(key)
    return float(v) if isinstance(v, (int, float)) else None


def _flow(label: str, watts: float | None, into: str, out_of: str) -> Text:
    """One flow: the arrow points the way the energy goes (into or out of the house bus)."""
    if watts is None:
        return Text(f"{label}\n  —", style="dim")
    arrow = into if watts > 0 else out_of if watts < 0 else "·"
    return Text.assemble((f"{label}\n", "bold"), (f"{arrow} {abs(watts):,.0f} W", "bold"))


@dataclass
class History:
    """Every tick's values (NaN where the document had none), by simulated time."""

    t_s: list[float] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k, *_ in SERIES})

    def add(self, doc: dict[str, Any]) -> None:
        self.t_s.append(float(doc.get("t_s", len(self.t_s))))
        for key, *_ in SERIES:
            v = _w(doc, key)
            self.values[key].append(math.nan if v is None else v)

    def recent(self, key: str, window_s: float) -> list[float]:
        if not self.t_s:
            return []
        start = self.t_s[-1] - window_s
        first = next(i for i, t in enumerate(self.t_s) if t >= start)
        return self.values[key][first:]


class DemoDashboard:
    """The dashboard's state and how it is drawn; update() each tick, render() to draw."""

    def __init__(self, start_s: float, end_s: float) -> None:
        self.start_s, self.end_s = start_s, end_s
        self.history = History()
        self.doc: dict[str, Any] = {}
        self.decisions: deque[str] = deque(maxlen=4)  # the latest changes, newest last
        self.progress = Progress(
            TextColumn("simulated time"),
            BarColumn(bar_width=None),
            TaskProgressColumn(),
            TextColumn("{task.fields[clock]}"),
            expand=True,
        )
        total_min = (end_s - start_s) / 60.0
        self._task = self.progress.add_task("run", total=total_min, clock="")

    def update(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.history.add(doc)
        reason = str(doc.get("reason", ""))
        t = format_time_of_day(float(doc.get("t_s", self.start_s)))
        if not self.decisions or not self.decisions[-1].endswith(f" {reason}"):
            self.decisions.append(f"{t} {reason}")
        done_min = (float(doc.get("t_s", self.start_s)) - self.start_s) / 60.0
        total_min = (self.end_s - self.start_s) / 60.0
        self.progress.update(
            self._task,
            completed=min(done_min, total_min),
            clock=f"{t}  {done_min:.1f} of {total_min:g} min",
        )

    def flows(self) -> Panel:
        d = self.doc
        grid = Table.grid(expand=True, padding=(0, 2))
        for _ in range(3):
            grid.add_column(justify="center", ratio=1)
        soc = _w(d, "battery_soc_pct")
        tank_c = _w(d, "tank_temp_degc")
        sg = d.get("heat_pump_sg_ready")
        grid.add_row("", _flow("☀ PV", _w(d, "pv_power_w"), "↓", "↑"), "")
        grid.add_row(
            _flow("Grid", _w(d, "grid_power_w"), "→", "←"),
            Text("◆ house bus ◆", style="bold white on blue"),
            _flow("House", -(_w(d, "load_power_w") or 0.0), "←", "→"),
        )
        battery = _flow("Battery", _w(d, "battery_power_w"), "↑", "↓")
        if soc is not None:
            battery.append(f"\nSOC {soc:.0f} %")
        tank = _flow("Tank", -(_w(d, "heater_power_w") or 0.0), "↑", "↓")
        if tank_c is not None:
            tank.append(f"\n{tank_c:.1f} °C")
        heat_pump = _flow("Heat pump", -(_w(d, "heat_pump_power_w") or 0.0), "↑", "↓")
        if sg is not None:
            heat_pump.append(f"\nSG-Ready {sg}")
        grid.add_row(battery, tank, heat_pump)
        return Panel(
            grid,
            title="Power flows",
            subtitle="arrows: the way the energy goes; grid + = import, battery + = discharge",
        )

    def sparklines(self, width: int = 48) -> Panel:
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", style="bold")
        table.add_column()
        table.add_column(justify="right")
        for key, label, unit, colour in SERIES:
            values = self.history.recent(key, SPARK_S)
            if not values or all(math.isnan(v) for v in values):
                continue
            last = values[-1]
            now = "—" if math.isnan(last) else f"{last:,.1f} {unit}"
            table.add_row(label, Text(sparkline(values, width), style=colour), now)
        return Panel(table, title=f"Last {SPARK_S / 60:g} minutes")

    def decision(self) -> Panel:
        d = self.doc
        text = Text.assemble(
            ("Decision: ", "bold"),
            (str(d.get("reason", "waiting for the first tick")), "bold yellow"),
            f"\ninverter {d.get('mode', '—')}",
        )
        if "plan_action" in d:  # the planner is on: what its slot asks now, and next
            text.append(f"\nplan: battery {d['plan_action']}")
            text.append(f", heat pump {d.get('plan_heat_pump', '—')}")
            at = str(d.get("plan_next_action_at", ""))
            if d.get("plan_next_action") and at[11:16]:
                text.append(f"; then {d['plan_next_action']} from {at[11:16]} UTC")
        for line in list(self.decisions)[:-1]:
            text.append(f"\n  earlier: {line}", style="dim")
        return Panel(text, title="Decision")

    def render(self) -> RenderableType:
        return Group(
            Text("edge demo: the simulated house", style="bold"),
            self.flows(),
            self.sparklines(),
            self.decision(),
            self.progress,
        )


def figure(history: History) -> Any:
    """The run as a matplotlib figure (Agg): the powers, the tank's temperature and the
    SOC over simulated time of day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    hours = [t / 3600.0 for t in history.t_s]
    fig, (power, tank, soc) = plt.subplots(
        3, 1, figsize=(10, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1, 1]}
    )
    for key, label, unit, colour in SERIES:
        if unit == "W" and not all(math.isnan(v) for v in history.values[key]):
            paper = {"yellow": "orange"}.get(colour, colour)  # yellow is faint on white
            power.plot(hours, history.values[key], label=label, color=paper, linewidth=1)
    power.axhline(0.0, color="grey", linewidth=0.5)
    power.set_ylabel("Power (W)")
    power.set_title("edge demo: grid + = import, battery + = discharge")
    power.legend(loc="upper left", ncols=3, fontsize="small")
    tank.plot(hours, history.values["tank_temp_degc"], color="magenta")
    tank.set_ylabel("Tank (°C)")
    soc.plot(hours, history.values["battery_soc_pct"], color="green")
    soc.set_ylabel("SOC (%)")
    soc.set_xlabel("Time of day")
    soc.xaxis.set_major_formatter(FuncFormatter(lambda h, _pos: format_time_of_day(h * 3600.0)[:5]))
    for ax in (power, tank, soc):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def write_png(history: History, path: Path) -> Path:
    """The figure as a PNG at path (folders made as needed); returns the path."""
    import matplotlib.pyplot as plt

    fig = figure(history)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
    return path
