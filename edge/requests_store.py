"""The user's requests (emergency stop, mode, force charge, boost, switches) kept in SQLite
(site.state_db), so an emergency stop still holds after a restart and a timed request
keeps its expiry. One row, rewritten on every accepted command."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields

from edge.core.model import Requests
from edge.state_db import open_state_db

log = logging.getLogger("edge")


class RequestStore:
    def __init__(self, db_path: str = ":memory:") -> None:
        self._db = open_state_db(
            db_path,
            "CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " doc TEXT NOT NULL)",
        )

    def load(self) -> Requests:
        row = self._db.execute("SELECT doc FROM requests WHERE id = 1").fetchone()
        if row is None:
            return Requests()
        try:
            doc = json.loads(row[0])
        except json.JSONDecodeError as exc:
            log.warning("stored requests unreadable (%s): starting with none", exc)
            return Requests()
        known = {f.name for f in fields(Requests)}
        kept = {k: v for k, v in doc.items() if k in known}
        try:
            return Requests(**kept)
        except (TypeError, ValueError):
            pass
        # One bad field (e.g. a mode this version does not know) costs only that field:
        # an emergency stop stored beside it still holds.
        good = {}
        for key, value in kept.items():
            try:
                Requests(**{key: value})
            except (TypeError, ValueError) as exc:
                log.warning("stored request %s = %r dropped: %s", key, value, exc)
            else:
                good[key] = value
        return Requests(**good)

    def save(self, req: Requests) -> None:
        self._db.execute(
            "INSERT INTO requests (id, doc) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (json.dumps(asdict(req)),),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
