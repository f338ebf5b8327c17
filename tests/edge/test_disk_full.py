"""The state file on a full disk: the control loop keeps running, the outbox stops
queueing and says so once, the budgets and energy totals stay in memory and are written
when there is room, Home Assistant's "Storage problem" goes ON, and the shutdown closes
every device.

The full disk is a real one as SQLite sees it: the file is filled to a page cap
(`PRAGMA max_page_count`, set on every connection), so each write that needs a page more
fails with SQLITE_FULL, "database or disk is full", as on a full filesystem. The last test
puts the state file on a real 2 MB tmpfs and fills it while `edge run` runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.drivers.budget import DAY_S, WriteBudget
from edge.energy import EnergyTotals
from edge.identities import Identities
from edge.mqtt.outbox import Outbox, OutboxSender
from edge.requests_store import RequestStore
from edge.sim.house import InverterMode
from edge.state_db import StorageHealth
from tests.conftest import MqttReader
from tests.edge.test_run import ENV, BackgroundEmulator, write_config

FULL = "database or disk is full"

# `edge run` with every SQLite connection capped at `cap` pages: argv = cap, then edge's.
RUN_CAPPED = """
import sqlite3, sys
cap, real = int(sys.argv[1]), sqlite3.connect
def connect(*args, **kwargs):
    db = real(*args, **kwargs)
    if args[0] != ":memory:":  # a full disk leaves memory alone
        db.execute(f"PRAGMA max_page_count = {cap}")
    return db
