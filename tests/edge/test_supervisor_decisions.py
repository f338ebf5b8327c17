"""The decision lines of the supervisor's log over a long silence of the inverter: one line
when the safe state is entered, a reminder every DecisionLog.remind_s while it lasts (its
reason's numbers, the data's age, change every tick), and one line when it ends. Real
parts: the Sofar emulator over TCP, the driver, the supervisor; the clock is advanced a
tick at a time."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from edge.clock import ScaledClock
from edge.config import load_config
from edge.decision_log import duration, reason_kind
from edge.drivers.budget import WriteBudget
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.sim import SofarEmulator
from edge.sim.house import House, HouseParams
from edge.supervisor import Supervisor
from tests.asyncwait import wait_until

NOON_S = 12 * 3600.0
SILENT_S = 25 * 60.0  # two reminders (at 10 and 20 min), not a third


def site(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(
        f'[site]\nstate_db = "{tmp_path / "state.sqlite"}"\n\n'
        f'[inverter]\nport = "tcp://127.0.0.1:{port}"\n\n'
        '[mqtt]\nenabled = false\nhost = "127.0.0.1"\n\n[dab]\nenabled = false\n',
        encoding="utf-8",
    )
    return path


def decision_lines(caplog) -> list[str]:
    msgs = [r.getMessage() for r in caplog.records if r.name == "edge"]
    return [m for m in msgs if m.startswith("decision")]


def test_a_silent_inverter_logs_its_safe_state_once_with_rate_limited_reminders(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="edge")

    async def go():
        emu = SofarEmulator(House(HouseParams(load_noise_w=0.0), start_s=NOON_S))
        cfg = load_config(site(tmp_path, await emu.start()))
        clock = ScaledClock(start_s=NOON_S, speed=1.0)
        budget = WriteBudget("inverter", 20000, cfg.site.state_db)
        inverter = SofarDriver(cfg.inverter, clock, poll_s=0.1, budget=budget)
        sup = Supervisor(cfg, clock, inverter, None, None, lambda _l: None)
        poll = asyncio.create_task(inverter.run())
        try:
            await wait_until(lambda: inverter.sample(clock.now_s()) is not None)
            await sup.tick(1.0)
            assert not sup.state.reason.startswith("safe state")
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
            await emu.stop()  # the inverter goes silent
            caplog.clear()

            ticks, entered_s = 0, None
            while entered_s is None or clock.now_s() - entered_s < SILENT_S:
                clock.advance(1.0)
                await sup.tick(1.0)
                ticks += 1
                if entered_s is None and sup.state.reason.startswith("safe state"):
                    entered_s = clock.now_s()
            silent = decision_lines(caplog)
            assert ticks > 1500  # one line a tick would have been as many lines

            await emu.start()  # it answers again, on the same port
            poll = asyncio.create_task(inverter.run())
            await wait_until(lambda: (s := inverter.sample(clock.now_s())) and s.age_s < 1.0)
            caplog.clear()
            await sup.tick(1.0)
            back = decision_lines(caplog)
        finally:
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
            await inverter.close(restore_self_use=False)
            await emu.stop()
        return silent, back

    silent, back = asyncio.run(go())
    assert len(silent) == 4, silent
    left, entered, *reminders = silent
    assert left.startswith("decision ended after ") and "safe state" not in left
    assert entered.startswith("decision: safe state: inverter data ")
    assert [r.split(" (")[0].split(": ", 1)[0] for r in reminders] == ["decision still"] * 2
    assert "safe state: inverter data" in reminders[0] and "(for 10 min)" in reminders[0]
    assert "(for 20 min)" in reminders[1]
    ended, now = back
    assert ended.startswith("decision ended after 25 min: safe state: inverter data ")
    assert now.startswith("decision: ") and "safe state" not in now


def test_reasons_are_compared_without_their_numbers():
    assert reason_kind("safe state: BMS data 12.5 s old") == reason_kind(
        "safe state: BMS data 3 s old"
    )
    assert reason_kind("safe state: BMS data 3 s old") != reason_kind(
        "safe state: inverter data 3 s old"
    )
    assert [duration(s) for s in (0.4, 59.9, 600.0, 3599.0, 3 * 3600 + 5 * 60 + 7)] == [
        "0 s",
        "59 s",
        "10 min",
        "59 min",
        "3 h 5 min",
    ]
