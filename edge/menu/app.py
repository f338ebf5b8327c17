"""`edge menu`: the on-device console. It acts only through the supervisor's local API
(edge/local_api.py) and the site file; it never talks to a device itself.

Tabs: 1 Status (power flows, SOC and cells, tank, heat pump, each device's health, the
decision and its history, trips and faults), 2 Config (every setting with its unit, range
and help from the model; checked as typed; a diff before saving; an atomic save keeping
comments and a backup; apply without a restart where the supervisor can), 3 Commissioning
(scan an RS485 port, test each output after a confirmation, write counters against their
budgets), 4 Operations (emergency stop, clear a trip, force charge and boost with an
expiry), 5 Plan (the planner's plan: its figures, a chart of the next 24 h, its slots;
edge/menu/plan.py). Users outside the controller's group get all of it read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, Protocol

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    ListItem,
    ListView,
    Static,
    TabbedContent,
    TabPane,
)

from edge.errors import ConfigError
from edge.menu.plan import PlanView
from edge.menu.schema import sections, settings
from edge.menu.tomledit import apply_edits, diff, parse_value, save_atomically, validate
from edge.settings import flatten

REFRESH_S = 1.0
SCAN_TIMEOUT_S = 180.0


class Backend(Protocol):
    def request(self, op: str, timeout_s: float | None = None, **args: Any) -> dict[str, Any]: ...


class Confirm(ModalScreen[bool]):
    """Yes or no, with what will happen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        ("y", "answer(True)", "Yes"),
        ("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question, self.detail = question, detail

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question")
            if self.detail:
                with VerticalScroll(id="detail-box"):
                    yield Static(self.detail, id="detail", markup=False)
            with Horizontal(id="answers"):
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def _fmt(value: Any, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}{(' ' + unit) if unit else ''}"
    return str(value)


def render_flows(state: dict[str, Any]) -> str:
    """The power flows and the batteries in a few lines (+ grid = import, + battery =
    discharge, as everywhere)."""
    if not state:
        return "no data from the supervisor yet"
    g = state.get("grid_power_w")
    b = state.get("battery_power_w")
    direction = "import" if (g or 0) > 0 else "export" if (g or 0) < 0 else ""
    battery = "discharging" if (b or 0) > 0 else "charging" if (b or 0) < 0 else "idle"
    lines = [
        f"Grid      {_fmt(g, 'W'):>10}  {direction}",
        f"PV        {_fmt(state.get('pv_power_w'), 'W'):>10}",
        f"Load      {_fmt(state.get('load_power_w'), 'W'):>10}",
        f"Battery   {_fmt(b, 'W'):>10}  {battery}, SOC {_fmt(state.get('battery_soc_pct'), '%')}",
        f"Diverter  {_fmt(state.get('heater_power_w'), 'W'):>10}"
        f"  tank {_fmt(state.get('tank_temp_degc'), '°C', 1)}",
        f"Heat pump {_fmt(state.get('heat_pump_power_w'), 'W'):>10}"
        f"  SG-Ready {state.get('heat_pump_sg_ready', '—')}",
        f"DAB       {_fmt(state.get('dab_power_w'), 'W'):>10}  {state.get('dab_startup', '')}",
        f"Cells     {_fmt(state.get('bms_cell_min_v'), 'V', 3)} to "
        f"{_fmt(state.get('bms_cell_max_v'), 'V', 3)}, spread "
        f"{_fmt(state.get('bms_cell_spread_mv'), 'mV')}",
        "",
        f"Decision: {state.get('reason', '—')}",
        f"Mode {state.get('mode', '—')} (requested {state.get('mode_request', 'auto')}),"
        f" emergency stop {state.get('emergency_stop', '—')},"
        f" safe state {state.get('safe_state', '—')}",
        f"Faults: inverter {state.get('inverter_fault', '—')},"
        f" DAB {state.get('dab_faults', '—')}, BMS {state.get('bms_alarms', '—')}",
    ]
    s2 = [(name, state[key]) for key, name in S2_SESSIONS if key in state]
    if s2:  # only where [s2] is enabled (docs/s2.md); the battery's alone as before
        shown = [f"{name} {v}" for name, v in s2] if len(s2) > 1 else [str(s2[0][1])]
        lines.append(f"S2 energy manager: {', '.join(shown)}")
    return "\n".join(lines)


# Each S2 session's sensor (edge/mqtt/entities.py) and the resource's name on the line.
S2_SESSIONS = (
    ("s2_link", "battery"),
    ("s2_tank_link", "tank"),
    ("s2_heat_pump_link", "heat pump"),
    ("s2_export_link", "export"),
)


class EdgeMenu(App[None]):
    TITLE = "edge"
    CSS = """
    #banner { background: $warning; color: $text; padding: 0 1; display: none; }
    #banner.shown { display: block; }
    #flows { padding: 0 1; }
    #sections { width: 26; }
    .setting { height: auto; margin: 0 0 1 0; }
    .setting Input { width: 48; }
    .help { color: $text-muted; }
    .error { color: $error; }
    .row { height: auto; }
    .row Input { width: 16; }
    .row #scan-port { width: 32; }
    #dialog { width: 90%; height: auto; max-height: 90%; border: thick $warning; padding: 1 2;
              background: $surface; }
    #detail-box { height: auto; max-height: 20; }
    Confirm { align: center middle; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('status')", "Status"),
        Binding("2", "tab('config')", "Config"),
        Binding("3", "tab('commission')", "Commissioning"),
        Binding("4", "tab('operate')", "Operations"),
        Binding("5", "tab('plan')", "Plan"),
        Binding("e", "estop", "Emergency stop"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, backend: Backend, config_path: Path | None, live: bool = True) -> None:
        """live: refresh the status every second (off in snapshot tests)."""
        super().__init__()
        self.backend = backend
        self.config_path = config_path
        self.live = live
        self.status: dict[str, Any] = {}
        self.read_only = True
        self.edits: dict[str, Any] = {}
        self.by_key = {s.key: s for s in settings()}
        self.file_values: dict[str, Any] = {}
        self.section = "policy"

    # ---- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="banner")
        with TabbedContent(initial="status"):
            with TabPane("1 Status", id="status"), VerticalScroll():
                yield Static(id="flows", markup=False)
                yield DataTable(id="devices", cursor_type="none")
                yield Label("Last decisions")
                yield Static(id="decisions", markup=False)
            with TabPane("2 Config", id="config"):
                with Horizontal():
                    yield ListView(
                        *[ListItem(Label(s), id="sec-" + s.replace(".", "--")) for s in sections()],
                        id="sections",
                    )
                    yield VerticalScroll(id="form")
                with Horizontal(classes="row"):
                    yield Button("Save…", id="save", variant="primary")
                    yield Button("Apply", id="apply")
                    yield Static(id="config-msg", markup=False)
            with TabPane("3 Commissioning", id="commission"), VerticalScroll():
                yield Label("Scan an RS485 port for the inverter and the BMS")
                with Horizontal(classes="row"):
                    yield Input(placeholder="/dev/ttyUSB0", id="scan-port")
                    yield Input(value="1-10", id="scan-ids")
                    yield Button("Scan", id="scan")
                yield DataTable(id="found", cursor_type="none")
                yield Label("Test an output (5 s; asks first)")
                with Horizontal(classes="row"):
                    yield Button("Diverter 10 %", id="test-diverter")
                    yield Button("Heat pump relay 1", id="test-relay1")
                    yield Button("Heat pump relay 2", id="test-relay2")
                yield Static(id="commission-msg", markup=False)
                yield Label("Writes today against their budget")
                yield DataTable(id="budgets", cursor_type="none")
            with TabPane("4 Operations", id="operate"), VerticalScroll():
                with Horizontal(classes="row"):
                    yield Button("Emergency stop", id="estop", variant="error")
                    yield Button("Clear trip", id="clear", variant="warning")
                with Horizontal(classes="row"):
                    yield Label("Force charge ")
                    yield Input(value="1500", id="fc-w", type="number")
                    yield Label(" W for ")
                    yield Input(value="60", id="fc-min", type="number")
                    yield Label(" min ")
                    yield Button("Force charge", id="force-charge")
                with Horizontal(classes="row"):
                    yield Label("Boost hot water for ")
                    yield Input(value="60", id="boost-min", type="number")
                    yield Label(" min ")
                    yield Button("Boost", id="boost")
                yield Static(id="op-msg", markup=False)
            with TabPane("5 Plan", id="plan"), VerticalScroll():
                yield PlanView()
        yield Footer()

    async def on_mount(self) -> None:
        devices = self.query_one("#devices", DataTable)
        devices.add_columns("device", "status", "data age", "stale")
        self.query_one("#found", DataTable).add_columns(
            "device", "port", "baud", "address", "identity"
        )
        self.query_one("#budgets", DataTable).add_columns("device", "writes today", "budget")
        self._load_file()
        self._show_section(self.section)
        await self.refresh_status()
        if self.live:
            self.set_interval(REFRESH_S, self.refresh_status)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_estop(self) -> None:
        """From any tab (asks first), unless the menu is read-only."""
        if self.read_only:
            self.query_one("#op-msg", Static).update(
                "read-only: the emergency stop needs the group"
            )
            return
        self.action_tab("operate")
        self._estop()

    # ---- the supervisor -----------------------------------------------------------
    async def call(self, op: str, timeout_s: float | None = None, **args: Any) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(self.backend.request, op, timeout_s, **args)
        except OSError as exc:
            return {"ok": False, "error": f"the supervisor is not reachable: {exc}"}

    async def refresh_status(self) -> None:
        answer = await self.call("status")
        # The menu may have closed while the answer was on its way: nothing to show it on.
        with contextlib.suppress(NoMatches):
            self._show_status(answer)

    def _show_status(self, answer: dict[str, Any]) -> None:
        banner = self.query_one("#banner", Static)
        if not answer.get("ok"):
            banner.update(answer.get("error", "no answer"))
            banner.add_class("shown")
            return
        self.status = answer
        self.read_only = bool(answer.get("read_only"))
        notes = []
        if self.read_only:
            notes.append("read-only: you are not in the controller's group")
        if answer.get("restart_pending"):
            notes.append("restart edge to apply: " + ", ".join(answer["restart_pending"]))
        banner.update(" | ".join(notes))
        banner.set_class(bool(notes), "shown")
        for button in self.query(Button):
            if button.id not in ("yes", "no"):
                button.disabled = self.read_only
        self.query_one("#flows", Static).update(render_flows(answer.get("state", {})))
        self.query_one(PlanView).show(answer)
        devices = self.query_one("#devices", DataTable)
        devices.clear()
        for name, d in answer.get("devices", {}).items():
            age = d.get("age_s")
            devices.add_row(
                name,
                d.get("status", ""),
                "—" if age is None else f"{age:.1f} s",
                "STALE" if d.get("stale") else "",
            )
        self.query_one("#decisions", Static).update(
            "\n".join(reversed(answer.get("decisions", [])[-8:])) or "—"
        )
        budgets = self.query_one("#budgets", DataTable)
        budgets.clear()
        for name, b in answer.get("budgets", {}).items():
            budgets.add_row(name, f"{b['used']:,}", f"{b['per_day']:,}")

    # ---- config -------------------------------------------------------------------
    def _load_file(self) -> None:
        """The file's values over the model's defaults (what the supervisor would read)."""
        values = {s.key: s.default for s in settings()}
        if self.config_path is not None:
            try:
                values.update(flatten(tomllib.loads(self.config_path.read_text())))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                self._config_msg(f"{self.config_path}: {exc}")
        self.file_values = values

    def _config_msg(self, text: str) -> None:
        self.query_one("#config-msg", Static).update(text)

    def _show_section(self, section: str) -> None:
        self.section = section
        form = self.query_one("#form", VerticalScroll)
        form.remove_children()
        widgets = []
        for s in settings():
            if s.section != section:
                continue
            value = self.edits.get(s.key, self.file_values.get(s.key))
            text = "" if value is None else _as_text(value)
            unit = f" [{s.unit}]" if s.unit else ""
            when = "applies at once" if s.live else "needs a restart"
            help_text = s.help + (f" ({s.range_text()})" if s.range_text() else "")
            box = Vertical(
                Label(f"{s.name}{unit} · {when}", markup=False),
                Input(value=text, id=_input_id(s.key), disabled=False),
                Static(help_text, classes="help", markup=False),
                Static("", id=_error_id(s.key), classes="error", markup=False),
                classes="setting",
            )
            widgets.append(box)
        form.mount_all(widgets)

    @on(ListView.Selected, "#sections")
    def _section_chosen(self, event: ListView.Selected) -> None:
        if event.item.id is not None:
            self._show_section(event.item.id.removeprefix("sec-").replace("--", "."))

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        if event.input.id is None or not event.input.id.startswith("in-"):
            return
        key = event.input.id[3:].replace("--", ".")
        s = self.by_key[key]
        error = self.query_one(f"#{_error_id(key)}", Static)
        try:
            value = parse_value(s, event.value)
        except ValueError as exc:
            error.update(str(exc))
            self.edits.pop(key, None)
            return
        if value == self.file_values.get(key):
            self.edits.pop(key, None)
        else:
            self.edits[key] = value
        problem = self._check()
        mine = [line for line in problem if line.startswith(f"{key} ")]
        error.update("\n".join(mine))
        pending = f"{len(self.edits)} change(s) not saved" if self.edits else ""
        self._config_msg("\n".join([pending, *[p for p in problem if p not in mine]]).strip())

    def _check(self) -> list[str]:
        """The whole file with the edits, as the supervisor would validate it: the
        problems, one a line ('key = value: what is allowed')."""
        if self.config_path is None:
            return []
        try:
            validate(apply_edits(self.config_path.read_text(), self.edits), "edit")
        except ConfigError as exc:
            return [line.strip() for line in str(exc).splitlines()[1:]]
        return []

    @on(Button.Pressed, "#save")
    @work(exclusive=True)
    async def _save(self) -> None:
        if self.config_path is None:
            self._config_msg("no site file: start the menu with --config FILE")
            return
        if not self.edits:
            self._config_msg("nothing to save")
            return
        problems = self._check()
        if problems:
            self._config_msg("not saved: " + "; ".join(problems))
            return
        if not os.access(self.config_path, os.W_OK):
            self._config_msg(f"not saved: {self.config_path} is not writable for you")
            return
        old = self.config_path.read_text()
        new = apply_edits(old, self.edits)
        lines = diff(old, new, self.config_path.name)
        if await self.push_screen_wait(Confirm("Save these changes?", "\n".join(lines))):
            backup = save_atomically(self.config_path, new)
            self.edits.clear()
            self._load_file()
            self._config_msg(f"saved (the previous file is {backup.name}); Apply to use it")

    @on(Button.Pressed, "#apply")
    async def _apply(self) -> None:
        answer = await self.call("reload")
        if not answer.get("ok"):
            self._config_msg(f"not applied: {answer.get('error')}")
            return
        applied = ", ".join(answer.get("applied", [])) or "nothing changed"
        restart = answer.get("restart_needed", [])
        text = f"applied: {applied}"
        if restart:
            text += f"\nrestart edge to apply: {', '.join(restart)}"
        self._config_msg(text)
        await self.refresh_status()

    # ---- commissioning ------------------------------------------------------------
    @on(Button.Pressed, "#scan")
    async def _scan(self) -> None:
        msg = self.query_one("#commission-msg", Static)
        port = self.query_one("#scan-port", Input).value.strip()
        try:
            ids = _id_range(self.query_one("#scan-ids", Input).value)
        except ValueError as exc:
            msg.update(str(exc))
            return
        msg.update(f"scanning {port} …")
        answer = await self.call("scan", SCAN_TIMEOUT_S, port=port, slave_ids=ids)
        table = self.query_one("#found", DataTable)
        table.clear()
        if not answer.get("ok"):
            msg.update(f"scan refused: {answer.get('error')}")
            return
        for f in answer.get("found", []):
            table.add_row(
                f["device"], f["port"], str(f["baud"] or "—"), str(f["address"]), f["identity"]
            )
        msg.update(f"{len(answer.get('found', []))} device(s) found on {port}")

    @on(Button.Pressed, "#test-diverter, #test-relay1, #test-relay2")
    @work(exclusive=True)
    async def _test_output(self, event: Button.Pressed) -> None:
        what = str(event.button.id).removeprefix("test-")
        detail = {
            "diverter": "The immersion element runs at 10 % of its rating for 5 s.",
            "relay1": "SG-Ready contact 1 closes for 5 s (the heat pump is locked).",
            "relay2": "SG-Ready contact 2 closes for 5 s (the heat pump is asked to run).",
        }[what]
        if not await self.push_screen_wait(Confirm(f"Test the {what}?", detail)):
            return
        answer = await self.call("test_output", what=what, seconds=5)
        msg = self.query_one("#commission-msg", Static)
        msg.update(
            f"testing {what} for 5 s" if answer.get("ok") else f"refused: {answer.get('error')}"
        )

    # ---- operations ---------------------------------------------------------------
    async def _command(self, key: str, **args: Any) -> None:
        answer = await self.call("command", key=key, **args)
        result = answer.get("result", {})
        text = (
            f"{key}: accepted"
            if answer.get("ok")
            else f"{key}: refused: {result.get('reason') or answer.get('error')}"
        )
        self.query_one("#op-msg", Static).update(text)
        await self.refresh_status()

    @on(Button.Pressed, "#estop")
    @work(exclusive=True)
    async def _estop(self) -> None:
        if await self.push_screen_wait(
            Confirm(
                "Emergency stop?",
                "The battery goes idle, the DAB string, the element and the heat pump's"
                " boost go off, until someone clears the trip.",
            )
        ):
            await self._command("emergency_stop")

    @on(Button.Pressed, "#clear")
    @work(exclusive=True)
    async def _clear(self) -> None:
        if await self.push_screen_wait(
            Confirm(
                "Clear the trip?",
                "Releases the emergency stop and clears the DAB board's latched trip. The"
                " board keeps its own 500 ms lock-out and runs its start-up checks again.",
            )
        ):
            await self._command("clear_trip")

    @on(Button.Pressed, "#force-charge")
    async def _force_charge(self) -> None:
        try:
            watts = float(self.query_one("#fc-w", Input).value)
            minutes = float(self.query_one("#fc-min", Input).value)
        except ValueError:
            self.query_one("#op-msg", Static).update("force charge: W and minutes are numbers")
            return
        await self._command("force_charge_w", value=watts, for_s=minutes * 60)

    @on(Button.Pressed, "#boost")
    async def _boost(self) -> None:
        try:
            minutes = float(self.query_one("#boost-min", Input).value)
        except ValueError:
            self.query_one("#op-msg", Static).update("boost: minutes are a number")
            return
        await self._command("boost_hot_water", value="PRESS", for_s=minutes * 60)


def _input_id(key: str) -> str:
    return "in-" + key.replace(".", "--")


def _error_id(key: str) -> str:
    return "err-" + key.replace(".", "--")


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _id_range(text: str) -> list[int]:
    """'1-10' or '1, 3, 7' -> the addresses."""
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, _, hi = part.partition("-")
            ids += range(int(lo), int(hi) + 1)
        elif part:
            ids.append(int(part))
    if not ids or not all(1 <= i <= 247 for i in ids):
        raise ValueError(f"addresses {text!r}: give 1-247, e.g. 1-10 or 1, 3")
    return ids
