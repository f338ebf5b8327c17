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
    b.take(100.0 + DAY_S)
    assert b.spent(100.0) and not b.spent(100.0 + DAY_S)
    b.close()
    again = WriteBudget("inverter", 3, db)  # a restart
    assert again.used(5000.0) == 3 and again.spent(5000.0)
    assert WriteBudget("dab", 3, db).used(5000.0) == 0


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
