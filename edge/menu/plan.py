"""The menu's Plan tab: the planner's plan in force, from the supervisor's status answer
(its state document's plan_* fields and the plan slot by slot, edge/supervisor_api.py),
as a headline, a chart of the next 24 h and a table of its slots.

The chart is Textual's own Sparkline, one column a half hour (CHART_COLS for 24 h):
import price, battery charge and discharge, SOC, the tank's element and the heat pump,
each with its range beside it; under them one letter a column for the battery's action
and a UTC hour ruler, on the same columns. Times are UTC, as in `edge plan`. "Now" is the
plan's made time plus its age, both from the supervisor, so the menu reads no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Sparkline, Static

from edge.core.model import PlanBattery
from edge.planner.chart import ACTION_SHOWN, PlanSeries, PlanUnreadable, from_document

CHART_COLS = 48  # 24 h of half hours
LABEL_COLS = 24  # with the chart, 72 columns: an 80-column console has room
ROW_H = {"price": 2, "charge": 1, "discharge": 1, "soc": 2, "tank": 1, "heat_pump": 1}
LETTER = {
    PlanBattery.GRID_CHARGE: "C",
    PlanBattery.EXPORT: "E",
    PlanBattery.HOLD: "H",
    PlanBattery.SELF_CONSUMPTION: "·",
}
PLANNER_OFF = (
    "The planner is off. Set [planner] enabled = true in the site file to have edge plan"
    " the battery and the tank against the tariff (docs/planner.md)."
)


def _hm(unix_s: float) -> str:
    return dt.datetime.fromtimestamp(unix_s, dt.UTC).strftime("%H:%M")


def _utc_s(iso: Any) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _age(age_s: int) -> str:
    if age_s < 3600:
        return f"{age_s // 60} min {age_s % 60} s"
    return f"{age_s // 3600} h {age_s % 3600 // 60} min"


def _money(x: Any) -> str:
    return f"£{x:.2f}" if isinstance(x, int | float) else "—"


def headline(state: dict[str, Any], made_utc_s: float | None) -> str:
    """The plan's figures in three lines (the Home Assistant entities' values)."""
    age = state.get("plan_age_s")
    made = f"made {_hm(made_utc_s)} UTC, " if made_utc_s is not None else ""
    age_text = f"{_age(age)} ago" if isinstance(age, int) else "age unknown"
    now = str(state.get("plan_action", "—"))
    target = state.get("plan_target_soc_pct")
    if isinstance(target, int | float) and now != "self-consumption":
        now += f" (SOC {target:g} % at the slot's end)"
    nxt = state.get("plan_next_action")
    at = _utc_s(state.get("plan_next_action_at"))
    nxt_text = f"{nxt} from {_hm(at)} UTC" if at is not None else "no change in the plan"
    return "\n".join(
        [
            f"Plan {made}{age_text}. Now: {now}. Next: {nxt_text}.",
            f"Forecast cost: rest of today {_money(state.get('plan_cost_today_gbp'))},"
            f" tomorrow {_money(state.get('plan_cost_tomorrow_gbp'))}. Saving over the"
            f" horizon against plain self-consumption: {_money(state.get('plan_saving_gbp'))}.",
            f"Last problem: {state.get('plan_problem', 'none')}",
        ]
    )


def column_slots(n: int, cols: int = CHART_COLS) -> list[int]:
    """The slot each chart column shows, as Textual's Sparkline buckets them (the first
    slot of each column's bucket)."""
    return [min(n - 1, c * n // cols) for c in range(cols)] if n else []


def action_strip(series: PlanSeries, cols: int = CHART_COLS) -> Text:
    """One letter a column for the battery's action, in the chart's colours."""
    strip = Text()
    for i in column_slots(series.n, cols):
        a = series.action[i]
        strip.append(LETTER[a], style=f"bold {ACTION_SHOWN[a][1]}")
    return strip


def ruler(series: PlanSeries, cols: int = CHART_COLS) -> str:
    """Ticks and UTC times at each 6 h (00, 06, 12, 18) that starts in a column: in the
    first column of a slot drawn over several, in the column of a bucket of slots."""
    ticks, times = [" "] * cols, [" "] * (cols + 5)
    slots = column_slots(series.n, cols)
    for c, i in enumerate(slots):
        if c and slots[c - 1] == i:
            continue  # the same slot as the column before
        last = slots[c + 1] if c + 1 < cols and slots[c + 1] > i else i + 1
        for t_s in series.start_utc_s[i:last]:
            t = dt.datetime.fromtimestamp(t_s, dt.UTC)
            if t.minute == 0 and t.second == 0 and t.hour % 6 == 0:
                ticks[c] = "╵"
                times[c : c + 5] = f"{t:%H:%M}"
    return "".join(ticks).rstrip() + "\n" + "".join(times).rstrip()


def _range(xs: Sequence[float], unit: str) -> str:
    lo, hi = min(xs), max(xs)
    return f"{lo:g} {unit}" if lo == hi else f"{lo:g}–{hi:g} {unit}"


def chart_rows(series: PlanSeries) -> dict[str, tuple[str, list[float] | None]]:
    """Each chart row's label (with its range) and data (None: not planned)."""
    charge = [max(0.0, -w) for w in series.battery_w]
    discharge = [max(0.0, w) for w in series.battery_w]
    tank, hp = series.tank_w, series.heat_pump_w
    return {
        "price": ("Import", list(series.import_p_per_kwh)),
        "charge": ("Charge", charge),
        "discharge": ("Discharge", discharge),
        "soc": ("SOC", list(series.soc_pct)),
        "tank": ("Tank element", None if tank is None else list(tank)),
        "heat_pump": ("Heat pump", None if hp is None else list(hp)),
    }


UNITS = {"price": "p/kWh", "soc": "%"}
# Sparkline colours, lowest to highest: the price cheap to dear; the rest the chart's.
COLOURS = {
    "price": ("#009E73", "#D55E00"),
    "charge": ("#009E73", "#009E73"),
    "discharge": ("#E69F00", "#E69F00"),
    "tank": ("#CC79A7", "#CC79A7"),
    "heat_pump": ("#0072B2", "#0072B2"),
}


class PlanView(Vertical):
    """The Plan tab's content; show(answer) with each status answer."""

    DEFAULT_CSS = f"""
    PlanView {{ height: auto; padding: 0 1; }}
    PlanView #plan-head {{ margin: 0 0 1 0; }}
    PlanView #plan-chart {{ height: auto; }}
    PlanView .hidden {{ display: none; }}
    PlanView #plan-units {{ margin: 1 0 0 0; }}
    PlanView .chart-row {{ height: auto; }}
    PlanView .chart-label {{ width: {LABEL_COLS}; }}
    PlanView Sparkline {{ width: {CHART_COLS}; }}
    PlanView .strip {{ padding: 0 0 0 {LABEL_COLS}; }}
    PlanView #plan-slots {{ height: auto; }}
    """

    def compose(self) -> ComposeResult:
        yield Static("No answer from the supervisor yet.", id="plan-head", markup=False)
        with Vertical(id="plan-chart", classes="hidden"):
            yield Label("Next 24 h: one column a half hour, UTC; SOC at each slot's end")
            for key, height in ROW_H.items():
                with Horizontal(classes="chart-row"):
                    yield Static(id=f"plan-label-{key}", classes="chart-label", markup=False)
                    low, high = COLOURS.get(key, (None, None))
                    spark = Sparkline([], id=f"plan-{key}", min_color=low, max_color=high)
                    spark.styles.height = height
                    yield spark
            yield Static(id="plan-actions", classes="strip")
            yield Static(id="plan-ruler", classes="strip", markup=False)
            yield Static(_legend(), id="plan-legend")
        yield Label(
            "Prices p/kWh; battery W, + = discharge; SOC % at the slot's end",
            id="plan-units",
            classes="hidden",
        )
        yield DataTable(id="plan-slots", cursor_type="none", classes="hidden")

    def on_mount(self) -> None:
        self.query_one("#plan-slots", DataTable).add_columns(
            "UTC", "import p", "export p", "action", "battery W", "SOC %", "tank W"
        )

    def show(self, answer: dict[str, Any]) -> None:
        """The plan of a status answer: the planner off, no plan yet, or the plan."""
        state = answer.get("state") or {}
        head = self.query_one("#plan-head", Static)
        doc = answer.get("plan")
        series: PlanSeries | None = None
        problem = ""
        if isinstance(doc, dict):
            try:
                series = from_document(doc)
            except PlanUnreadable as exc:
                problem = f"The supervisor's plan cannot be shown: {exc}"
        if "plan_action" not in state:
            head.update(PLANNER_OFF)
        elif series is None:
            why = state.get("plan_problem", "none")
            head.update(
                problem
                or "No plan yet: the core does plain self-consumption."
                + (f" Last problem: {why}" if why != "none" else "")
            )
        else:
            made = _utc_s(doc.get("made")) if isinstance(doc, dict) else None
            head.update(headline(state, made))
            age = state.get("plan_age_s")
            now = (made or series.start_utc_s[0]) + (age if isinstance(age, int) else 0)
            series = series.window(now)
        shown = series is not None and series.n > 0
        self.query_one("#plan-chart").set_class(not shown, "hidden")
        self.query_one("#plan-slots").set_class(not shown, "hidden")
        self.query_one("#plan-units").set_class(not shown, "hidden")
        if series is not None and shown:
            self._chart(series)

    def _chart(self, series: PlanSeries) -> None:
        for key, (name, data) in chart_rows(series).items():
            label = self.query_one(f"#plan-label-{key}", Static)
            spark = self.query_one(f"#plan-{key}", Sparkline)
            if data is None:
                label.update(f"{name}: not planned")
                spark.data = []
                spark.display = False
            else:
                label.update(f"{name} {_range(data, UNITS.get(key, 'W'))}")
                spark.data = data
                spark.display = True
        self.query_one("#plan-actions", Static).update(action_strip(series))
        self.query_one("#plan-ruler", Static).update(ruler(series))
        table = self.query_one("#plan-slots", DataTable)
        table.clear()
        for i in range(series.n):
            tank = series.tank_w[i] if series.tank_w is not None else None
            table.add_row(
                f"{dt.datetime.fromtimestamp(series.start_utc_s[i], dt.UTC):%a %H:%M}",
                f"{series.import_p_per_kwh[i]:.2f}",
                f"{series.export_p_per_kwh[i]:.2f}",
                ACTION_SHOWN[series.action[i]][0],
                f"{series.battery_w[i]:,.0f}",
                f"{series.soc_pct[i]:.1f}",
                "—" if tank is None else f"{tank:,.0f}",
            )


def _legend() -> Text:
    legend = Text("Action: ")
    for a, letter in LETTER.items():
        legend.append(letter, style=f"bold {ACTION_SHOWN[a][1]}")
        legend.append(f" {ACTION_SHOWN[a][0]}  ")
    return legend