sqlite3.connect = connect
from edge.cli import main
sys.exit(main(sys.argv[2:]))
"""

# Tiny rows, so that once a table's page cannot take one it takes none of ours.
FILLERS = {
    "write_counts": ("INSERT INTO write_counts VALUES ('f', ?, 1)", lambda k: (k,)),
    "energy_totals": ("INSERT INTO energy_totals VALUES (?, 0)", lambda k: (f"f{k}",)),
    "outbox": ("INSERT INTO outbox (topic, payload, kind) VALUES ('f', x'', 's')", lambda k: ()),
    "identities": ("INSERT INTO identities VALUES (?, '')", lambda k: (f"f{k}",)),
}


def fill_state_file(path: Path) -> int:
    """Make the state file with every table, then fill it to a page cap: returns the cap."""
    db = str(path)
    for store in (Outbox(db), WriteBudget("inverter", 1, db), EnergyTotals(db)):
        store.close()
    RequestStore(db).close()
    Identities(db).close()
    con = sqlite3.connect(db)
    cap = int(con.execute("PRAGMA page_count").fetchone()[0])
    con.execute(f"PRAGMA max_page_count = {cap}")
    con.execute("PRAGMA synchronous = OFF")  # a test file: no need to sync each row
    for sql, args in FILLERS.values():
        with pytest.raises(sqlite3.OperationalError, match=FULL):
            for k in range(10_000):
                con.execute(sql, args(k))
                con.commit()
        con.rollback()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return cap


class FullDisk:
    """Every connection opened while installed is capped; free() makes room on them all."""

    def __init__(self, cap: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cap = cap
        self.connections: list[sqlite3.Connection] = []
        real = sqlite3.connect

        def connect(*args, **kwargs):
            db = real(*args, **kwargs)
            if args[0] != ":memory:":  # a full disk leaves memory alone
                db.execute(f"PRAGMA max_page_count = {cap}")
                self.connections.append(db)
            return db

        monkeypatch.setattr(sqlite3, "connect", connect)

    def free(self) -> None:
        for db in self.connections:
            with contextlib.suppress(sqlite3.ProgrammingError):  # closed
                db.execute(f"PRAGMA max_page_count = {self.cap + 1000}")


@pytest.fixture
def full(tmp_path, monkeypatch) -> tuple[str, FullDisk]:
    path = tmp_path / "state.sqlite"
    return str(path), FullDisk(fill_state_file(path), monkeypatch)


def test_the_outbox_stops_queueing_says_so_once_and_queues_again_when_there_is_room(full, caplog):
    db, disk = full
    health = StorageHealth()
    box = Outbox(db, health=health)
    before = len(box)
    for k in range(50):  # 50 ticks with the broker away
        box.put("edge/state", json.dumps({"seq": k, "pad": "x" * 500}).encode(), "sample")
        box.write()
    assert box.dropped == 50 and len(box) == before
    assert health.problem == f"outbox: {FULL}"
    assert caplog.text.count("outbox not written") == 1  # once, not per tick
    assert not box.accepting
    disk.free()
    box.retry_s = 0.0  # no need to wait for the next try
    assert box.put("edge/state", b'{"seq": 50}', "sample")
    box.write()
    assert health.problem is None and "outbox written again" in caplog.text
    assert box.oldest(10_000)[-1][2] == b'{"seq": 50}' and len(box) == before + 1
    box.close()


def test_while_the_outbox_cannot_queue_a_message_goes_straight_out_when_connected(full):
    db, _disk = full
    box = Outbox(db)
    sent: list[str] = []
    connected = False
    sender = OutboxSender(box, lambda t, p: sent.append(t) or len(sent), lambda: connected)
    try:
        sender.send("edge/state", b"{}", "sample")  # the broker away: queued, which fails
        deadline = time.monotonic() + 5
        while box.dropped == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert box.dropped == 1 and not box.accepting
        connected = True
        sender.send("edge/state", b"{}", "sample")
        assert sent == ["edge/state"]  # not queued behind a queue that cannot grow
    finally:
        sender.stop()
        box.close()


def test_the_budget_counts_in_memory_and_writes_when_there_is_room(full, caplog):
    db, disk = full
    health = StorageHealth()
    now_s = 20_000 * DAY_S
    budget = WriteBudget("inverter", 3, db, health)
    for _ in range(3):
        budget.take(now_s)  # raised "database or disk is full" before
    assert budget.spent(now_s) and budget.used(now_s) == 3
    budget.flush()  # the writer thread has tried
    assert health.problem == f"write budget (inverter): {FULL}"
    assert caplog.text.count("write budget (inverter) not written") == 1
    assert WriteBudget("inverter", 3, db).used(now_s) == 0  # nothing on disk yet
    disk.free()
    budget.close()  # the count still unwritten goes out now
    assert health.problem is None
    assert WriteBudget("inverter", 3, db).used(now_s) == 3


def test_the_energy_totals_stay_in_memory_and_are_written_when_there_is_room(full):
    db, disk = full
    health = StorageHealth()
    energy = EnergyTotals(db, health)
    energy.kwh["pv_kwh"] = 1.25
    energy.save()
    energy._writer.submit(lambda: None).result(5)  # the writer thread has tried
    assert health.problem == f"energy totals: {FULL}"
    assert EnergyTotals(db).kwh["pv_kwh"] == 0.0
    disk.free()
    energy.kwh["pv_kwh"] = 1.5
    energy.close()
    assert health.problem is None
    assert EnergyTotals(db).kwh["pv_kwh"] == 1.5


def test_a_serial_seen_on_a_full_disk_is_used_as_seen(full):
    db, disk = full
    health = StorageHealth()
    known = Identities(db, health)
    assert known.settle("bms", "PYL123") == "PYL123"  # raised "database or disk is full"
    assert health.problem == f"identities: {FULL}"
    disk.free()
    assert known.settle("bms", "PYL123") == "PYL123"
    assert health.problem is None
    known.close()
    assert Identities(db).settle("bms", None) == "PYL123"


def run_capped(config: Path, cap: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CAPPED, str(cap), "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=30)


def test_edge_run_on_a_full_disk_keeps_control_raises_the_problem_and_restarts(tmp_path, mosquitto):
    """Before: the first budget write raised, the shutdown raised again before closing the
    devices, exit 1; and every restart crashed the same way with no tick."""
    cap = fill_state_file(tmp_path / "state.sqlite")
    bg = BackgroundEmulator()
    reader = MqttReader(mosquitto.host, mosquitto.port)
    reader.start()
    cfg = write_config(tmp_path, bg.port)
    plain = cfg.read_text().replace("[mqtt]\nenabled = false\n", "")
    try:
        # With the broker: the problem entity reaches Home Assistant, with its reason.
        cfg.write_text(plain + f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n')
        proc = run_capped(cfg, cap)

        def problem() -> dict | None:
            """The first state naming the write budget among the writers that failed (the
            outbox can fail first, and be the only one named in the first such state)."""
            docs = [json.loads(m.payload) for m in reader.on("edge/state")]
            return next(
                (
                    d
                    for d in docs
                    if d.get("storage_problem") == "ON"
                    and "write budget (inverter)" in d.get("storage_problem_reason", "")
                ),
                None,
            )

        reader.wait_for(lambda: problem() is not None, timeout_s=30)
        doc = problem()
        assert doc is not None and FULL in doc["storage_problem_reason"]
        assert bg.emu.passive_commands > 0  # the loop commands the inverter all the same
        out, err = stop(proc)
        assert proc.returncode == 0, err
        assert bg.house.state.mode is InverterMode.AUTO  # handed back on the way out
        assert "Traceback" not in err and "summary:" in out
        assert err.count("write budget (inverter) not written") == 1
        # A restart, with the broker away: the outbox cannot queue and says so once.
        commands = bg.emu.passive_commands
        cfg.write_text(plain + '[mqtt]\nhost = "127.0.0.1"\nport = 9\n')
        proc = run_capped(cfg, cap)
        deadline = time.monotonic() + 30
        while bg.emu.passive_commands == commands and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3.0)  # a few ticks with the outbox refusing rows
        assert proc.poll() is None
        out, err = stop(proc)
        assert proc.returncode == 0, err
        assert bg.emu.passive_commands > commands
        assert bg.house.state.mode is InverterMode.AUTO
        assert "Traceback" not in err
        assert err.count(f"state database: outbox not written: {FULL}") == 1, err
        ticks = [line for line in out.splitlines() if "cmd " in line]
        assert len(ticks) >= 3
    finally:
        reader.stop()
        bg.stop()


def test_the_shutdown_closes_every_device_when_one_close_fails(tmp_path, caplog):
    """Each close in its own try: the inverter's failing (here its link lost mid-way)
    still turns the element off and hands the heat pump back. Before, the first failure
    skipped every close after it."""
    import asyncio

    from edge.core.model import SgState
    from edge.errors import DeviceError
    from tests.edge.test_supervisor_api import rig

    async def go() -> None:
        async with rig(tmp_path, dab=False, bms="none") as r:
            sup = r.sup
            assert sup.loads is not None
            sup.loads.apply(800.0, SgState.RECOMMEND)
            assert r.house.diverter.setpoint_w == 800.0

            async def lost(restore_self_use: bool = True) -> None:
                raise DeviceError("inverter at tcp://127.0.0.1: link lost")

            real_close = sup.inverter.close
            sup.inverter.close = lost  # type: ignore[method-assign]
            try:
                await sup._close()
            finally:
                sup.inverter.close = real_close  # type: ignore[method-assign]
            assert sup.loads.diverter_w == 0.0 and sup.loads.sg_state is SgState.NORMAL
            assert r.house.diverter.setpoint_w == 0.0
            assert "closing inverter failed (inverter at tcp://127.0.0.1: link lost)" in caplog.text

    asyncio.run(go())


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "2m"):
    """A real filesystem of `size` at `where` (mount needs root, as CI runs)."""
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill_filesystem(folder: Path) -> Path:
    """Write a file until the filesystem says ENOSPC; returns it (delete it to free room)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    return filler


