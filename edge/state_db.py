"""The one SQLite file that keeps what must survive a restart (site.state_db): write
budgets, requests, energy totals, device serials and the MQTT outbox, each in its table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.errors import ConfigError


def open_state_db(db_path: str, schema: str, threads: bool = False) -> sqlite3.Connection:
    """Open (creating folders and the table as needed) and return the connection; a path
    that cannot be opened is a config error naming site.state_db. threads: the connection
    is shared between threads (the caller locks around it)."""
    try:
        if db_path != ":memory:":
            Path(db_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            db_path = str(Path(db_path).expanduser())
        db = sqlite3.connect(db_path, check_same_thread=not threads)
        db.execute(schema)
        db.commit()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"site.state_db = {db_path!r}: cannot be opened: {exc}") from None
    return db
