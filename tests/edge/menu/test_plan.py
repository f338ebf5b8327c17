"""The menu's Plan tab (edge/menu/plan.py): a snapshot from a status recorded from a real
`edge demo` with the planner on (data/plan_status.json, data/record_plan_status.py), the
chart's rows drawn from that plan's next 24 h, the planner off, no plan yet, a plan that
cannot be read, and the tab filled by a live supervisor through the real local API."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Sparkline, Static

from edge.config import EXAMPLE_CONFIG
from edge.core.model import PlanBattery
from edge.local_api import ApiClient
from edge.menu.app import EdgeMenu
from edge.menu.plan import CHART_COLS, LETTER, PLANNER_OFF, action_strip, column_slots, ruler
from edge.planner.chart import PlanSeries, from_document
from tests.edge.conftest import ENV, wait_until

DATA = Path(__file__).parent / "data"
RECORDED = json.loads((DATA / "plan_status.json").read_text())
PLAIN = json.loads((DATA / "status.json").read_text())  # the planner off
SIZE = (110, 42)


class Replay:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def request(self, op: str, timeout_s: float | None = None, **args: Any) -> dict[str, Any]:
        if op == "status":
            return copy.deepcopy(self.answer)
        return {"ok": False, "error": "not in this test"}


def menu(tmp_path: Path, answer: dict[str, Any]) -> EdgeMenu:
    cfg = tmp_path / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, cfg)
    return EdgeMenu(Replay(answer), cfg, live=False)


def text_of(app: EdgeMenu, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def on_plan_tab(app: EdgeMenu, check) -> None:
    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            await pilot.pause()
            check(app)

    asyncio.run(go())


def test_plan_screen(snap_compare, tmp_path):
    assert snap_compare(menu(tmp_path, RECORDED), press=["5"], terminal_size=SIZE)


def test_the_chart_draws_the_next_24_h_of_the_plan(tmp_path):
    plan = RECORDED["plan"]
    assert len(plan["start"]) == 96  # a 48 h plan: the tab shows its first 24 h
    series = from_document(plan)
    day = slice(0, CHART_COLS)  # the plan is 34 s old: the slot in force is its first

    def check(app):
        price = list(app.query_one("#plan-price", Sparkline).data or [])
        assert price == list(series.import_p_per_kwh[day])
        soc = list(app.query_one("#plan-soc", Sparkline).data or [])
        assert soc == list(series.soc_pct[day])
        charge = list(app.query_one("#plan-charge", Sparkline).data or [])
        discharge = list(app.query_one("#plan-discharge", Sparkline).data or [])
        assert [d - c for c, d in zip(charge, discharge, strict=True)] == list(
            series.battery_w[day]
        )
        assert min(charge) >= 0.0 and min(discharge) >= 0.0
        strip = text_of(app, "#plan-actions")
        assert strip == "".join(LETTER[a] for a in series.action[day])
        assert "E" in strip and "C" in strip  # Flux: export at the peak, charge at night
        assert not app.query_one("#plan-heat_pump", Sparkline).display  # the live plan has none
        assert "Heat pump: not planned" in text_of(app, "#plan-label-heat_pump")
        assert "Import 16.5–38.5 p/kWh" in text_of(app, "#plan-label-price")
        head = text_of(app, "#plan-head")
        assert head.startswith("Plan made 05:48 UTC, 0 min 34 s ago. Now: hold")
        assert "Now: hold (SOC 50 % at the slot's end). Next: export from 16:00 UTC." in head
        assert "rest of today £1.40, tomorrow £1.82" in head and "self-consumption: £0.83" in head
        ruler = text_of(app, "#plan-ruler").splitlines()
        assert ruler[1].split() == ["06:00", "12:00", "18:00", "00:00"]
        assert app.query_one("#plan-slots", DataTable).row_count == CHART_COLS

    on_plan_tab(menu(tmp_path, RECORDED), check)


def test_an_older_plan_shows_from_the_slot_in_force(tmp_path):
    answer = copy.deepcopy(RECORDED)
    answer["state"]["plan_age_s"] = 5 * 3600  # made 05:48, now 10:48: the 10:30 slot
    series = from_document(answer["plan"])

    def check(app):
        assert app.query_one("#plan-slots", DataTable).get_row_at(0)[0] == "Mon 10:30"
        price = list(app.query_one("#plan-price", Sparkline).data or [])
        assert price == list(series.import_p_per_kwh[10 : 10 + CHART_COLS])
        assert text_of(app, "#plan-head").startswith("Plan made 05:48 UTC, 5 h 0 min ago.")

    on_plan_tab(menu(tmp_path, answer), check)


def test_with_the_planner_off_the_tab_says_so(tmp_path):
    assert "plan_action" not in PLAIN["state"]

    def check(app):
        assert text_of(app, "#plan-head") == PLANNER_OFF
        assert app.query_one("#plan-chart").has_class("hidden")
        assert app.query_one("#plan-slots").has_class("hidden")

    on_plan_tab(menu(tmp_path, PLAIN), check)


def test_with_no_plan_yet_the_tab_says_so_and_why(tmp_path):
    answer = copy.deepcopy(RECORDED)
    answer["plan"] = None
    answer["state"] = {k: v for k, v in answer["state"].items() if not k.startswith("plan_")}
    answer["state"].update(plan_action="no plan", plan_problem="no plan: HiGHS raised X")

    def check(app):
        assert text_of(app, "#plan-head") == (
            "No plan yet: the core does plain self-consumption."
            " Last problem: no plan: HiGHS raised X"
        )
        assert app.query_one("#plan-chart").has_class("hidden")

    on_plan_tab(menu(tmp_path, answer), check)


def test_a_plan_that_cannot_be_read_is_said_not_drawn(tmp_path):
    answer = copy.deepcopy(RECORDED)
    answer["plan"]["soc_pct"] = answer["plan"]["soc_pct"][:10]

    def check(app):
        assert text_of(app, "#plan-head") == (
            "The supervisor's plan cannot be shown: plan: 'soc_pct' has 10 values for 96 slots"
        )
        assert app.query_one("#plan-chart").has_class("hidden")

    on_plan_tab(menu(tmp_path, answer), check)


def test_a_live_supervisor_fills_the_tab_through_the_local_api(tmp_path):
    """`edge demo` with [planner] on (Flux): the status answer carries the plan in force,
    and the tab draws it."""
    folder = Path(tempfile.mkdtemp(prefix="edge-plan-"))
    sock = folder / "api.sock"
    site = tmp_path / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, site)
    with site.open("a", encoding="utf-8") as f:
        f.write('\n[planner]\nenabled = true\n\n[tariff]\nkind = "flux"\n')
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "edge", "demo", "--no-mqtt", "--quiet", "--config", str(site)),
            *("--minutes", "30", "--speed", "10", "--api-socket", str(sock)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    client = ApiClient(str(sock))
    try:
        answer = wait_until(lambda: (a := client.request("status")).get("plan") and a, 60.0)
        plan = answer["plan"]
        assert 72 <= len(plan["start"]) <= 96 and set(plan["import_p"]) <= {16.5, 27.5, 38.5}

        async def go():
            app = EdgeMenu(client, site)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("5")
                while not app.query_one("#plan-price", Sparkline).data:
                    await pilot.pause(0.1)
                price = list(app.query_one("#plan-price", Sparkline).data or [])
                assert len(price) == CHART_COLS and set(price) <= {16.5, 27.5, 38.5}
                assert text_of(app, "#plan-head").startswith("Plan made ")

        asyncio.run(asyncio.wait_for(go(), 60.0))
    finally:
        client.close()
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    assert proc.returncode == 0, err
    assert "HiGHS" not in out  # the supervisor's stdout: no solver banner a re-plan


def series_of(start_utc_s: float, slot_s: float, n: int) -> PlanSeries:
    actions = (PlanBattery.GRID_CHARGE, PlanBattery.HOLD, PlanBattery.EXPORT)
    return PlanSeries(
        start_utc_s=tuple(start_utc_s + k * slot_s for k in range(n)),
        slot_s=slot_s,
        import_p_per_kwh=(20.0,) * n,
        export_p_per_kwh=(5.0,) * n,
        battery_w=(0.0,) * n,
        soc_pct=(50.0,) * n,
        tank_w=None,
        heat_pump_w=None,
        action=tuple(actions[k % 3] for k in range(n)),
    )


def test_the_strip_and_ruler_sit_on_the_sparkline_columns():
    # Quarter hours from 05:45: two slots a column, 06:00 the second slot of the first.
    quarter = series_of(1_765_000_800.0 - 900.0, 900.0, 96)
    ticks, times = ruler(quarter).splitlines()
    assert times.split() == ["06:00", "12:00", "18:00", "00:00"]
    assert [c for c, ch in enumerate(ticks) if ch == "╵"] == [0, 12, 24, 36]
    # each column shows its first slot: 0, 2, 4, ... (actions C, H, E in turn)
    assert action_strip(quarter).plain == "".join("CHE"[2 * c % 3] for c in range(48))
    # Six half hours left, from 21:00: the Sparkline stretches them over its 48 columns,
    # 8 each, and the strip does the same.
    short = series_of(1_765_000_800.0 + 15 * 3600.0, 1800.0, 6)
    assert action_strip(short).plain == "".join(ch * 8 for ch in "CHECHE")
    assert column_slots(6) == [c * 6 // 48 for c in range(48)]
    assert ruler(short).strip() == ""  # 21:00 to 00:00: no 6 h mark starts in it
    later = series_of(1_765_000_800.0 + 16 * 3600.0, 1800.0, 6)  # 22:00 to 01:00: 00:00 is
    # the 5th slot, from column 32
    assert ruler(later).splitlines()[1] == " " * 32 + "00:00"
