"""A plan as a chart: the slots of the next 24 h (prices, the battery's power and action,
its SOC, the tank's element and the heat pump), for `edge plan --png` and the menu's Plan
tab.

`PlanSeries` is the plan slot by slot, read from the plan document that the supervisor
publishes (edge/planner/status.py `plan_document`) or built from a solved plan
(edge/planner/show.py). This module is pure and loads no plotting package; `figure()`
loads matplotlib (the `plot` extra) when it is called, so the menu on a Pi without it can
still read the series.

Units and signs as everywhere in edge: powers W, battery + = discharge, prices p/kWh,
SOC % at each slot's end, times Unix seconds (UTC).
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.core.model import PlanBattery
from edge.extras import needs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WINDOW_H = 24.0
MAX_SLOTS = 400  # a 48 h plan of 15 min slots is 192; more is not a plan
MAX_ABS = 1e7  # W or p/kWh: past this a number is not a plan's

# The battery's action: how the chart and the menu show it, and its colour (colour-blind
# safe: Okabe and Ito's palette).
ACTION_SHOWN = {
    PlanBattery.GRID_CHARGE: ("grid charge", "#009E73"),
    PlanBattery.EXPORT: ("export", "#E69F00"),
    PlanBattery.HOLD: ("hold", "#0072B2"),
    PlanBattery.SELF_CONSUMPTION: ("self-consumption", "#999999"),
}


class PlanUnreadable(ValueError):
    """A plan document that is not a plan: the message names the field and what was wrong."""


@dataclass(frozen=True)
class PlanSeries:
    """A plan slot by slot. tank_w, heat_pump_w None: the plan does not plan that load."""

    start_utc_s: tuple[float, ...]  # each slot's start
    slot_s: float
    import_p_per_kwh: tuple[float, ...]
    export_p_per_kwh: tuple[float, ...]
    battery_w: tuple[float, ...]  # + = discharge
    soc_pct: tuple[float, ...]  # at each slot's end
    tank_w: tuple[float, ...] | None  # the element
    heat_pump_w: tuple[float, ...] | None
    action: tuple[PlanBattery, ...]

    @property
    def n(self) -> int:
        return len(self.start_utc_s)

    def window(self, from_utc_s: float, hours: float = WINDOW_H) -> PlanSeries:
        """The slot in force at from_utc_s (the first that ends after it) and those that
        start less than `hours` after its start."""
        first = next((t for t in self.start_utc_s if t + self.slot_s > from_utc_s), math.inf)
        keep = [i for i, t in enumerate(self.start_utc_s) if first <= t < first + hours * 3600.0]

        def cut(xs: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(xs[i] for i in keep)

        return replace(
            self,
            start_utc_s=cut(self.start_utc_s),
            import_p_per_kwh=cut(self.import_p_per_kwh),
            export_p_per_kwh=cut(self.export_p_per_kwh),
            battery_w=cut(self.battery_w),
            soc_pct=cut(self.soc_pct),
            tank_w=None if self.tank_w is None else cut(self.tank_w),
            heat_pump_w=None if self.heat_pump_w is None else cut(self.heat_pump_w),
            action=cut(self.action),
        )


def _numbers(doc: Mapping[str, Any], key: str, n: int | None) -> tuple[float, ...]:
    xs = doc.get(key)
    if not isinstance(xs, list):
        raise PlanUnreadable(f"plan: {key!r} is missing or not a list")
    if n is not None and len(xs) != n:
        raise PlanUnreadable(f"plan: {key!r} has {len(xs)} values for {n} slots")
    for i, x in enumerate(xs):
        ok = isinstance(x, int | float) and not isinstance(x, bool)
        if not ok or not math.isfinite(x) or abs(x) > MAX_ABS:
            raise PlanUnreadable(f"plan: {key}[{i}] = {str(x)[:20]!r} is not a finite number")
    return tuple(float(x) for x in xs)


def from_document(doc: Mapping[str, Any]) -> PlanSeries:
    """The series of a plan document (status.plan_document's columns; `heat_pump_w` is
    read where it is there). A document that is not one raises PlanUnreadable."""
    starts = doc.get("start")
    if not isinstance(starts, list) or not starts:
        raise PlanUnreadable("plan: 'start' is missing or empty")
    if len(starts) > MAX_SLOTS:
        raise PlanUnreadable(f"plan: {len(starts)} slots, more than {MAX_SLOTS}")
    start_s = []
    for i, s in enumerate(starts):
        try:
            t = dt.datetime.fromisoformat(str(s).replace("Z", "+00:00"))
        except ValueError:
            raise PlanUnreadable(f"plan: start[{i}] = {str(s)[:30]!r} is not a time") from None
        if t.tzinfo is None:
            raise PlanUnreadable(f"plan: start[{i}] = {str(s)[:30]!r} has no time zone")
        start_s.append(t.timestamp())
    slot_s = doc.get("slot_s")
    if not isinstance(slot_s, int | float) or not 60 <= slot_s <= 86400:
        raise PlanUnreadable(f"plan: slot_s = {str(slot_s)[:20]!r}: expected 60 to 86400 s")
    n = len(start_s)
    actions = doc.get("action")
    if not isinstance(actions, list) or len(actions) != n:
        raise PlanUnreadable(f"plan: 'action' is missing or not {n} values")
    try:
        action = tuple(PlanBattery(a) for a in actions)
    except ValueError as exc:
        raise PlanUnreadable(f"plan: action: {str(exc)[:80]}") from None
    return PlanSeries(
        start_utc_s=tuple(start_s),
        slot_s=float(slot_s),
        import_p_per_kwh=_numbers(doc, "import_p", n),
        export_p_per_kwh=_numbers(doc, "export_p", n),
        battery_w=_numbers(doc, "battery_w", n),
        soc_pct=_numbers(doc, "soc_pct", n),
        tank_w=_numbers(doc, "tank_w", n) if "tank_w" in doc else None,
        heat_pump_w=_numbers(doc, "heat_pump_w", n) if "heat_pump_w" in doc else None,
        action=action,
    )


def figure(series: PlanSeries, title: str) -> Figure:
    """The plan as a matplotlib figure on one time axis (UTC): prices; the battery's
    action slot by slot; its power as bars in the action's colour, with the SOC over
    them; the tank's element and the heat pump. Each line carries its label (`import`,
    `export`, `SOC`, `tank element`, `heat pump`). Built without pyplot (no GUI backend,
    no global state). Raises MissingExtra naming `plot` where matplotlib is missing."""
    if series.n == 0:
        raise ValueError("a chart needs at least one slot")
    fig_mod = needs(
        "plot", "the plan's chart", lambda: importlib.import_module("matplotlib.figure")
    )
    mdates = importlib.import_module("matplotlib.dates")
    from matplotlib.patches import Patch  # loaded by matplotlib.figure already

    fig: Figure = fig_mod.Figure(figsize=(10.0, 8.0), dpi=100, layout="constrained")
    loads = series.tank_w is not None or series.heat_pump_w is not None
    price_ax, act_ax, bat_ax, load_ax = fig.subplots(
        4, 1, sharex=True, gridspec_kw={"height_ratios": [1.0, 0.12, 1.4, 0.8 if loads else 0.3]}
    )
    fig.suptitle(title, fontsize=11)
    utc = dt.UTC
    edges = [dt.datetime.fromtimestamp(t, utc) for t in series.start_utc_s]
    edges.append(dt.datetime.fromtimestamp(series.start_utc_s[-1] + series.slot_s, utc))
    x = mdates.date2num(edges)
    width = series.slot_s / 86400.0  # matplotlib's dates are days
    legend = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.0), "fontsize": 8, "frameon": False}

    price_ax.stairs(
        series.import_p_per_kwh, x, baseline=None, label="import", color="#D55E00", lw=2
    )
    price_ax.stairs(
        series.export_p_per_kwh, x, baseline=None, label="export", color="#56B4E9", lw=2
    )
    price_ax.set_ylabel("price, p/kWh")
    price_ax.axhline(0.0, color="black", lw=0.6)
    price_ax.set_ylim(min(0.0, *series.export_p_per_kwh, *series.import_p_per_kwh) * 1.1, None)
    price_ax.legend(ncols=2, **legend)

    colours = [ACTION_SHOWN[a][1] for a in series.action]
    act_ax.bar(x[:-1], 1.0, width=width, align="edge", color=colours, label="action")
    act_ax.set_yticks([])
    act_ax.set_ylim(0.0, 1.0)
    shown = [a for a in ACTION_SHOWN if a in series.action]
    act_ax.legend(
        handles=[Patch(color=ACTION_SHOWN[a][1], label=ACTION_SHOWN[a][0]) for a in shown],
        ncols=len(shown),
        **legend,
    )

    bat_ax.bar(x[:-1], series.battery_w, width=width, align="edge", color=colours, label="battery")
    bat_ax.axhline(0.0, color="black", lw=0.6)
    bat_ax.set_ylabel("battery, W\n(+ discharge)")
    soc_ax = bat_ax.twinx()
    soc_ax.plot(x[1:], series.soc_pct, color="black", lw=1.8, marker=".", ms=3, label="SOC")
    soc_ax.set_ylim(-2.0, 102.0)
    soc_ax.set_ylabel("SOC at slot end, %")
    soc_ax.legend(loc="upper right", fontsize=8)

    if series.tank_w is not None:
        load_ax.stairs(series.tank_w, x, baseline=None, label="tank element", color="#CC79A7", lw=2)
    if series.heat_pump_w is not None:
        load_ax.stairs(
            series.heat_pump_w, x, baseline=None, label="heat pump", color="#0072B2", lw=2
        )
    missing = [
        name
        for name, xs in (("tank", series.tank_w), ("heat pump", series.heat_pump_w))
        if xs is None
    ]
    if missing:
        load_ax.text(
            *((1.0, 1.03) if loads else (0.5, 0.5)), " and ".join(missing) + ": not planned",
            transform=load_ax.transAxes, ha="right" if loads else "center",
            va="bottom" if loads else "center", fontsize=9, color="#555555",
        )  # fmt: skip
    top = max([*(series.tank_w or ()), *(series.heat_pump_w or ()), 0.0])
    load_ax.set_ylim(0.0, 1.1 * top if top > 0 else 1000.0)
    load_ax.set_ylabel("power, W" if loads else "")
    if not loads:
        load_ax.set_yticks([])
    if len(missing) < 2:
        load_ax.legend(ncols=2, **legend)
    load_ax.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 3), tz=utc))
    load_ax.xaxis.set_minor_locator(mdates.HourLocator(tz=utc))
    load_ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M\n%a %d", tz=utc))
    load_ax.set_xlabel("UTC")
    load_ax.set_xlim(x[0], x[-1])
    for ax in (price_ax, bat_ax, load_ax):
        ax.grid(True, which="major", color="#dddddd", lw=0.6)
    return fig


def write_png(fig: Figure, path: Path) -> None:
    """The figure as a PNG at `path` (its folder must exist)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.savefig(path, format="png")
