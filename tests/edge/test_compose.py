"""The composition root: the drivers, the publisher and the local API a site file names,
built and run against the emulators over real sockets. What got built is read back the
way a user would: through the local API's status, and from what each emulator saw."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from edge.clock import ScaledClock
from edge.compose import make_publisher, run_site, supervise, wait_for_serial
from edge.config import load_config, parse_config
from edge.drivers.dab.sim import DabBoardEmulator
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.drivers.sofar import g3
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.g3_sim import SofarG3Emulator
from edge.drivers.sofar.sim import SofarEmulator
from edge.mqtt.broker import free_port
from edge.sim.house import House, HouseParams
from edge.sim.house import InverterMode as HouseMode

NOON_S = 12 * 3600.0


@pytest.fixture
def sock_dir():
    """A short folder for the local API's socket (a Unix socket path has 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="edge-compose-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def site(
    tmp_path: Path, sock: Path, inverter_port: int, extra: str = "", family: str = "sofar_me3000sp"
) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(
        f'[site]\nstate_db = "{tmp_path / "state.sqlite"}"\napi_socket = "{sock}"\n\n'
        f'[inverter]\nport = "tcp://127.0.0.1:{inverter_port}"\nfamily = "{family}"\n\n'
        "[mqtt]\nenabled = false\n\n"
        "[loads.diverter]\nenabled = false\n\n"
        f"{extra}\n",
        encoding="utf-8",
    )
    return path


async def ask(sock: Path, op: str) -> dict:
    reader, writer = await asyncio.open_unix_connection(str(sock))
    try:
        writer.write(json.dumps({"op": op}).encode() + b"\n")
        await writer.drain()
        return json.loads(await reader.readline())
    finally:
        writer.close()


async def status_once_ticking(sock: Path, task: asyncio.Task, ticks: int = 3) -> dict:
    """The local API's status once the supervisor has decided `ticks` times."""
    deadline = asyncio.get_running_loop().time() + 20.0
    while asyncio.get_running_loop().time() < deadline:
        assert not task.done(), f"supervise ended early: {task.result()}"
        with contextlib.suppress(OSError):
            status = await ask(sock, "status")
            if status["ticks"] >= ticks:
                return status
        await asyncio.sleep(0.05)
    raise AssertionError("the supervisor did not tick through its local API")


