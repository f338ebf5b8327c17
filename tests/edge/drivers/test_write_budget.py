"""The inverter's daily write budget: enforced by the driver, kept across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.config import ConfigError
from edge.core.model import InverterCommand, InverterMode
from edge.drivers.budget import DAY_S, WriteBudget
from edge.sim.house import InverterMode as HouseMode
from tests.edge.drivers.sofar.test_driver import rig


def test_the_budget_counts_per_device_and_day_and_survives_a_restart(tmp_path: Path):
    db = str(tmp_path / "state" / "edge.sqlite")
    b = WriteBudget("inverter", 3, db)
    for _ in range(3):
        b.take(100.0)
    assert b.spent(100.0) and not b.spent(100.0 + DAY_S)
    b.close()
    again = WriteBudget("inverter", 3, db)  # a restart
    assert again.used(5000.0) == 3 and again.spent(5000.0)
    again.take(100.0 + DAY_S)  # the next day: a fresh budget
    assert again.used(100.0 + DAY_S) == 1
    assert WriteBudget("dab", 3, db).used(5000.0) == 0


def test_a_clock_stepped_back_a_day_across_a_restart_does_not_reset_the_budget(tmp_path, caplog):
    """The Pi has no RTC: after a restart its clock may be a day behind until NTP answers.
    The budget's day is the highest seen, so the spent budget stays spent."""
    db = str(tmp_path / "edge.sqlite")
    today_s = 20_000 * DAY_S + 12 * 3600.0
    b = WriteBudget("inverter", 3, db)
    for _ in range(3):
        b.take(today_s)
    assert b.spent(today_s)
    b.close()
    again = WriteBudget("inverter", 3, db)  # restarted with the clock a day behind
    yesterday_s = today_s - DAY_S
    assert again.spent(yesterday_s) and again.used(yesterday_s) == 3
    assert "the clock is 1 day(s) behind the write budget's day" in caplog.text
    again.take(yesterday_s)  # a safe write still counts, against the highest day
    again.close()
    third = WriteBudget("inverter", 3, db)
    assert third.used(today_s) == 4 and third.spent(yesterday_s)
    assert not third.spent(today_s + DAY_S)  # the clock passing the day frees the budget


def test_an_unusable_state_file_names_the_key(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"site\.state_db = .*cannot be opened"):
        WriteBudget("inverter", 3, str(blocker / "sub" / "edge.sqlite"))


def test_past_the_budget_the_driver_hands_the_inverter_self_use_until_the_next_day(caplog):
    async def go():
        async with rig(daily_write_budget=10, deadband_w=50) as r:
            house, drv = r.house, r.drv
            day0 = r.clock.now_s()
            for k in range(14):
                await drv.apply(InverterCommand(InverterMode.PASSIVE, -500.0 - 100.0 * k))
            # 10 commands, then self-use (the one write allowed past the budget), then none.
            assert r.emu.passive_commands == 11
            assert house.state.mode is HouseMode.AUTO
            assert drv.budget.over_budget == 4
            assert "daily budget" in caplog.text
            assert drv.budget.used(day0) == 11
            # The next day the budget is fresh and passive commands go out again.
            r.clock.advance(DAY_S)
            await drv.apply(InverterCommand(InverterMode.PASSIVE, -800.0))
            assert r.emu.passive_commands == 12
            assert house.state.mode is HouseMode.PASSIVE

    asyncio.run(go())


def test_a_day_ahead_of_a_synchronised_clock_is_not_held(tmp_path, caplog):
    """A Pi that once ran on a time years ahead (a bad time at boot) counted its writes on
    a day far in the future. Held, that day would keep the budget spent for years; once
    NTP says the clock is right, today is counted instead. Unsynchronised, the day holds."""
    db = str(tmp_path / "edge.sqlite")
    today_s = 20_000 * DAY_S + 12 * 3600.0
    future_s = today_s + 3650 * DAY_S
    b = WriteBudget("inverter", 3, db)
    for _ in range(3):
        b.take(future_s)
    b.close()
    unsure = WriteBudget("inverter", 3, db, synchronised=lambda: None)
    assert unsure.spent(today_s)  # the clock cannot be trusted: the highest day holds
    unsure.close()
    synced = WriteBudget("inverter", 3, db, synchronised=lambda: True)
    with caplog.at_level("WARNING", logger="edge.budget"):
        assert not synced.spent(today_s) and synced.used(today_s) == 0
    assert "3650 day(s) ahead of the synchronised clock" in caplog.text
    synced.take(today_s)
    synced.close()
    assert WriteBudget("inverter", 3, db).used(today_s) == 1  # today's row is the latest
