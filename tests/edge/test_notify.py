"""sd_notify against a real AF_UNIX datagram socket, as systemd's own: `python -m edge run`
with NOTIFY_SOCKET set, against the Sofar emulator.

READY=1 comes after the inverter's first full read, WATCHDOG=1 keeps coming while the
loop ticks, STATUS= carries the decision, and a loop that really hangs stops feeding the
watchdog. The hang is a blocking read on the event loop: the site file swapped for a FIFO
that nobody writes, then SIGHUP (the reload's open() blocks, as a read from a stalled SD
card or network share would); writing the FIFO frees it again.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from edge.notify import MAX_STATUS_CHARS, Notifier, short
from tests.edge.test_run import ENV, BackgroundEmulator
from tests.edge.test_signals import site_file, wait_until


class NotifySocket:
    """systemd's end: a bound datagram socket, every message kept with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._done = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._done:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if line)
            with self._lock:
                self.messages.append((time.monotonic(), fields))

    def with_key(self, key: str, since: float = 0.0) -> list[tuple[float, dict[str, str]]]:
        with self._lock:
            return [(t, m) for t, m in self.messages if key in m and t >= since]

    def close(self) -> None:
        self._done = True
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def notified(tmp_path: Path):
    bg = BackgroundEmulator()
    ns = NotifySocket(tmp_path / "notify.sock")
    cfg = site_file(tmp_path, bg.port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, "NOTIFY_SOCKET": str(ns.path)},
    )
    try:
        yield bg, ns, proc, cfg
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
        ns.close()
        bg.stop()


def test_ready_after_the_first_read_then_watchdog_each_tick_with_the_decision(notified):
    bg, ns, proc, _cfg = notified
    assert wait_until(lambda: len(ns.with_key("WATCHDOG")) >= 6, 30.0), ns.messages
    first_t, first = ns.messages[0]
    assert first.get("READY") == "1"  # nothing before READY, no watchdog before it
    # The serial in READY's status comes only from a full read of the inverter.
    assert re.fullmatch(r"inverter \S+: first full read done", first["STATUS"]), first
    assert "SIM" in first["STATUS"]
    pings = [t for t, _m in ns.with_key("WATCHDOG")]
    assert all(t > first_t for t in pings)
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert max(gaps) < 3.0, gaps  # the tick is 1 s; WatchdogSec=30 allows far more
    assert bg.emu.passive_commands > 0  # the ticks that fed it drove the inverter
    statuses = [m["STATUS"] for _t, m in ns.with_key("WATCHDOG")]
    assert all(0 < len(s) <= MAX_STATUS_CHARS for s in statuses)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    # STATUS= is the decision each tick printed (the line's last field).
    reasons = {line.rsplit(" | ", 1)[1] for line in out.splitlines() if " | cmd " in line}
    assert statuses and set(map(short, reasons)) >= set(statuses), (statuses, reasons)
    stopping = ns.with_key("STOPPING")
    assert len(stopping) == 1 and stopping[0][0] > pings[-1]


def test_a_hung_loop_stops_feeding_the_watchdog_and_a_freed_one_feeds_it_again(notified):
    _bg, ns, proc, cfg = notified
    assert wait_until(lambda: len(ns.with_key("WATCHDOG")) >= 3, 30.0), ns.messages
    text = cfg.read_text()
    cfg.unlink()
    os.mkfifo(cfg)
    proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: ns.with_key("RELOADING"), 5.0), ns.messages
    hung_t = ns.with_key("RELOADING")[0][0]
    time.sleep(4.0)  # four ticks' time
    assert ns.with_key("WATCHDOG", since=hung_t) == []
    assert proc.poll() is None  # hung, not dead: only the watchdog can tell
    with open(cfg, "w", encoding="utf-8") as fifo:  # the reload's open() returns
        fifo.write(text)
    freed_t = time.monotonic()
    assert wait_until(lambda: len(ns.with_key("WATCHDOG", since=freed_t)) >= 2, 10.0)
    ready_again = ns.with_key("READY", since=hung_t)
    assert len(ready_again) == 1  # the reload is over
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "SIGHUP: configuration reloaded" in err


def test_without_notify_socket_nothing_is_sent():
    n = Notifier({})
    n.ready("x")
    n.tick("y")
    n.stopping()
    assert not n.active and n.sent == 0


def test_a_notify_socket_that_is_not_there_is_said_once(tmp_path, caplog):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    n.ready("x")
    assert not n.active and n.sent == 0
    assert "cannot be reached: systemd will not hear READY" in caplog.text


def test_the_watchdog_period_comes_from_systemd():
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_s == 30.0
    assert Notifier({"WATCHDOG_USEC": "junk"}).watchdog_s is None
    assert Notifier({}).watchdog_s is None


def test_status_is_one_bounded_line():
    assert short("a\nb   c") == "a b c"
    long = short("x" * 500)
    assert len(long) == MAX_STATUS_CHARS and long.endswith("...")