class Listener:
    """A port that counts who connects (where no driver should)."""

    def __init__(self) -> None:
        self.connections = 0

    async def start(self) -> int:
        async def count(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            self.connections += 1
            w.close()

        self._server = await asyncio.start_server(count, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()


def test_an_me3000sp_site_with_a_dab_board_and_a_bms(tmp_path, sock_dir, capsys):
    async def go():
        house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
        inverter, board = SofarEmulator(house), DabBoardEmulator()
        bms = PylontechEmulator(house.pack)
        inv_port, dab_port, bms_port = (
            await inverter.start(),
            await board.start(),
            await bms.start(),
        )
        sock = sock_dir / "api.sock"
        path = site(
            tmp_path,
            sock,
            inv_port,
            f'[dab]\nport = "tcp://127.0.0.1:{dab_port}"\nbus_settle_s = 0.0\n\n'
            f'[battery]\nbms_port = "tcp://127.0.0.1:{bms_port}"\n\n'
            "[policy]\ntick_s = 0.2\n",
        )
        cfg = load_config(path)
        clock = ScaledClock(start_s=NOON_S, speed=1.0)
        task = asyncio.create_task(supervise(cfg, clock, NOON_S + 2.5, True, [], config_path=path))
        try:
            status = await status_once_ticking(sock, task)
            assert set(status["devices"]) == {"inverter", "dab", "bms"}
            assert {d["status"] for d in status["devices"].values()} == {"online"}
            assert set(status["budgets"]) == {"inverter", "dab"}
            assert status["config_path"] == str(path)
            assert await asyncio.wait_for(task, 20.0) == 0
        finally:
            if not task.done():
                task.cancel()
            for emu in (inverter, board, bms):
                await emu.stop()
        assert inverter.passive_commands >= 1  # the ME3000SP's 0x42 passive frames
        assert board.slave.counters["frames"] > 0
        assert bms.requests > 0
        assert house.state.mode is HouseMode.AUTO  # handed back to self-use at the end
        assert not sock.exists()  # the local API's socket is gone with it

    asyncio.run(go())
    out = capsys.readouterr().out
    assert "inverter SE1ES410SIM001 at tcp://127.0.0.1:" in out
    assert "first full read done" in out
    assert "local API on " in out
    assert "summary: " in out


def test_a_hyd_ep_site_gets_the_g3_driver_and_no_dab_driver(tmp_path, sock_dir, capsys):
    async def go():
        house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
        inverter, dab_port = SofarG3Emulator(house), Listener()
        inv_port = await inverter.start()
        sock = sock_dir / "api.sock"
        path = site(
            tmp_path,
            sock,
            inv_port,
            f'[dab]\nenabled = false\nport = "tcp://127.0.0.1:{await dab_port.start()}"\n\n'
            "[policy]\ntick_s = 0.2\n",
            family="sofar_hyd_ep",
        )
        cfg = load_config(path)
        assert cfg.inverter.family == "sofar_hyd_ep"
        clock = ScaledClock(start_s=NOON_S, speed=1.0)
        task = asyncio.create_task(supervise(cfg, clock, NOON_S + 2.0, True, []))
        try:
            status = await status_once_ticking(sock, task)
            assert set(status["devices"]) == {"inverter"}
            assert set(status["budgets"]) == {"inverter"}
            assert status["config_path"] is None  # not given: a reload is refused
            assert await asyncio.wait_for(task, 20.0) == 0
        finally:
            if not task.done():
                task.cancel()
            await inverter.stop()
            await dab_port.stop()
        # The G3 registers were written (an ME3000SP driver would not have found the
        # serial at all), and the mode is self-use again at the end.
        assert inverter.power_writes >= 1
        assert inverter.mode == g3.MODE_SELF_USE
        assert dab_port.connections == 0  # dab.enabled = false: nobody asked the board

    asyncio.run(go())
    assert "inverter SM2ES410SIM001 at tcp://127.0.0.1:" in capsys.readouterr().out


def test_extra_tasks_run_beside_the_supervisor_and_end_with_it(tmp_path, sock_dir):
    async def go():
        house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
        inverter = SofarEmulator(house)
        path = site(
            tmp_path, sock_dir / "api.sock", await inverter.start(), "[dab]\nenabled = false\n"
        )
        beats: list[float] = []
        ended = asyncio.Event()

        async def beside() -> None:
            try:
                while True:
                    beats.append(asyncio.get_running_loop().time())
                    await asyncio.sleep(0.05)
            finally:
                ended.set()

        clock = ScaledClock(start_s=NOON_S, speed=1.0)
        try:
            code = await asyncio.wait_for(
                supervise(load_config(path), clock, NOON_S + 1.0, True, [beside()]), 20.0
            )
        finally:
            await inverter.stop()
        assert code == 0
        assert len(beats) >= 5  # it ran during the run...
        assert ended.is_set()  # ...and was cancelled at its end

    asyncio.run(go())


def test_run_site_runs_the_minutes_on_the_wall_clock_and_says_what_it_leaves(
    tmp_path, sock_dir, capsys
):
    async def go():
        house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
        inverter = SofarEmulator(house)
        path = site(
            tmp_path, sock_dir / "api.sock", await inverter.start(), "[dab]\nenabled = false\n"
        )
        # The example's emulated diverter output exists only in `edge demo`.
        text = path.read_text().replace("[loads.diverter]\nenabled = false\n", "")
        path.write_text(text, encoding="utf-8")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            assert await asyncio.wait_for(run_site(path, 0.02, quiet=True), 20.0) == 0
        finally:
            await inverter.stop()
        assert 1.2 <= loop.time() - t0 < 10.0  # 0.02 min = 1.2 s, plus the first read
        assert inverter.passive_commands >= 1

    asyncio.run(go())
    out = capsys.readouterr().out
    assert (
        "loads: 'emulated' diverter outputs and SG-Ready relays exist only in `edge demo`;"
        " `edge run` leaves those alone"
    ) in out
    assert "summary: " in out


# ---- the pieces -----------------------------------------------------------------------


def test_the_publisher_announces_the_devices_the_site_has(tmp_path):
    cfg = parse_config(
        {
            "site": {"name": "Barn", "state_db": str(tmp_path / "state.sqlite")},
            "battery": {"bms_port": "/dev/ttyUSB1"},
            "loads": {"heat_pump": {"enabled": True}},
            "mqtt": {"outbox_max_mb": 3},
        }
    )
    host = socket.gethostname()
    pub = make_publisher(cfg, "SE1ES410X", with_dab=True, with_loads=True, bms_serial="PPTA7")
    try:
        ids = pub.ids
        assert ids.devices == ("bms", "diverter", "heat_pump")
        assert (ids.inverter_serial, ids.site_name, ids.bms_serial) == (
            "SE1ES410X",
            "Barn",
            "PPTA7",
        )
        assert ids.dab_id == "1"  # a board that has not said its id yet
        assert ids.bridge_id == host
        assert pub.sender.outbox.max_bytes == 3 * 1024 * 1024
    finally:
        pub.stop()
    # Without the loads port or the board: neither the loads nor the DAB are announced.
    pub = make_publisher(cfg, "SE1ES410X", with_dab=False, dab_id="7")
    try:
        assert pub.ids.devices == ("bms",)
        assert pub.ids.dab_id is None
    finally:
        pub.stop()
    bare = parse_config(
        {
            "site": {"state_db": str(tmp_path / "s2.sqlite")},
            "loads": {"diverter": {"enabled": False}},
        }
    )
    pub = make_publisher(bare, "S", with_dab=True, with_loads=True, dab_id="3")
    try:
        assert (pub.ids.devices, pub.ids.dab_id) == ((), "3")
    finally:
        pub.stop()


def test_wait_for_serial_returns_the_serial_after_the_first_full_read():
    async def go():
        house = House(HouseParams(), start_s=NOON_S)
        emu = SofarEmulator(house, serial="SE1ES410COMP01")
        port = await emu.start()
        cfg = parse_config({"inverter": {"port": f"tcp://127.0.0.1:{port}"}})
        clock = ScaledClock(start_s=NOON_S)
        driver = SofarDriver(cfg.inverter, clock, poll_s=0.1)
        try:
            serial = await asyncio.wait_for(wait_for_serial(driver, asyncio.Event()), 10.0)
            assert serial == "SE1ES410COMP01"
            assert driver.sample(clock.now_s()) is not None and not driver.in_io
            # Its first-read task is gone: the supervisor starts its own poll.
            assert [t.get_name() for t in asyncio.all_tasks()] == [
                asyncio.current_task().get_name()
            ]
        finally:
            await driver.close(restore_self_use=False)
            await emu.stop()

    asyncio.run(go())


def test_wait_for_serial_is_none_when_stopped_before_the_first_read():
    async def go():
        cfg = parse_config({"inverter": {"port": f"tcp://127.0.0.1:{free_port()}"}})
        driver = SofarDriver(cfg.inverter, ScaledClock(start_s=NOON_S), poll_s=0.1)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, stop.set)
        t0 = loop.time()
        assert await asyncio.wait_for(wait_for_serial(driver, stop), 10.0) is None
        assert loop.time() - t0 < 2.0
        assert driver.serial is None
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        driver.close_link()

    asyncio.run(go())


STOP_PROBE = textwrap.dedent(
    """
    import asyncio, sys
    from edge.compose import stop_event

    async def main():
        stop = stop_event()
        print("ready", flush=True)
        await asyncio.wait_for(stop.wait(), 20)
        print("stopped", flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_stop_event_is_set_by_sigterm_and_sigint(sig):
    proc = subprocess.Popen(
        [sys.executable, "-c", STOP_PROBE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.strip() == "stopped"  # the handler set the event; the process was not killed