def test_edge_run_on_a_real_full_filesystem_keeps_control_and_restarts(tmp_path):
    """The state file on a 2 MB tmpfs that fills while edge runs with the broker away (the
    outbox must queue every tick): the outbox stops queueing and says so once, the
    inverter is still commanded, SIGTERM hands it back to self-use with exit 0, a restart
    on the full disk runs, and the file is intact once there is room again."""
    bg = BackgroundEmulator()
    try:
        with small_tmpfs(tmp_path / "disk") as disk:
            cfg = write_config(tmp_path, bg.port)
            text = cfg.read_text().replace(
                str(tmp_path / "state.sqlite"), str(disk / "state.sqlite")
            )
            cfg.write_text(
                text.replace("[mqtt]\nenabled = false\n", '[mqtt]\nhost = "127.0.0.1"\nport = 9\n')
            )
            run = [sys.executable, "-m", "edge", "run", "--config", str(cfg)]
            proc = subprocess.Popen(
                run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
            )
            deadline = time.monotonic() + 30
            while bg.emu.passive_commands == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert bg.emu.passive_commands > 0
            filler = fill_filesystem(disk)
            commands = bg.emu.passive_commands
            time.sleep(8.0)  # ticks on a full disk
            assert proc.poll() is None
            _out, err = stop(proc)
            assert proc.returncode == 0, err
            assert bg.emu.passive_commands > commands  # commanded all the same
            assert bg.house.state.mode is InverterMode.AUTO
            assert "Traceback" not in err
            assert err.count(f"state database: outbox not written: {FULL}") == 1, err
            # A restart on the full disk runs and ticks.
            proc = subprocess.Popen(
                run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
            )
            commands = bg.emu.passive_commands
            deadline = time.monotonic() + 30
            while bg.emu.passive_commands == commands and time.monotonic() < deadline:
                time.sleep(0.1)
            _out, err = stop(proc)
            assert proc.returncode == 0, err
            assert bg.emu.passive_commands > commands and "Traceback" not in err
            filler.unlink()
            with sqlite3.connect(disk / "state.sqlite") as con:
                assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        bg.stop()


def test_an_upgrade_on_a_full_disk_starts_and_migrates_at_a_start_with_room(
    tmp_path, monkeypatch, caplog
):
    """The previous release's state file on a full disk: the migration (which needs pages)
    waits, the stores run on the tables the file has, the new trace is kept in memory for
    the run, and a start with room migrates. Before, the first store raised and `edge run`
    exited, at every start."""
    from edge.state_db import SCHEMA_VERSION, schema_version
    from edge.trace_log import TraceLog
    from tests.edge.test_migrations import OLD

    path = tmp_path / "state.sqlite"
    path.write_bytes(OLD.read_bytes())
    with sqlite3.connect(path) as raw:
        cap = int(raw.execute("PRAGMA page_count").fetchone()[0])
    disk = FullDisk(cap, monkeypatch)
    with caplog.at_level("ERROR", logger="edge.state_db"):
        requests = RequestStore(str(path))
        budget = WriteBudget("inverter", 20_000, str(path))
        trace = TraceLog(str(path))
    assert requests.load().emergency_stop is True  # read from the file as it is
    assert "no room to migrate it to schema" in caplog.text
    assert "held in memory for this run" in caplog.text  # the trace's table
    for store in (requests, budget, trace):
        store.close()
    disk.free()
    monkeypatch.undo()
    RequestStore(str(path)).close()  # a start with room
    with sqlite3.connect(path) as raw:
        assert schema_version(raw) == SCHEMA_VERSION
