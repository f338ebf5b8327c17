"""`edge demo` with [s2] enabled, as a user runs it: the composition root starts the link
(edge/compose.py), the CEM of host_tools/bench/s2.py instructs the battery and the tank over
real sockets, and the demo's local API shows the result."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from s2python.common import ReceptionStatusValues, ResourceManagerDetails

from edge.config import EXAMPLE_CONFIG, load_config
from edge.local_api import ApiClient
from edge.s2.battery import Mode
from edge.s2.link import battery_of, tank_of
from edge.s2.tank import TankMode
from host_tools.bench.s2 import MiniCem
from tests.edge.conftest import ENV


async def _state(client: ApiClient, pred, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            state = (await asyncio.to_thread(client.request, "status"))["state"]
        except OSError:
            state = {}
        if state and pred(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout_s:g} s; last state: {state}")
        await asyncio.sleep(0.1)


def test_the_demo_offers_battery_and_tank_and_follows_an_instruction(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="edge-s2-"))
    sock = folder / "api.sock"
    cfg_path = tmp_path / "site.toml"

    async def go():
        cem = MiniCem()
        port = await cem.start()
        shutil.copy(EXAMPLE_CONFIG, cfg_path)
        with cfg_path.open("a", encoding="utf-8") as f:
            f.write(f'\n[s2]\nenabled = true\nurl = "ws://127.0.0.1:{port}/s2"\n')
        cfg = load_config(cfg_path)
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "edge", "demo", "--no-mqtt", "--quiet"),
            *("--config", str(cfg_path), "--minutes", "60", "--speed", "10"),
            *("--api-socket", str(sock)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=ENV,
        )
        client = ApiClient(str(sock))
        try:
            first, second = await cem.session(0, 60.0), await cem.session(1, 60.0)
            by_id = {}
            for s in (first, second):
                details = await s.wait_for(ResourceManagerDetails)
                by_id[details.resource_id] = s
            battery, tank = battery_of(cfg), tank_of(cfg)
            assert set(by_id) == {battery.resource_id, tank.resource_id}
            await _state(client, lambda st: st.get("s2_link") == "active FRBC")
            # the tank's session is shown beside the battery's
            await _state(client, lambda st: st.get("s2_tank_link") == "active FRBC")

            idle = await by_id[battery.resource_id].instruct(battery.ids.mode(Mode.IDLE), 0.0)
            assert idle.status is ReceptionStatusValues.OK
            state = await _state(client, lambda st: st.get("reason") == "requested: standby")
            assert state["mode_request"] == "standby"
            boost = await by_id[tank.resource_id].instruct(tank.ids.mode(TankMode.BOOST), 1.0)
            # the example's tank may already be at its maximum: then the reason says so
            if boost.status is ReceptionStatusValues.OK:
                await _state(client, lambda st: st.get("boost_hot_water") == "ON")
            else:
                assert "its maximum" in boost.diagnostic_label
        finally:
            client.close()
            proc.terminate()
            _out, err = await proc.communicate()
            await cem.stop()
        assert proc.returncode == 0, err.decode()[-2000:]

    try:
        asyncio.run(go())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_without_the_s2_extra_the_demo_says_which_to_install(tmp_path):
    """[s2] enabled but s2-python missing: exit 2 and one line naming `edge[s2]`."""
    blocked = tmp_path / "s2python"
    blocked.mkdir()
    (blocked / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 's2python'\", name='s2python')\n"
    )
    cfg_path = tmp_path / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, cfg_path)
    with cfg_path.open("a", encoding="utf-8") as f:
        f.write("\n[s2]\nenabled = true\n")
    r = subprocess.run(
        [
            *(sys.executable, "-m", "edge", "demo", "--no-mqtt", "--quiet"),
            *("--config", str(cfg_path), "--minutes", "1", "--speed", "10"),
            *("--api-socket", str(tmp_path / "api.sock")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**ENV, "PYTHONPATH": f"{tmp_path}:{Path.cwd()}"},
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "edge: [s2] enabled = true needs the 's2' extra (s2python is missing):"
        " pip install 'edge[s2]'"
    )
