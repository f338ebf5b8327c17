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
