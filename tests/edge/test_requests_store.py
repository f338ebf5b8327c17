"""The user's requests in SQLite: one row, rewritten on every save, read back as they were
(infinite expiries too), so an emergency stop still holds after a restart."""

from __future__ import annotations

import json
import sqlite3

from edge.core.model import Requests
from edge.requests_store import RequestStore


def test_a_new_file_holds_no_requests():
    assert RequestStore().load() == Requests()


def test_requests_and_their_expiries_come_back_after_a_restart(tmp_path):
    db = str(tmp_path / "state.sqlite")
    stop = Requests(emergency_stop=True, mode="standby", mode_until_s=45000.0, reserve_soc_pct=35.0)
    store = RequestStore(db)
    store.save(stop)
    store.close()
    again = RequestStore(db)
    got = again.load()
    assert got == stop
    # The defaults' expiries are infinite: "never" and "long ago" survive the JSON.
    assert (got.force_charge_until_s, got.boost_hot_water_until_s) == (
        float("-inf"),
        float("-inf"),
    )
    again.save(Requests())
    assert again.load().mode_until_s == float("inf")
    again.close()


def test_each_save_replaces_the_one_row(tmp_path):
    db = str(tmp_path / "state.sqlite")
    store = RequestStore(db)
    store.save(Requests(emergency_stop=True))
    store.save(Requests(diverter_enabled=False))
    assert store.load() == Requests(diverter_enabled=False)  # the stop was cleared
    store.close()
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*) FROM requests").fetchone() == (1,)


def test_a_row_from_another_version_keeps_what_it_knows(tmp_path):
    db = str(tmp_path / "state.sqlite")
    RequestStore(db).close()  # creates the table
    doc = {"emergency_stop": True, "force_charge_w": 1500.0, "retired_request": "x"}
    with sqlite3.connect(db) as raw:
        raw.execute("INSERT INTO requests (id, doc) VALUES (1, ?)", (json.dumps(doc),))
    # An unknown key is dropped; a key the row lacks takes its default.
    assert RequestStore(db).load() == Requests(emergency_stop=True, force_charge_w=1500.0)


def test_a_stored_field_this_version_cannot_read_costs_only_that_field(tmp_path, caplog):
    """A mode written by another version (or a damaged row) is dropped with a warning
    naming it; the emergency stop stored beside it still holds."""
    db = str(tmp_path / "state.sqlite")
    RequestStore(db).close()
    with sqlite3.connect(db) as raw:
        raw.execute(
            "INSERT INTO requests (id, doc) VALUES (1, ?)",
            (json.dumps({"mode": "turbo", "emergency_stop": True, "reserve_soc_pct": 30.0}),),
        )
    store = RequestStore(db)
    with caplog.at_level("WARNING", logger="edge"):
        got = store.load()
    assert got == Requests(emergency_stop=True, reserve_soc_pct=30.0)
    assert "stored request mode = 'turbo' dropped" in caplog.text
    store.close()


def test_an_unreadable_row_starts_with_no_requests_and_says_so(tmp_path, caplog):
    db = str(tmp_path / "state.sqlite")
    RequestStore(db).close()
    with sqlite3.connect(db) as raw:
        raw.execute("INSERT INTO requests (id, doc) VALUES (1, '{not json')")
    store = RequestStore(db)
    with caplog.at_level("WARNING", logger="edge"):
        assert store.load() == Requests()
    assert "stored requests unreadable" in caplog.text
    store.close()
