"""Fault suite: the wall clock steps (a Pi without a real-time clock boots on a saved time,
then NTP moves it by hours). While running, ages and expiries are on the monotonic clock
and each step is reported once with its size; across a restart a stored expiry never
extends a request (edge/requests_store.py states the safe reading)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.clock import ScaledClock, kernel_synchronised, local_clock
from edge.core.model import Requests
from edge.requests_store import RequestStore

HOUR_S, DAY_S = 3600.0, 86400.0


class Wall:
    """A wall clock the test steps: the real one plus an offset."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s


def clock_on(wall: Wall, synchronised: bool | None = True) -> ScaledClock:
    return local_clock(wall=wall, synchronised=lambda: synchronised)


# ---- while running -------------------------------------------------------------------


@pytest.mark.parametrize("step_s", [HOUR_S, -2 * HOUR_S, DAY_S, -DAY_S])
def test_a_wall_step_leaves_the_clock_alone_and_is_reported_once_with_its_size(step_s):
    wall = Wall()
    clock = clock_on(wall)
    assert clock.wall_step_s() is None  # the wall keeps pace
    before = clock.now_s()
    wall.offset_s += step_s
    assert clock.now_s() - before == pytest.approx(0.0, abs=0.05)
    assert clock.wall_step_s() == pytest.approx(step_s, abs=0.05)
    assert clock.wall_step_s() is None  # once


def test_a_drift_under_a_second_is_no_step():
    wall = Wall()
    clock = clock_on(wall)
    wall.offset_s = 0.5
    assert clock.wall_step_s() is None


def test_the_kernel_answers_whether_the_wall_clock_is_synchronised():
    # adjtimex(2) exists on Linux: a yes or a no, never "unknown" here.
    assert kernel_synchronised() in (True, False)


def test_the_supervisor_reports_each_step_once_and_a_request_keeps_its_time(tmp_path, caplog):
    """Against the Sofar emulator, with the local API: a force charge for 60 s is still in
    force after the wall clock stepped back two hours and forward one; each step is one
    warning with its size."""
    from edge import compose
    from edge.config import load_config
    from edge.drivers.sofar.sim import SofarEmulator
    from edge.sim.house import House, HouseParams
    from tests.edge.test_compose import ask, status_once_ticking
    from tests.edge.test_signals import site_file

    house = House(HouseParams(), start_s=12 * 3600.0)
    emu = SofarEmulator(house)
    wall = Wall()
    ntp = [False]  # synchronised with the forward step, as NTP does at boot
    sock = tmp_path / "api.sock"

    async def command(key: str, value: float, for_s: float) -> dict:
        reader, writer = await asyncio.open_unix_connection(str(sock))
        try:
            msg = {"op": "command", "key": key, "value": value, "for_s": for_s}
            writer.write(json.dumps(msg).encode() + b"\n")
            await writer.drain()
            return json.loads(await reader.readline())
        finally:
            writer.close()
            await writer.wait_closed()

    async def go() -> dict:
        cfg = load_config(site_file(tmp_path, await emu.start()))
        clock = local_clock(wall=wall, synchronised=lambda: ntp[0])
        task = asyncio.create_task(compose.supervise(cfg, clock, clock.now_s() + 4.0, True, []))
        try:
            await status_once_ticking(sock, task, ticks=2)
            assert (await command("force_charge_w", 1200, 60))["ok"] is True
            for step_s in (-2 * HOUR_S, HOUR_S):
                wall.offset_s += step_s
                ntp[0] = step_s > 0
                await asyncio.sleep(1.2)  # a tick or more
            status = await ask(sock, "status")
            assert await asyncio.wait_for(task, 10.0) == 0
            return status
        finally:
            await emu.stop()

    with caplog.at_level(logging.INFO, logger="edge"):
        status = asyncio.run(go())
    lines = [r.getMessage() for r in caplog.records if "the wall clock" in r.getMessage()]
    assert [line.split(" s:")[0] for line in lines] == [
        "the wall clock stepped -7200",
        "the wall clock stepped +3600",
        "the wall clock is synchronised now (NTP)",
    ]
    assert status["state"]["force_charge_w"] == 1200.0


# ---- across a restart ----------------------------------------------------------------


def restart(db: str, wall_offset_s: float, synchronised: bool | None = True) -> tuple:
    """The stored requests as a new run reads them, on a wall clock off by the offset."""
    wall = Wall()
    wall.offset_s = wall_offset_s
    clock = clock_on(wall, synchronised)
    store = RequestStore(db, clock)
    try:
        return store.load(), clock
    finally:
        store.close()


def saved(tmp_path: Path, req_for_s: float = HOUR_S, **more) -> str:
    db = str(tmp_path / "state.sqlite")
    clock = clock_on(Wall())
    store = RequestStore(db, clock)
    store.save(
        Requests(
            force_charge_w=1500.0,
            force_charge_until_s=clock.now_s() + req_for_s,
            emergency_stop=True,
            **more,
        )
    )
    store.close()
    return db


