"""End to end: `edge menu` in a real terminal (tmux) against a running `edge demo`: it
shows the live status, the emergency stop key asks first and then reaches the supervisor,
and q quits."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.edge.conftest import wait_until


def tmux(server: str, *args: str) -> str:
    out = subprocess.run(
        ["tmux", "-L", server, *args], capture_output=True, text=True, timeout=10, check=False
    )
    return out.stdout


def test_the_menu_in_a_terminal_stops_the_house(demo):
    client, cfg, sock = demo
    server = f"edge-test-{os.getpid()}"
    command = f"{sys.executable} -m edge menu --socket {sock} --config {cfg}"
    subprocess.run(
        [
            *("tmux", "-L", server, "new-session", "-d", "-s", "menu", "-x", "120", "-y", "40"),
            *("-e", "TERM=xterm-256color", command),
        ],
        check=True,
        timeout=10,
    )
    screen = lambda: tmux(server, "capture-pane", "-p", "-t", "menu")  # noqa: E731
    try:
        wait_until(lambda: "Grid" in screen() and "Decision:" in screen())
        assert "SOC" in screen()
        tmux(server, "send-keys", "-t", "menu", "e")
        wait_until(lambda: "Emergency stop?" in screen())
        assert client.request("status")["state"]["emergency_stop"] == "OFF"  # asked first
        tmux(server, "send-keys", "-t", "menu", "y")
        wait_until(lambda: "emergency_stop: accepted" in screen())
        wait_until(lambda: client.request("status")["state"]["reason"].startswith("emergency stop"))
        tmux(server, "send-keys", "-t", "menu", "q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "menu" in tmux(server, "list-sessions"):
            time.sleep(0.1)
        assert "menu" not in tmux(server, "list-sessions")  # quit cleanly
    finally:
        tmux(server, "kill-server")
