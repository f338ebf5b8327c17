"""The menu, headless (Textual's run_test and Pilot), against a running `edge demo`
through the real local API: navigate, an out-of-range value refused with its message, a
save that keeps comments (atomic, with a backup), apply picked up by the supervisor, and
an emergency stop that reaches it."""

from __future__ import annotations

import asyncio
import threading

from textual.widgets import Input, Static, TabbedContent

from edge.menu.app import Confirm, EdgeMenu
from tests.edge.conftest import wait_until


async def settle(pilot, pred, timeout_s: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "the menu did not get there"
        await pilot.pause(0.05)


def text_of(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


class SlowStatus:
    """The real client, with status answers held back until `release` is set: a refresh
    still on its way when the menu closes."""

    def __init__(self, client) -> None:
        self.client = client
        self.release = threading.Event()
        self.calls = 0

    def request(self, op, timeout_s=None, **args):
        if op == "status":
            self.calls += 1
            if self.calls > 1:
                self.release.wait(10.0)
        return self.client.request(op, timeout_s, **args)


def test_a_status_answer_arriving_after_the_menu_closed_is_dropped(demo):
    client, cfg, _sock = demo
    slow = SlowStatus(client)

    async def go():
        app = EdgeMenu(slow, cfg)
        async with app.run_test(size=(120, 45)) as pilot:
            await settle(pilot, lambda: "Grid" in text_of(app, "#flows"))
            late = asyncio.create_task(app.refresh_status())
            await settle(pilot, lambda: slow.calls >= 2)
        slow.release.set()
        await late  # the screen is gone: before the fix, NoMatches('#banner') here

    asyncio.run(go())


def test_navigate_the_tabs_and_see_live_status(demo):
    client, cfg, _sock = demo

    async def go():
        app = EdgeMenu(client, cfg)
        async with app.run_test(size=(120, 45)) as pilot:
            tabs = app.query_one(TabbedContent)
            assert tabs.active == "status"
            await settle(pilot, lambda: "Grid" in text_of(app, "#flows"))
            assert "Decision:" in text_of(app, "#flows")
            for key, tab in (
                ("2", "config"),
                ("3", "commission"),
                ("4", "operate"),
                ("1", "status"),
            ):
                await pilot.press(key)
                assert tabs.active == tab
            assert app.query_one("#devices").row_count >= 3  # inverter, dab, bms, loads

    asyncio.run(go())


def test_an_out_of_range_value_is_refused_with_the_message(demo):
    client, cfg, _sock = demo

    async def go():
        app = EdgeMenu(client, cfg, live=False)
        async with app.run_test(size=(120, 45)) as pilot:
            await pilot.press("2")
            field = app.query_one("#in-policy--hold_s", Input)
            field.value = "99999"
            await pilot.pause()
            error = text_of(app, "#err-policy--hold_s")
            assert "policy.hold_s = 99999.0: Input should be less than or equal to 3600" in error
            field.value = "soon"
            await pilot.pause()
            assert "a number is needed" in text_of(app, "#err-policy--hold_s")
            await pilot.click("#save")
            await pilot.pause()
            assert "nothing to save" in text_of(app, "#config-msg")  # nothing valid pending

    asyncio.run(go())


def test_save_keeps_comments_and_apply_reaches_the_supervisor(demo):
    client, cfg, _sock = demo
    before = cfg.read_text()

    async def go():
        app = EdgeMenu(client, cfg, live=False)
        async with app.run_test(size=(120, 45)) as pilot:
            await pilot.press("2")
            app.query_one("#in-policy--hold_s", Input).value = "90"
            await pilot.pause()
            assert "1 change(s) not saved" in text_of(app, "#config-msg")
            await pilot.click("#save")
            await settle(pilot, lambda: isinstance(app.screen, Confirm))
            assert "+hold_s = 90.0" in text_of(app.screen, "#detail")  # the diff first
            await pilot.press("y")
            await settle(pilot, lambda: "saved" in text_of(app, "#config-msg"))
            await pilot.click("#apply")
            await settle(pilot, lambda: "applied: policy.hold_s" in text_of(app, "#config-msg"))

    asyncio.run(go())
    after = cfg.read_text()
    assert "hold_s = 90.0" in after
    assert "# no charge/discharge reversal within this time..." in after  # comment kept
    assert cfg.with_name(cfg.name + ".bak").read_text() == before
    status = client.request("status")
    assert status["restart_pending"] == []
    assert status["settings"]["policy.hold_s"] == 90.0  # the running supervisor has it


def test_emergency_stop_from_the_menu_reaches_the_supervisor(demo):
    client, cfg, _sock = demo

    async def go():
        app = EdgeMenu(client, cfg, live=False)
        async with app.run_test(size=(120, 45)) as pilot:
            await pilot.press("4")
            await pilot.click("#estop")
            await settle(pilot, lambda: isinstance(app.screen, Confirm))
            await pilot.press("n")  # asked first: no means nothing happens
            await pilot.pause()
            assert client.request("status")["state"]["emergency_stop"] == "OFF"
            await pilot.click("#estop")
            await settle(pilot, lambda: isinstance(app.screen, Confirm))
            await pilot.press("y")
            await settle(pilot, lambda: "emergency_stop: accepted" in text_of(app, "#op-msg"))

    asyncio.run(go())
    wait_until(lambda: client.request("status")["state"]["reason"].startswith("emergency stop"))
