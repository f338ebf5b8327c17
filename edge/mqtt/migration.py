"""From per-entity discovery to device discovery, once, leaving no orphans.

Earlier releases sent each entity on <prefix>/<component>/<unique id>/config. Home
Assistant's documented migration (its MQTT docs, "Migration from single component to
device-based discovery") is followed step by step:
  1. `{"migrate_discovery": true}` to every old per-entity topic: HA unloads the entity
     and keeps its settings (entity id, name, area, history);
  2. the device payloads, with the same unique ids: HA takes the entities over;
  3. an empty payload to every old topic: the broker drops the retained configs.
Every message is retained at QoS 1, so an HA that is offline meanwhile finds only the
device payloads when it comes back, and its registry still maps the unique ids to the
entity ids it had. HA asks to check its log between steps; a machine cannot, so each
step waits for the broker's acknowledgements and then `settle_s` before the next.

Done is written to SQLite (site.state_db, table ha_discovery), so a restart does not
repeat it; a run that is cut off part-way repeats it all on the next connect (each step
is harmless twice).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable

from edge.state_db import open_state_db

log = logging.getLogger("edge.mqtt")

MIGRATE = json.dumps({"migrate_discovery": True})
LAYOUT = "device"  # the layout this release sends
SETTLE_S = 2.0  # between steps: HA handles each step's messages before the next
ACK_TIMEOUT_S = 10.0  # a step whose messages the broker has not acknowledged by then fails

# (topic, payload) -> a wait for the broker's acknowledgement (True when it came in time).
Publish = Callable[[str, str], Callable[[float], bool]]


class DiscoveryLayout:
    """Which discovery layout this controller has migrated to, kept in site.state_db."""

    def __init__(self, db_path: str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = open_state_db(
            db_path,
            "CREATE TABLE IF NOT EXISTS ha_discovery (name TEXT PRIMARY KEY, value TEXT)",
            threads=True,
        )

    def current(self) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM ha_discovery WHERE name = 'layout'"
            ).fetchone()
        return None if row is None else str(row[0])

    def set(self, layout: str) -> None:
        """Note the layout; a failed write (the disk full) means the next start migrates
        again, which is harmless."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO ha_discovery (name, value) VALUES ('layout', ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (layout,),
                )
                self._db.commit()
            except sqlite3.Error as exc:
                self._db.rollback()
                log.warning(
                    "discovery layout not recorded (%s): the next start migrates again", exc
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def migrate(
    publish: Publish,
    legacy: list[str],
    devices: list[tuple[str, str]],
    settle_s: float = SETTLE_S,
    stop: threading.Event | None = None,
) -> bool:
    """The three steps; True when the broker acknowledged every message of each. A set
    `stop` (the publisher is closing) ends it quietly after the step under way."""
    stopping = stop if stop is not None else threading.Event()
    steps = (
        ("migrate", [(topic, MIGRATE) for topic in legacy]),
        ("device discovery", devices),
        ("clean-up", [(topic, "") for topic in legacy]),
    )
    for i, (name, messages) in enumerate(steps):
        waits = [publish(topic, payload) for topic, payload in messages]
        if not all(wait(ACK_TIMEOUT_S) for wait in waits):
            if stopping.is_set():
                log.info("discovery migration: stopped in its %s step; repeated next start", name)
            else:
                log.warning("discovery migration: %s not acknowledged; repeated on reconnect", name)
            return False
        if i < len(steps) - 1 and stopping.wait(settle_s):
            log.info("discovery migration: stopped after its %s step; repeated next start", name)
            return False
    log.info(
        "discovery migrated: %d per-entity topics cleared, %d device payloads sent",
        len(legacy),
        len(devices),
    )
    return True
