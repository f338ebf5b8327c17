"""What the supervisor tells systemd (sd_notify(3)), through the `sdnotify` library.

Under a `Type=notify` unit (edge/service/edge.service) systemd sets NOTIFY_SOCKET; without
it every call here does nothing, so `edge run` in a terminal is unchanged.

- READY=1 once the inverter's first full read is done (the unit counts as started then);
- WATCHDOG=1 from the control tick only, so a loop that stops ticking misses its pings
  and systemd restarts the service after WatchdogSec=;
- STATUS= the decision in force, cut short (`systemctl status edge` shows it);
- RELOADING=1 while a SIGHUP reloads the site file, READY=1 after it; STOPPING=1 on the
  way out.

A lost datagram (systemd restarting) is ignored by the library: it never stops control.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import sdnotify

log = logging.getLogger("edge")
MAX_STATUS_CHARS = 120  # what `systemctl status` shows on one line


def short(text: str) -> str:
    """One line of at most MAX_STATUS_CHARS for STATUS=."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_STATUS_CHARS else line[: MAX_STATUS_CHARS - 3] + "..."


class Notifier:
    """The service manager's notify socket, or nothing when NOTIFY_SOCKET is unset."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.socket_path = env.get("NOTIFY_SOCKET") or None
        usec = env.get("WATCHDOG_USEC", "")
        # WatchdogSec= as systemd passes it; None without a watchdog.
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 else None
        self.sent = 0  # datagrams handed to the socket
        self._n: sdnotify.SystemdNotifier | None = None
        if self.socket_path is not None:
            # sdnotify reads the address from the environment when it connects.
            saved = os.environ.get("NOTIFY_SOCKET")
            os.environ["NOTIFY_SOCKET"] = self.socket_path
            try:
                self._n = sdnotify.SystemdNotifier()
            finally:
                if saved is None:
                    del os.environ["NOTIFY_SOCKET"]
                else:
                    os.environ["NOTIFY_SOCKET"] = saved
            if self._n.socket is None:  # the library swallows why; say that it failed
                log.warning(
                    "NOTIFY_SOCKET=%s cannot be reached: systemd will not hear READY or"
                    " the watchdog",
                    self.socket_path[:200],
                )
                self._n = None

    @property
    def active(self) -> bool:
        return self._n is not None

    def _send(self, *fields: str) -> None:
        if self._n is not None:
            self._n.notify("\n".join(fields))
            self.sent += 1

    def ready(self, status: str) -> None:
        self._send("READY=1", f"STATUS={short(status)}")

    def tick(self, decision: str) -> None:
        """One control tick done: feed the watchdog and say what was decided."""
        self._send("WATCHDOG=1", f"STATUS={short(decision)}")

    def status(self, text: str) -> None:
        self._send(f"STATUS={short(text)}")

    def reloading(self) -> None:
        # MONOTONIC_USEC lets systemd (253+) tell this reload from an earlier one.
        self._send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def reloaded(self) -> None:
        self._send("READY=1")

    def stopping(self) -> None:
        self._send("STOPPING=1", "STATUS=stopping: handing the inverter back to self-use")
