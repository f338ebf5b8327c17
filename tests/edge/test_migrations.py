"""The state database's schema version and migrations (edge/state_db.py).

tests/edge/data/state-0.1.0.sqlite was written by edge 0.1.0 itself (the release before
schema versions, commit 44c059f): `edge run` against the Sofar emulator for 15 s with
the broker away (write counts, energy totals, 25 telemetry documents in the outbox),
then an emergency stop saved through its RequestStore. An upgrade opens it with today's
writers and must keep every row, and reach the newest version once.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.drivers.budget import WriteBudget
from edge.energy import EnergyTotals
from edge.errors import ConfigError
from edge.identities import Identities
from edge.mqtt.outbox import Outbox
from edge.requests_store import RequestStore
from edge.state_db import MIGRATIONS, SCHEMA_VERSION, open_state_db, schema_version

OLD = Path(__file__).parent / "data" / "state-0.1.0.sqlite"
TABLES_010 = ("write_counts", "requests", "energy_totals", "identities", "outbox")


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES_010}
    finally:
        db.close()


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    path = tmp_path / "state.sqlite"
    shutil.copy(OLD, path)
    return path


def test_the_fixture_is_0_1_0s_unversioned_file_with_data():
    db = sqlite3.connect(OLD)
    assert schema_version(db) == 0
    db.close()
    rows = _rows(OLD)
    assert rows["write_counts"][0][0] == "inverter" and len(rows["outbox"]) == 25
    assert dict(rows["energy_totals"])["pv_kwh"] > 0
    assert '"emergency_stop": true' in rows["requests"][0][1]


def test_an_upgrade_keeps_every_row_and_reaches_the_newest_version(old_file: Path):
    before = _rows(old_file)
    path = str(old_file)
    # Today's writers open the file as `edge run` does, the first one migrates it.
    requests = RequestStore(path)
    assert requests.load().emergency_stop is True
    assert requests.load().reserve_soc_pct == 35.0
    energy = EnergyTotals(path)
    assert energy.kwh["pv_kwh"] == dict(before["energy_totals"])["pv_kwh"]
    budget = WriteBudget("inverter", 20000, path)
    day, count = before["write_counts"][0][1:]
    assert budget.used(day * 86400.0 + 10) == count
    outbox = Outbox(path)
    assert len(outbox) == 25
    Identities(path).close()
    for store in (requests, energy, outbox):
        store.close()
    after = _rows(old_file)
    for table, rows in before.items():  # every row kept as it was (new totals may join)
        assert set(rows) <= set(after[table]), table
    assert after["requests"] == before["requests"] and after["outbox"] == before["outbox"]
    db = sqlite3.connect(old_file)
    assert schema_version(db) == SCHEMA_VERSION
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"trace", "decisions", *TABLES_010} <= names
    db.close()


def test_the_first_migration_is_0_1_0s_own_tables(tmp_path: Path):
    """Migration 1 adopts the old tables; on a new file it must make them exactly as
    0.1.0's writers did, or an upgraded file and a new one would differ."""

    def ddl(path: Path) -> dict[str, str]:
        db = sqlite3.connect(path)
        try:
            q = "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN (?,?,?,?,?)"
            return dict(db.execute(q, TABLES_010).fetchall())
        finally:
            db.close()

    new = tmp_path / "new.sqlite"
    open_state_db(str(new), "SELECT 1").close()
    norm = {k: " ".join(v.replace("IF NOT EXISTS ", "").split()) for k, v in ddl(new).items()}
    old = {k: " ".join(v.split()) for k, v in ddl(OLD).items()}
    assert norm == old


def test_a_second_open_migrates_nothing(old_file: Path, caplog):
    caplog.set_level("INFO", logger="edge.state_db")
    open_state_db(str(old_file), "SELECT 1").close()
    open_state_db(str(old_file), "SELECT 1").close()
    lines = [r.getMessage() for r in caplog.records if "schema" in r.getMessage()]
    assert lines == [f"state database {old_file}: schema 0 -> {SCHEMA_VERSION}"]


def test_a_file_from_a_newer_edge_is_refused_by_name(old_file: Path):
    db = sqlite3.connect(old_file)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(ConfigError) as err:
        RequestStore(str(old_file))
    assert str(err.value) == (
        f"site.state_db = {str(old_file)!r}: schema version {SCHEMA_VERSION + 1} is from a"
        f" newer edge (this one knows up to {SCHEMA_VERSION}); install that version again,"
        " or move the file away to start afresh"
    )


def test_two_processes_opening_an_old_file_migrate_it_once(old_file: Path):
    code = (
        "import sys; from edge.state_db import open_state_db;"
        " open_state_db(sys.argv[1], 'SELECT 1').close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(old_file)], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    assert [p.wait(30) for p in procs] == [0, 0, 0, 0], [p.stderr.read() for p in procs]
    db = sqlite3.connect(old_file)
    assert schema_version(db) == SCHEMA_VERSION == len(MIGRATIONS)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
