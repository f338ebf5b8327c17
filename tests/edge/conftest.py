"""A running `edge demo` with its local API, for the API's and the menu's tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from edge.config import EXAMPLE_CONFIG
from edge.local_api import ApiClient

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def wait_until(pred, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got = pred()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def demo(tmp_path: Path):
    folder = Path(tempfile.mkdtemp(prefix="edge-api-"))
    folder.chmod(0o755)  # other users may reach the socket (the read-only test)
    sock = folder / "api.sock"
    cfg = tmp_path / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, cfg)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "edge", "demo", "--no-mqtt", "--quiet", "--config", str(cfg)),
            *("--minutes", "30", "--speed", "10", "--api-socket", str(sock)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    client = ApiClient(str(sock))
    try:
        wait_until(lambda: client.request("status")["state"].get("grid_power_w") is not None)
        yield client, cfg, sock
    finally:
        client.close()
        proc.terminate()
        proc.communicate(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    assert proc.returncode == 0
