"""What the local API asks of a running supervisor (edge/supervisor_api.py), called directly
on a Supervisor whose drivers poll the emulators over sockets: status, commands, a reload,
the output tests and the scan. tests/edge/test_local_api.py covers the same through the
socket against `edge demo`; this module covers what that one does not reach."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.clock import ScaledClock
from edge.config import load_config
from edge.core.model import InverterCommand, InverterMode, SgState
from edge.drivers.budget import WriteBudget
from edge.drivers.dab.driver import DabDriver, Startup
from edge.drivers.dab.sim import DabBoardEmulator
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.loads.sim import EmulatedLoads
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.sim import SofarEmulator
from edge.mqtt.broker import free_port
from edge.requests_store import RequestStore
from edge.sim.house import House, HouseParams
from edge.supervisor import Supervisor
from edge.supervisor_api import SupervisorApi
from edge.tasks import cancel_and_wait
from tests.asyncwait import wait_until

NOON_S = 12 * 3600.0


@dataclass
class Rig:
    house: House
    outputs: EmulatedLoads
    sup: Supervisor
    api: SupervisorApi
    clock: ScaledClock
    cfg_path: Path
    db: str


def site_file(tmp_path: Path, inverter: int, bms: int | None, dab: int | None) -> Path:
    path = tmp_path / "site.toml"
    text = (
        f'[site]\nstate_db = "{tmp_path / "state.sqlite"}"\n\n'
        f'[inverter]\nport = "tcp://127.0.0.1:{inverter}"\ndaily_write_budget = 500\n\n'
        '[mqtt]\nenabled = false\nhost = "127.0.0.1"\n\n'
        "[policy]\nhold_s = 60\n\n"
    )
    if bms is not None:
        text += f'[battery]\nbms_port = "tcp://127.0.0.1:{bms}"\nreserve_soc_pct = 20\n\n'
    text += (
        f'[dab]\nport = "tcp://127.0.0.1:{dab}"\nbus_settle_s = 0.0\n'
        if dab is not None
        else "[dab]\nenabled = false\n"
    )
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def rig(
    tmp_path: Path, dab: bool = True, bms: str = "emulator", loads: bool = True
) -> AsyncIterator[Rig]:
    """bms: "emulator", "silent" (a port where nothing answers) or "none"."""
    house = House(HouseParams(load_noise_w=0.0), start_s=NOON_S)
    inverter_emu = SofarEmulator(house)
    bms_emu = PylontechEmulator(house.pack) if bms == "emulator" else None
    board = DabBoardEmulator() if dab else None
    inv_port = await inverter_emu.start()
    bms_port = await bms_emu.start() if bms_emu else free_port() if bms == "silent" else None
    dab_port = await board.start() if board else None
    cfg_path = site_file(tmp_path, inv_port, bms_port, dab_port)
    cfg = load_config(cfg_path)
    db = cfg.site.state_db
    clock = ScaledClock(start_s=NOON_S, speed=1.0)
    inverter = SofarDriver(
        cfg.inverter,
        clock,
        poll_s=0.1,
        budget=WriteBudget("inverter", cfg.inverter.daily_write_budget, db),
    )
    dab_drv = (
        DabDriver(
            cfg.dab, clock, poll_s=0.1, budget=WriteBudget("dab", cfg.dab.daily_write_budget, db)
        )
        if dab
        else None
    )
    bms_drv = (
        PylontechDriver(cfg.battery.bms_port, cfg.battery.bms_modules, clock, poll_s=0.1)
        if cfg.battery.bms_port
        else None
    )
    outputs = EmulatedLoads(house)
    loads_drv = (
        LoadsDriver(
            outputs,
            cfg.loads.diverter.deadband_w,
            WriteBudget("diverter", cfg.loads.diverter.daily_write_budget, db),
            clock.now_s,
        )
        if loads
        else None
    )
    sup = Supervisor(cfg, clock, inverter, dab_drv, None, lambda _l: None, loads_drv, bms_drv)
    polled = [d for d in (inverter, dab_drv, bms_drv if bms == "emulator" else None) if d]
    tasks = [asyncio.create_task(d.run()) for d in (inverter, dab_drv, bms_drv) if d]
    try:
        await wait_until(lambda: all(d.sample(clock.now_s()) is not None for d in polled))
        yield Rig(house, outputs, sup, SupervisorApi(sup, cfg_path), clock, cfg_path, db)
    finally:
        await cancel_and_wait(tasks)
        await inverter.close(restore_self_use=False)
        if dab_drv:
            await dab_drv.close()
        if bms_drv:
            bms_drv.close()
        for emu in (inverter_emu, bms_emu, board):
            if emu:
                await emu.stop()


# ---- status -------------------------------------------------------------------------


def test_status_lists_each_device_with_its_age_and_link(tmp_path):
    async def go():
        async with rig(tmp_path) as r:
            status = r.api.status()
            assert set(status["devices"]) == {"inverter", "dab", "bms", "loads"}
            for name in ("inverter", "dab", "bms"):
                d = status["devices"][name]
                assert d["status"] == "online" and d["stale"] is False
                assert 0.0 <= d["age_s"] < 1.0
            assert status["devices"]["loads"] == {"status": "ok"}
            assert status["config_path"] == str(r.cfg_path)
            assert status["inverter_port"] == r.sup.cfg.inverter.port
            assert status["restart_pending"] == []
            assert status["settings"]["policy.hold_s"] == 60.0
            assert status["settings"]["inverter.daily_write_budget"] == 500
            # Before the first tick there is no state document yet.
            assert (status["state"], status["ticks"]) == ({}, 0)
            await r.sup.tick(1.0)
            after = r.api.status()
            assert after["ticks"] == 1
            assert after["state"]["grid_power_w"] is not None
            assert after["decisions"] == list(r.sup.summary.decisions)

    asyncio.run(go())


def test_each_device_is_stale_past_its_own_limit(tmp_path):
    async def go():
        async with rig(tmp_path) as r:
            # 6 s later with no new reading: past the inverter's and the DAB board's 5 s,
            # inside the BMS's 10 s (the defaults of each section).
            r.clock.advance(6.0)
            devices = r.api.status()["devices"]
            assert devices["inverter"]["stale"] is True
            assert devices["dab"]["stale"] is True
            assert devices["bms"]["stale"] is False
            for name in ("inverter", "dab", "bms"):
                assert 6.0 <= devices[name]["age_s"] < 7.0

    asyncio.run(go())


def test_a_device_that_never_answered_has_no_age_and_is_stale(tmp_path):
    async def go():
        async with rig(tmp_path, bms="silent") as r:
            bms = r.api.status()["devices"]["bms"]
            assert bms["age_s"] is None and bms["stale"] is True
            assert bms["status"] != "online"

    asyncio.run(go())


def test_devices_a_site_does_not_have_are_not_listed(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            status = r.api.status()
            assert set(status["devices"]) == {"inverter"}
            assert set(status["budgets"]) == {"inverter"}

    asyncio.run(go())


def test_the_budgets_are_the_writes_counted_today(tmp_path):
    async def go():
        async with rig(tmp_path) as r:
            inv, dab, loads = r.sup.inverter, r.sup.dab, r.sup.loads
            await inv.apply(InverterCommand(InverterMode.PASSIVE, -1000.0))
            await inv.apply(InverterCommand(InverterMode.PASSIVE, -1020.0))  # in the deadband
            await wait_until(lambda: dab.startup is Startup.READY)
            await dab.apply(2.0)
            await dab.apply(2.02)  # in the 0.05 A deadband
            loads.apply(800.0, SgState.NORMAL)
            loads.apply(820.0, SgState.NORMAL)  # in the 50 W deadband
            loads.apply(0.0, SgState.NORMAL)
            budgets = r.api.status()["budgets"]
            assert budgets == {
                "inverter": {"used": 1, "per_day": 500},
                "dab": {"used": 1, "per_day": 50000},
                "diverter": {"used": 2, "per_day": 100000},
            }
            # The same counts as the state file holds for today, once the writers have run.
            inv.budget.flush()
            loads.budget.flush()
            now = r.clock.now_s()
            assert WriteBudget("inverter", 1, r.db).used(now) == 1
            assert WriteBudget("diverter", 1, r.db).used(now) == 2

    asyncio.run(go())


def test_status_keeps_the_last_twenty_decisions(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            for k in range(25):
                r.sup.summary.decisions.append(f"12:00:{k:02d} decision {k}")
            decisions = r.api.status()["decisions"]
            assert len(decisions) == 20
            assert (decisions[0], decisions[-1]) == ("12:00:05 decision 5", "12:00:24 decision 24")

    asyncio.run(go())


# ---- commands -----------------------------------------------------------------------


def test_an_accepted_command_reaches_the_requests_with_its_expiry(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none") as r:
            t0 = r.clock.now_s()
            answer = r.api.command({"key": "force_charge_w", "value": 1200, "for_s": 600})
            assert answer["ok"] is True
            assert answer["result"]["accepted"] is True
            assert (answer["result"]["value"], answer["result"]["for_s"]) == (1200.0, 600.0)
            req = r.sup.requests
            assert req.force_charge_w == 1200.0
            assert t0 + 600.0 <= req.force_charge_until_s < t0 + 601.0
            assert r.sup.store.load() == req  # kept for a restart
            assert r.sup.summary.commands_accepted == 1

    asyncio.run(go())


def test_a_button_without_a_value_is_pressed(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none") as r:
            assert r.api.command({"key": "boost_hot_water"})["ok"] is True
            # policy.request_s (3600 s by default) when the command says no for_s
            until = r.sup.requests.boost_hot_water_until_s
            assert NOON_S + 3600.0 <= until < r.clock.now_s() + 3600.0 + 1.0

    asyncio.run(go())


@pytest.mark.parametrize(
    ("request_", "said"),
    [
        ({"key": "format_disk"}, "unknown command 'format_disk'; known: mode, force_charge_w"),
        ({"key": "mode", "value": "turbo"}, "mode 'turbo': allowed auto, self_use, standby"),
        (
            {"key": "boost_hot_water", "for_s": 5},
            "for_s = 5: allowed 60 to 86400 s",
        ),
        (
            {"key": "reserve_soc_pct", "value": 100},
            "reserve_soc_pct = 100: allowed 0 to 99 % (below battery.max_soc_pct)",
        ),
    ],
)
def test_a_refused_command_says_why_and_changes_nothing(tmp_path, request_, said):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            before = r.sup.requests
            answer = r.api.command(request_)
            assert answer["ok"] is False and answer["result"]["accepted"] is False
            assert said in answer["result"]["reason"]
            assert r.sup.requests == before
            assert r.sup.summary.commands_refused == 1

    asyncio.run(go())


def test_a_command_needs_a_key(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            for request in ({}, {"key": 7}, {"value": "PRESS"}):
                assert r.api.command(request) == {"ok": False, "error": 'a command needs a "key"'}
            assert r.sup.summary.commands_refused == 0  # not a command at all

    asyncio.run(go())


# ---- reload -------------------------------------------------------------------------


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_reload_applies_the_live_settings_and_names_the_others(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="emulator", loads=False) as r:
            edit(r.cfg_path, "reserve_soc_pct = 20", "reserve_soc_pct = 35")
            edit(r.cfg_path, 'host = "127.0.0.1"', 'host = "192.0.2.1"')
            answer = r.api.reload()
            assert answer == {
                "applied": ["battery.reserve_soc_pct"],
                "restart_needed": ["mqtt.host"],
            }
            assert r.sup.cfg.battery.reserve_soc_pct == 35.0
            assert r.sup.core_cfg.reserve_soc_pct == 35.0  # the core decides with it now
            assert r.sup.cfg.mqtt.host == "127.0.0.1"  # kept until a restart
            assert r.api.status()["restart_pending"] == ["mqtt.host"]

    asyncio.run(go())


def test_a_setting_that_needs_a_restart_stays_pending_over_later_reloads(tmp_path):
    """The menu's "restart edge to apply" line comes from restart_pending: a later reload
    (of a live setting, or of nothing) must not drop a change the supervisor still runs
    without."""

    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            edit(r.cfg_path, 'host = "127.0.0.1"', 'host = "192.0.2.1"')
            assert r.api.reload()["restart_needed"] == ["mqtt.host"]
            edit(r.cfg_path, "hold_s = 60", "hold_s = 90")
            second = r.api.reload()
            assert second["applied"] == ["policy.hold_s"]
            assert r.sup.cfg.mqtt.host == "127.0.0.1"  # still the old broker...
            assert r.api.status()["restart_pending"] == ["mqtt.host"]  # ...so still pending

    asyncio.run(go())


def test_a_reload_of_an_unchanged_file_applies_nothing(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            assert r.api.reload() == {"applied": [], "restart_needed": []}

    asyncio.run(go())


def test_a_bad_file_is_refused_naming_the_key_and_nothing_changes(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            running = r.sup.cfg
            edit(r.cfg_path, "hold_s = 60", "hold_s = 60\nflip_threshold_w = -5")
            bad = r.api.reload()
            assert bad["ok"] is False
            assert (
                "policy.flip_threshold_w = -5: Input should be greater than or equal to 0"
                in (bad["error"])
            )
            assert str(r.cfg_path) in bad["error"]
            assert r.sup.cfg is running
            r.cfg_path.write_text("[policy\nhold_s = 1", encoding="utf-8")
            not_toml = r.api.reload()
            assert not_toml["ok"] is False
            assert not_toml["error"].startswith(f"{r.cfg_path}: not valid TOML")
            r.cfg_path.unlink()
            gone = r.api.reload()
            assert gone["error"] == (
                f"{r.cfg_path}: cannot read the configuration file: No such file or directory"
            )
            assert r.sup.cfg is running

    asyncio.run(go())


def test_a_supervisor_without_a_file_cannot_reload(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            answer = SupervisorApi(r.sup, None).reload()
            assert answer == {
                "ok": False,
                "error": "this supervisor was not started from a config file",
            }

    asyncio.run(go())


# ---- output tests -------------------------------------------------------------------


def test_an_output_test_drives_one_output_then_hands_back(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none") as r:
            answer = r.api.test_output({"what": "diverter", "seconds": 0.3})
            assert answer == {"testing": "diverter", "seconds": 0.3}
            # 10 % of the 3000 W element, the relays open.
            assert r.house.diverter.setpoint_w == 300.0
            assert r.outputs.relays.contacts == (False, False)
            assert r.api.status()["devices"]["loads"] == {"status": "testing diverter"}
            busy = r.api.test_output({"what": "relay1", "seconds": 1})
            assert busy == {"ok": False, "error": "a test of diverter is running"}
            r.sup.loads.apply(2000.0, SgState.NORMAL)  # the decisions wait meanwhile
            assert r.house.diverter.setpoint_w == 300.0
            t0 = time.monotonic()
            await wait_until(lambda: r.sup.loads.testing is None)
            assert 0.15 <= time.monotonic() - t0 < 1.0
            assert r.house.diverter.setpoint_w == 0.0
            # Then a relay: contact 1 closed alone (SG-Ready "lock").
            assert r.api.test_output({"what": "relay1", "seconds": 0.1})["testing"] == "relay1"
            assert r.outputs.relays.contacts == (True, False)
            await wait_until(lambda: r.sup.loads.testing is None)
            assert r.outputs.relays.contacts == (False, False)

    asyncio.run(go())


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "seconds = 0: allowed 0 to 30"),
        (-1, "seconds = -1: allowed 0 to 30"),
        (30.5, "seconds = 30.5: allowed 0 to 30"),
        ("5", "seconds = '5': allowed 0 to 30"),
        (None, "seconds = None: allowed 0 to 30"),
        (True, "seconds = True: allowed 0 to 30"),
    ],
)
def test_output_test_seconds_are_bounded(tmp_path, seconds, said):
    async def go():
        async with rig(tmp_path, dab=False, bms="none") as r:
            answer = r.api.test_output({"what": "relay2", "seconds": seconds})
            assert answer == {"ok": False, "error": said}
            assert r.sup.loads.testing is None
            assert r.outputs.relays.contacts == (False, False)

    asyncio.run(go())


def test_output_tests_of_what_there_is(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none") as r:
            unknown = r.api.test_output({"seconds": 5})
            assert unknown["error"] == "what = None: allowed diverter, relay1, relay2"
            longest = r.api.test_output({"what": "relay2", "seconds": 30})
            assert longest == {"testing": "relay2", "seconds": 30}
            assert r.outputs.relays.contacts == (False, True)
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            none = r.api.test_output({"what": "diverter"})
            assert none == {"ok": False, "error": "no load outputs are driven by this supervisor"}

    asyncio.run(go())


# ---- scan ---------------------------------------------------------------------------


def test_a_scan_refuses_the_ports_the_drivers_use_naming_the_driver(tmp_path):
    async def go():
        async with rig(tmp_path) as r:
            cfg = r.sup.cfg
            for port, driver in (
                (cfg.inverter.port, "inverter"),
                (cfg.dab.port, "DAB board"),
                (cfg.battery.bms_port, "BMS"),
            ):
                answer = await r.api.scan({"port": port})
                assert answer["ok"] is False
                assert answer["error"].startswith(f"{port} is in use by the {driver} driver;")
            assert r.sup.inverter.status == "online"  # nobody talked over the supervisor

    asyncio.run(go())


@pytest.mark.parametrize(
    "request_",
    [
        {"port": "tcp://127.0.0.1:1", "slave_ids": []},
        {"port": "tcp://127.0.0.1:1", "slave_ids": [0]},
        {"port": "tcp://127.0.0.1:1", "slave_ids": [1, 248]},
        {"port": "tcp://127.0.0.1:1", "slave_ids": ["1"]},
        {"port": "tcp://127.0.0.1:1", "slave_ids": "1-10"},
    ],
)
def test_a_scan_refuses_bad_slave_ids(tmp_path, request_):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            answer = await r.api.scan(request_)
            assert answer == {"ok": False, "error": "slave_ids: a list of addresses from 1 to 247"}

    asyncio.run(go())


def test_a_scan_needs_a_port_and_finds_nothing_where_nothing_answers(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            for request in ({}, {"port": ""}, {"port": 7}):
                assert await r.api.scan(request) == {"ok": False, "error": 'a scan needs a "port"'}
            empty = await r.api.scan({"port": f"tcp://127.0.0.1:{free_port()}", "slave_ids": [1]})
            assert empty == {"found": []}

    asyncio.run(go())


def _lan_address() -> str:
    """An IPv4 address of this host's own that is not loopback (a gateway such as ser2net
    listening on every address answers there too)."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=True).stdout
    lan = [a for a in out.split() if ipaddress.ip_address(a).version == 4]
    assert lan, f"this test needs a non-loopback IPv4 address; hostname -I says {out!r}"
    return lan[0]


