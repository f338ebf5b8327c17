"""Start a private Mosquitto on a free loopback port (for the demo and the tests)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from edge.errors import EdgeError

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str:
    exe = shutil.which("mosquitto") or next((p for p in MOSQUITTO_PATHS if Path(p).exists()), None)
    if exe is None:
        raise EdgeError(
            "mosquitto is not installed: install it (Debian: apt-get install mosquitto) "
            "or pass --broker HOST:PORT"
        )
    return exe


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalMosquitto:
    """A mosquitto process listening on 127.0.0.1:port; stop() ends it."""

    def __init__(
        self, port: int | None = None, extra_conf: str = "", anonymous: bool = True
    ) -> None:
        """extra_conf: lines for the listener (TLS files, a password file)."""
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="edge-mosquitto-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            f"persistence false\nlog_dest stderr\n"
            # Started as root, mosquitto would switch to its own user, which cannot read
            # files under the caller's private folders (a test's password file, certs).
            f"{'user root' if os.geteuid() == 0 else ''}\n{extra_conf}",
            encoding="utf-8",
        )
        self._log = open(Path(self._dir.name) / "mosquitto.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [find_mosquitto(), "-c", str(conf)], stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EdgeError(f"mosquitto exited at start-up: {self.log_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise EdgeError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout_s} s")

    def log_text(self) -> str:
        self._log.flush()
        return (Path(self._dir.name) / "mosquitto.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._dir.cleanup()
