"""Snapshots of the menu's main screens, and the read-only menu. The supervisor's answers
are a status recorded from a real `edge demo` (data/status.json), replayed so the
pictures are the same on every run; the other menu tests talk to a live supervisor."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
from pathlib import Path
from typing import Any

from textual.widgets import Button

from edge.config import EXAMPLE_CONFIG
from edge.menu.app import EdgeMenu

RECORDED = json.loads((Path(__file__).parent / "data" / "status.json").read_text())
SIZE = (110, 42)


class Replay:
    """Answers `status` with the recorded answer; records every other request."""

    def __init__(self, read_only: bool = False) -> None:
        self.answer = copy.deepcopy(RECORDED)
        self.answer["read_only"] = read_only
        self.asked: list[str] = []

    def request(self, op: str, timeout_s: float | None = None, **args: Any) -> dict[str, Any]:
        if op == "status":
            return copy.deepcopy(self.answer)
        self.asked.append(op)
        return {"ok": False, "error": "read-only"}


def menu(tmp_path: Path, read_only: bool = False) -> EdgeMenu:
    cfg = tmp_path / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, cfg)
    return EdgeMenu(Replay(read_only), cfg, live=False)


def test_status_screen(snap_compare, tmp_path):
    assert snap_compare(menu(tmp_path), terminal_size=SIZE)


def test_config_screen(snap_compare, tmp_path):
    assert snap_compare(menu(tmp_path), press=["2"], terminal_size=SIZE)


def test_commissioning_screen(snap_compare, tmp_path):
    assert snap_compare(menu(tmp_path), press=["3"], terminal_size=SIZE)


def test_operations_screen(snap_compare, tmp_path):
    assert snap_compare(menu(tmp_path), press=["4"], terminal_size=SIZE)


def test_outside_the_group_every_control_is_disabled(tmp_path):
    app = menu(tmp_path, read_only=True)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            buttons = [b for b in app.query(Button) if b.id not in ("yes", "no")]
            assert buttons and all(b.disabled for b in buttons)
            await pilot.click("#estop")
            await pilot.pause()
            banner = str(app.query_one("#banner").render())
            assert "read-only: you are not in the controller's group" in banner

    asyncio.run(go())
    assert app.backend.asked == []  # nothing but status was asked


def test_without_a_supervisor_the_menu_says_so_and_the_file_can_still_be_edited(tmp_path):
    from edge.local_api import ApiClient

    cfg = tmp_path / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, cfg)
    app = EdgeMenu(ApiClient(str(tmp_path / "none.sock")), cfg, live=False)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            banner = str(app.query_one("#banner").render())
            assert banner.startswith("the supervisor is not reachable:")
            await pilot.press("2")
            app.query_one("#in-policy--hold_s").value = "120"
            await pilot.pause()
            assert "1 change(s) not saved" in str(app.query_one("#config-msg").render())

    asyncio.run(go())
