"""Device serials as last seen, kept in SQLite (site.state_db): Home Assistant's unique ids
derive from them, so they must not change when a device happens to be silent at start-up.
"""

from __future__ import annotations

import sqlite3

from edge.state_db import StorageHealth, open_state_db


class Identities:
    def __init__(self, db_path: str = ":memory:", health: StorageHealth | None = None) -> None:
        self.health = health if health is not None else StorageHealth()
        self._db = open_state_db(
            db_path, "CREATE TABLE IF NOT EXISTS identities (device TEXT PRIMARY KEY, serial TEXT)"
        )

    def settle(self, device: str, seen: str | None) -> str | None:
        """The serial to use: the one seen now (remembered), else the last one seen."""
        if seen:
            try:
                self._db.execute(
                    "INSERT INTO identities (device, serial) VALUES (?, ?)"
                    " ON CONFLICT (device) DO UPDATE SET serial = excluded.serial",
                    (device, seen),
                )
                self._db.commit()
            except sqlite3.Error as exc:  # the disk full: used as seen, remembered later
                self._db.rollback()
                self.health.failed("identities", exc)
            else:
                self.health.wrote("identities")
            return seen
        row = self._db.execute(
            "SELECT serial FROM identities WHERE device = ?", (device,)
        ).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        self._db.close()
