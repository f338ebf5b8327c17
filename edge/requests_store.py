"""The user's requests (emergency stop, mode, force charge, boost, switches) kept in SQLite
(site.state_db), so an emergency stop still holds after a restart and a timed request
keeps its expiry. One row, rewritten on every accepted command."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, fields
from pathlib import Path

from edge.core.model import Requests
from edge.errors import ConfigError


class RequestStore:
    def __init__(self, db_path: str = ":memory:") -> None:
        try:
            if db_path != ":memory:":
                Path(db_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
                db_path = str(Path(db_path).expanduser())
            self._db = sqlite3.connect(db_path)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY CHECK (id = 1),"
                " doc TEXT NOT NULL)"
            )
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"site.state_db = {db_path!r}: cannot be opened: {exc}") from None

    def load(self) -> Requests:
        row = self._db.execute("SELECT doc FROM requests WHERE id = 1").fetchone()
        if row is None:
            return Requests()
        doc = json.loads(row[0])
        known = {f.name for f in fields(Requests)}
        return Requests(**{k: v for k, v in doc.items() if k in known})

    def save(self, req: Requests) -> None:
        self._db.execute(
            "INSERT INTO requests (id, doc) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (json.dumps(asdict(req)),),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
