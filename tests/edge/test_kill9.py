"""kill -9 in a loop: a real `edge run` against the Sofar emulator and a real Mosquitto is
killed at a random moment, again and again; once, the broker is down as it dies, so the
outbox holds documents. After each kill the state database is whole (SQLite's integrity
check), the emergency stop taken in the first run still holds, and every state document
that was in the outbox when the process died reaches a subscriber after the restart:
nothing committed is lost."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.local_api import ApiClient
from edge.mqtt.broker import LocalMosquitto
from tests.edge.test_run import ENV, BackgroundEmulator, write_config

RUNS = 4


class Reader:
    """Every document on edge/state, through a persistent QoS 1 session."""

    def __init__(self, host: str, port: int) -> None:
        self.docs: list[dict] = []
        self.connects = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="kill9-reader", clean_session=False
        )
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(1, 1)
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_connect(self, client, *_args) -> None:
        client.subscribe("edge/state", qos=1)
        self.connects += 1

    def _on_message(self, _c, _u, msg) -> None:
        with self._lock:
            self.docs.append(json.loads(msg.payload))

    def count(self) -> int:
        with self._lock:
            return len(self.docs)

    def t_s(self) -> set[float]:
        with self._lock:
            return {d["t_s"] for d in self.docs}

    def last(self) -> dict:
        with self._lock:
            return self.docs[-1]

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def wait_for(pred: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:g} s"
        time.sleep(0.05)


def queued_state_t_s(db: Path) -> set[float]:
    """The state documents committed to the outbox and not yet acknowledged."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT payload FROM outbox WHERE topic = 'edge/state'").fetchall()
    return {json.loads(p)["t_s"] for (p,) in rows}


def test_kill_9_in_a_loop_keeps_the_database_whole_and_loses_nothing(tmp_path):
    bg = BackgroundEmulator()
    mosquitto = LocalMosquitto()
    reader = Reader(mosquitto.host, mosquitto.port)
    cfg = write_config(tmp_path, bg.port)
    sock = tmp_path / "api.sock"
    cfg.write_text(
        cfg.read_text()
        .replace("[mqtt]\nenabled = false\n", "")
        .replace("[site]\n", f'[site]\napi_socket = "{sock}"\n')
        + f'\n[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
    )
    db = tmp_path / "state.sqlite"
    rng = random.Random(9)
    queued: set[float] = set()
    proc = None
    try:
        for run in range(RUNS + 1):
            before = reader.count()
            proc = subprocess.Popen(
                [sys.executable, "-m", "edge", "run", "--config", str(cfg)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=ENV,
            )
            wait_for(lambda b=before: reader.count() >= b + 3, 30, f"run {run}: state documents")
            if run == 0:
                api = ApiClient(str(sock))
                answer = api.request("command", key="emergency_stop", value="PRESS")
                api.close()
                assert answer["ok"], answer
                wait_for(lambda: reader.last()["emergency_stop"] == "ON", 10, "emergency stop")
            else:
                # Taken before a kill -9, kept in SQLite: it holds from the first decision on.
                assert reader.docs[before]["emergency_stop"] == "ON"
            if run == RUNS:
                proc.send_signal(signal.SIGTERM)
                _out, err = proc.communicate(timeout=30)
                assert proc.returncode == 0, err
                break
            broker_down = run == 1
            if broker_down:  # the outbox fills while the broker is away
                mosquitto.stop()
                time.sleep(2.0)
            else:
                time.sleep(rng.uniform(0.0, 1.0))
            queued |= queued_state_t_s(db)
            proc.kill()
            proc.wait(timeout=10)
            with sqlite3.connect(db) as con:
                assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            if broker_down:
                assert len(queued_state_t_s(db)) >= 1
                connects = reader.connects
                mosquitto = LocalMosquitto(mosquitto.port)
                wait_for(lambda c=connects: reader.connects > c, 20, "reader back")
        # Everything that sat in the outbox at a kill was delivered after a restart.
        wait_for(lambda: queued <= reader.t_s(), 20, "queued documents delivered")
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.stop()
        bg.stop()
        mosquitto.stop()