def test_a_restart_a_day_behind_ends_a_force_charge_rather_than_making_it_25_hours(
    tmp_path, caplog
):
    db = saved(tmp_path)
    with caplog.at_level(logging.WARNING, logger="edge"):
        req, clock = restart(db, -DAY_S)
    assert req.force_charge_until_s <= clock.now_s()  # ended, not 25 h
    assert req.emergency_stop is True  # what has no expiry is kept
    assert "stored timed requests force_charge_until_s ended: the wall clock reads 86400 s" in (
        caplog.text
    )


def test_a_restart_keeps_what_was_left_less_the_time_since(tmp_path):
    db = saved(tmp_path, mode="standby", mode_until_s=float("inf"))
    req, clock = restart(db, 10 * 60.0)  # ten minutes later, on a synchronised clock
    left_s = req.force_charge_until_s - clock.now_s()
    assert left_s == pytest.approx(50 * 60.0, abs=1.0)
    assert req.mode_until_s == float("inf")  # a mode without for_s has no expiry


def test_a_restart_a_day_ahead_finds_the_force_charge_over(tmp_path):
    req, clock = restart(saved(tmp_path), DAY_S)
    assert req.force_charge_until_s <= clock.now_s() - 22 * HOUR_S


def test_a_restart_on_an_unsynchronised_clock_ends_timed_requests(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="edge"):
        req, _clock = restart(saved(tmp_path, mode="self_use", mode_until_s=1e12), 60.0, False)
    assert (req.force_charge_until_s, req.mode_until_s) == (float("-inf"), float("-inf"))
    assert "the wall clock is not synchronised" in caplog.text


def test_an_unknown_ntp_status_measures_on_the_wall_clock(tmp_path):
    req, clock = restart(saved(tmp_path), 60.0, None)
    assert req.force_charge_until_s - clock.now_s() == pytest.approx(HOUR_S - 60.0, abs=1.0)


def test_a_row_without_its_save_time_ends_timed_requests(tmp_path, caplog):
    db = saved(tmp_path)
    with sqlite3.connect(db) as raw:
        doc = json.loads(raw.execute("SELECT doc FROM requests").fetchone()[0])
        doc.pop("saved_wall_s")
        raw.execute("UPDATE requests SET doc = ?", (json.dumps(doc),))
    with caplog.at_level(logging.WARNING, logger="edge"):
        req, _clock = restart(db, 0.0)
    assert req.force_charge_until_s == float("-inf")
    assert req.emergency_stop is True
    assert "stored without the time of the save" in caplog.text


@settings(max_examples=60, deadline=None)
@given(
    for_s=st.floats(1.0, 7 * DAY_S),
    offset_s=st.floats(-30 * DAY_S, 30 * DAY_S),
    synchronised=st.sampled_from([True, False, None]),
)
def test_a_restart_never_extends_a_request(tmp_path_factory, for_s, offset_s, synchronised):
    db = saved(tmp_path_factory.mktemp("db"), for_s)
    req, clock = restart(db, offset_s, synchronised)
    left_s = req.force_charge_until_s - clock.now_s()
    assert left_s <= for_s + 0.5
    if offset_s >= 0:
        assert left_s <= for_s - offset_s + 0.5  # and the wall time since counts


def test_edge_runs_restart_a_day_behind_ends_the_force_charge(tmp_path):
    """Two runs of the composition root on one state file, the second on a wall clock a
    day behind (a Pi booted on an old saved time): the force charge of the first is over,
    and the first run's own reading of it showed it in force."""
    from edge import compose
    from edge.config import load_config
    from edge.drivers.sofar.sim import SofarEmulator
    from edge.sim.house import House, HouseParams
    from tests.edge.test_compose import ask, status_once_ticking
    from tests.edge.test_signals import site_file

    house = House(HouseParams(), start_s=12 * 3600.0)
    emu = SofarEmulator(house)
    sock = tmp_path / "api.sock"

    async def one_run(wall_offset_s: float, command: dict | None) -> dict:
        cfg = load_config(site_file(tmp_path, emu_port))
        wall = Wall()
        wall.offset_s = wall_offset_s
        clock = clock_on(wall)
        task = asyncio.create_task(compose.supervise(cfg, clock, clock.now_s() + 1.5, True, []))
        await status_once_ticking(sock, task, ticks=1)
        if command is not None:
            reader, writer = await asyncio.open_unix_connection(str(sock))
            writer.write(json.dumps({"op": "command", **command}).encode() + b"\n")
            await writer.drain()
            assert json.loads(await reader.readline())["ok"] is True
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.3)  # a tick with the request
        status = await ask(sock, "status")
        assert await asyncio.wait_for(task, 10.0) == 0
        return status

    async def go() -> tuple[dict, dict]:
        nonlocal emu_port
        emu_port = await emu.start()
        try:
            first = await one_run(0.0, {"key": "force_charge_w", "value": 1500, "for_s": HOUR_S})
            second = await one_run(-DAY_S, None)
            return first, second
        finally:
            await emu.stop()

    emu_port = 0
    first, second = asyncio.run(go())
    assert first["state"]["force_charge_w"] == 1500.0
    assert second["state"]["force_charge_w"] == 0.0