def test_a_scan_refuses_a_drivers_tcp_port_however_it_is_written(tmp_path):
    async def go():
        async with rig(tmp_path) as r:
            cfg = r.sup.cfg
            inverter = int(cfg.inverter.port.rpartition(":")[2])
            bms = int(str(cfg.battery.bms_port).rpartition(":")[2])
            for port, driver in (
                (f"tcp://localhost:{inverter}", "inverter"),
                (f"tcp://127.0.0.1:0{inverter}", "inverter"),
                (f"tcp://:{inverter}", "inverter"),  # no host: this one, as the driver reads it
                (f"tcp://[::1]:{bms}", "BMS"),  # this host by IPv6
                (f"tcp://LOCALHOST:00{bms}", "BMS"),
                (f"tcp://{_lan_address()}:{inverter}", "inverter"),  # this host's LAN address
            ):
                answer = await r.api.scan({"port": port, "slave_ids": [1]})
                assert answer["ok"] is False, (port, answer)
                assert answer["error"].startswith(f"{port} is in use by the {driver} driver")
            assert r.sup.inverter.status == "online"

    asyncio.run(go())


def test_a_scan_refuses_a_drivers_serial_device_however_it_is_named(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            master, slave = os.openpty()  # the BMS's RS485 adapter
            try:
                device = os.ttyname(slave)  # /dev/pts/N
                battery = r.sup.cfg.battery.model_copy(update={"bms_port": device})
                r.sup.cfg = r.sup.cfg.model_copy(update={"battery": battery})
                link = tmp_path / "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
                link.symlink_to(device)  # as /dev/serial/by-id/ names it
                folder, name = os.path.split(device)
                for port in (
                    device.replace("/dev/", "/dev//"),
                    f"{folder}/../{os.path.basename(folder)}/{name}",
                    str(link),
                ):
                    answer = await r.api.scan({"port": port, "slave_ids": [1]})
                    assert answer["ok"] is False, (port, answer)
                    assert answer["error"].startswith(f"{port} is in use by the BMS driver")
                    assert device in answer["error"]
            finally:
                os.close(master)
                os.close(slave)

    asyncio.run(go())


def test_a_scan_of_a_port_that_does_not_exist_says_so(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            for port, said in (
                ("/dev/no-such-edge-tty", "/dev/no-such-edge-tty: no such device"),
                (str(tmp_path / "gone" / "ttyUSB0"), "no such device"),
                ("tcp://no-such-host.invalid:502", "host 'no-such-host.invalid' is not known"),
                ("tcp://127.0.0.1:70000", "a port number from 1 to 65535"),
                ("tcp://127.0.0.1:modbus", "a port number from 1 to 65535"),
                ("tcp://127.0.0.1", "a port number from 1 to 65535"),
                (str(tmp_path), "not a serial device"),
                (str(r.cfg_path), "not a serial device"),
            ):
                answer = await r.api.scan({"port": port, "slave_ids": [1]})
                assert answer["ok"] is False, (port, answer)
                assert said in answer["error"] and answer["error"].startswith(port)

    asyncio.run(go())


def test_a_scan_refuses_a_port_no_device_could_have(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            for port in ("/dev/" + "x" * 300, "/dev/tty\nUSB0"):
                answer = await r.api.scan({"port": port, "slave_ids": [1]})
                assert answer == {
                    "ok": False,
                    "error": "a port is printable, at most 200 characters",
                }

    asyncio.run(go())


# ---- what the supervisor makes of a command ------------------------------------------


def test_a_command_result_echoes_a_long_payload_cut_short(tmp_path):
    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            payload = json.dumps({"value": "x" * 100_000}).encode()
            result = r.sup.command("mode", payload, retained=False)
            assert result["accepted"] is False
            assert result["payload"].endswith(f"... ({len(payload)} bytes in all)")
            assert len(json.dumps(result)) < 1000

    asyncio.run(go())


def test_a_command_whose_request_cannot_be_stored_is_taken_and_the_problem_said(tmp_path):
    """The state file refuses the write (here: opened read-only, a real SQLite failure, as
    a full disk is): the emergency stop holds now, the result is answered, and the
    storage problem names the requests."""

    async def go():
        async with rig(tmp_path, dab=False, bms="none", loads=False) as r:
            db = tmp_path / "requests.sqlite"
            RequestStore(str(db)).close()
            store = RequestStore(str(db), health=r.sup.energy.health)
            store._writer.db.close()
            store._writer.db = sqlite3.connect(
                f"file:{db}?mode=ro", uri=True, check_same_thread=False
            )
            r.sup.store = store
            result = r.sup.command("emergency_stop", b"PRESS", retained=False)
            assert result["accepted"] is True
            assert r.sup.requests.emergency_stop is True
            store.flush()  # the write ran on the store's thread
            problem = r.sup.energy.health.problem or ""
            assert problem.startswith("requests: attempt to write a readonly database")

    asyncio.run(go())
