"""`edge doctor` against the emulators (Sofar, Pylontech), a real Mosquitto and real
files, with each fault set up for real: a broken site file, a silent inverter, passive
mode off on the inverter's LCD, a silent BMS, a refused password, a wrong CA, a device
file the service user cannot open, a corrupt database, a database from a newer edge, a
missing GPIO chip, a running supervisor that owns the lines.

Two faults cannot be made here and are given to the check instead: an unsynchronised
clock (adjtimex is the kernel's) and a full disk (the free bytes)."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edge.config import load_config
from edge.doctor import Check, check_disk, exit_status, run_checks, table
from edge.drivers.pylontech.sim import PylontechEmulator
from edge.drivers.sofar.sim import SofarEmulator
from edge.mqtt.broker import free_port
from edge.sim.house import House, HouseParams, InverterMode
from edge.state_db import SCHEMA_VERSION, lock_site
from tests.edge.mqtt.test_security import secure_broker  # noqa: F401 (a fixture)
from tests.edge.test_run import ENV


class Devices:
    """The inverter's and the BMS's emulators on their own event loop in a thread."""

    def __init__(self, passive_mode_enabled: bool = True) -> None:
        self.house = House(HouseParams(), start_s=12 * 3600.0)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sofar = SofarEmulator(self.house, passive_mode_enabled=passive_mode_enabled)
        self.bms = PylontechEmulator(self.house.pack)
        self.sofar_port = self._call(self.sofar.start())
        self.bms_port = self._call(self.bms.start())

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self._call(self.sofar.stop())
        self._call(self.bms.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def devices():
    d = Devices()
    try:
        yield d
    finally:
        d.stop()


def site(
    tmp_path: Path,
    inverter_port: int,
    bms_port: int | None,
    mqtt: str = "enabled = false\n",
    extra: str = "",
) -> Path:
    path = tmp_path / "site.toml"
    bms = f'bms_port = "tcp://127.0.0.1:{bms_port}"\n' if bms_port else ""
    path.write_text(
        f'[site]\nstate_db = "{tmp_path / "state" / "state.sqlite"}"\n\n'
        f'[inverter]\nfamily = "sofar_me3000sp"\nport = "tcp://127.0.0.1:{inverter_port}"\n'
        "timeout_s = 0.5\n\n"
        f"[battery]\nbms_modules = 2\n{bms}\n"
        f"[mqtt]\n{mqtt}\n[dab]\nenabled = false\n{extra}"
    )
    return path


def rows(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def doctor(path: Path, **kw) -> list[Check]:
    kw.setdefault("synchronised", lambda: True)
    return asyncio.run(run_checks(path, **kw))


def test_a_healthy_site_passes_and_the_devices_are_only_read(tmp_path, devices, mosquitto):
    path = site(
        tmp_path,
        devices.sofar_port,
        devices.bms_port,
        f'host = "{mosquitto.host}"\nport = {mosquitto.port}\n',
    )
    r = subprocess.run(
        [sys.executable, "-m", "edge", "doctor", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert r.returncode in (0, 1), r.stdout + r.stderr  # 1 only if this clock is not in sync
    out = r.stdout
    print(out)
    table_rows = {}
    for line in out.splitlines()[2:-1]:  # header, rule ... summary
        if not line.startswith(" "):  # not a fix line
            name, word, found = re.split(r"\s{2,}", line, maxsplit=2)
            table_rows[name] = (word, found)
    assert table_rows["site file"] == ("pass", f"{path}: valid")
    assert table_rows["port inverter.port"][0] == "skip"  # a TCP gateway, no device file
    inverter = table_rows[f"inverter at tcp://127.0.0.1:{devices.sofar_port}"]
    assert inverter[0] == "pass" and inverter[1].startswith(f"serial {devices.sofar.serial}, ")
    assert table_rows["inverter passive mode"][0] == "skip"  # not asked: it would write
    bms = table_rows[f"BMS at tcp://127.0.0.1:{devices.bms_port}"]
    assert bms[0] == "pass" and bms[1].startswith("master module ")
    broker = table_rows[f"broker {mosquitto.host}:{mosquitto.port}"]
    assert broker == ("pass", "connected over plain TCP")
    assert table_rows["state database"][0] == "pass"
    assert table_rows["clock"][0] in ("pass", "warn")  # this machine's NTP, as it is
    assert not [n for n, (word, _f) in table_rows.items() if word == "fail"]
    assert out.splitlines()[-1].endswith(f"; exit status {r.returncode}")
    # Read-only: not one passive command, not one heartbeat.
    assert devices.sofar.passive_commands == 0 and devices.sofar.heartbeats == 0


def test_a_broken_site_file_fails_alone(tmp_path):
    bad = tmp_path / "site.toml"
    bad.write_text('[inverter]\nport = "tcp://127.0.0.1:1"\nslave_id = 99\n')
    checks = doctor(bad)
    assert len(checks) == 1 and checks[0].word == "fail"
    assert "inverter.slave_id = 99" in checks[0].found and exit_status(checks) == 2
    missing = doctor(tmp_path / "nowhere.toml")[0]
    assert missing.word == "fail" and "No such file" in missing.found
    assert missing.fix.startswith("`sudo edge install-service` writes one")


def test_a_silent_inverter_and_a_silent_bms_fail_with_the_wiring_fix(tmp_path):
    path = site(tmp_path, free_port(), free_port())
    got = rows(doctor(path))
    inverter = next(c for n, c in got.items() if n.startswith("inverter at"))
    bms = next(c for n, c in got.items() if n.startswith("BMS at"))
    assert inverter.word == "fail" and inverter.found.startswith("no answer")
    assert "A/B wiring" in inverter.fix and "slave_id" in inverter.fix
    assert bms.word == "fail" and "bms_baud" in bms.fix


def test_passive_mode_off_on_the_lcd_is_found_only_when_asked(tmp_path):
    d = Devices(passive_mode_enabled=False)
    try:
        path = site(tmp_path, d.sofar_port, None)
        plain = rows(doctor(path))["inverter passive mode"]
        assert plain.word == "skip" and "--probe-passive" in plain.fix
        probed = rows(doctor(path, probe_passive=True))["inverter passive mode"]
        assert probed.word == "fail" and "invalid_work_mode" in probed.found
        assert "LCD" in probed.fix
        d.sofar.passive_mode_enabled = True
        ok = rows(doctor(path, probe_passive=True))["inverter passive mode"]
        assert ok.word == "pass"
        assert d.house.state.mode is InverterMode.AUTO  # what edge leaves at every exit
    finally:
        d.stop()


def test_a_running_supervisor_keeps_the_lines_to_itself(tmp_path, devices):
    path = site(tmp_path, devices.sofar_port, devices.bms_port)
    held = lock_site(load_config(path).site.state_db)
    try:
        got = rows(doctor(path))
    finally:
        assert held is not None
        held.close()
    assert (
        got["devices"].word == "skip"
        and "in use by another edge supervisor" in got["devices"].found
    )
    assert not any(n.startswith("inverter at") for n in got)
    assert devices.sofar.passive_commands == 0


def test_the_broker_refuses_a_password_and_a_wrong_ca(tmp_path, devices, secure_broker):  # noqa: F811
    broker, ca, _ = secure_broker
    base = f'host = "{broker.host}"\nport = {broker.port}\ntls = true\n'
    good = base + f'ca_file = "{ca}"\nusername = "edge"\npassword = "s3cret"\n'
    ok = rows(doctor(site(tmp_path, devices.sofar_port, None, good)))
    assert ok[f"broker {broker.host}:{broker.port}"].found == "connected over TLS as edge"
    wrong = good.replace("s3cret", "guess")
    refused = rows(doctor(site(tmp_path, devices.sofar_port, None, wrong)))
    row = refused[f"broker {broker.host}:{broker.port}"]
    assert row.word == "fail" and row.found.startswith("refused: ")
    assert "mqtt.password" in row.fix
    other_ca = tmp_path / "other-ca"
    other_ca.mkdir()
    from tests.tlsutil import make_ca

    ca2, _k, _c = make_ca(other_ca, "not-the-broker-ca")
    bad_ca = rows(doctor(site(tmp_path, devices.sofar_port, None, good.replace(str(ca), str(ca2)))))
    row = bad_ca[f"broker {broker.host}:{broker.port}"]
    assert row.word == "fail" and "TLS handshake" in row.found and "ca_file" in row.fix


def test_a_serial_device_the_service_user_cannot_open(tmp_path, devices):
    main_fd, sub_fd = pty.openpty()
    dev = os.ttyname(sub_fd)
    try:
        os.chmod(dev, 0o600)
        path = site(tmp_path, devices.sofar_port, None)
        text = path.read_text().replace(
            "[dab]\nenabled = false\n", f'[dab]\nenabled = true\nport = "{dev}"\n'
        )
        path.write_text(text)
        row = rows(doctor(path, user="nobody"))["port dab.port"]
        assert row.word == "fail" and "nobody cannot read and write" in row.found
        assert row.fix.startswith("sudo usermod -aG ")
        os.chmod(dev, 0o666)
        assert rows(doctor(path, user="nobody"))["port dab.port"].word == "pass"
        path.write_text(text.replace(dev, "/dev/ttyUSB97"))
        missing = rows(doctor(path, user="nobody"))["port dab.port"]
        assert missing.word == "fail" and "No such file" in missing.found
        assert "raspi-config" in missing.fix and "/dev/serial0" in missing.fix
    finally:
        os.close(main_fd)
        os.close(sub_fd)


def test_a_corrupt_database_and_one_from_a_newer_edge(tmp_path, devices):
    path = site(tmp_path, devices.sofar_port, None)
    db_path = tmp_path / "state" / "state.sqlite"
    db_path.parent.mkdir()
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE t (v TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    db.commit()
    db.close()
    assert rows(doctor(path))["state database"].word == "pass"
    data = bytearray(db_path.read_bytes())
    data[4096 + 8 : 4096 + 64] = b"\xff" * 56  # the second page's header and cell pointers
    db_path.write_bytes(bytes(data))
    broken = rows(doctor(path))["state database"]
    assert broken.word == "fail" and ".recover" in broken.fix
    db_path.unlink()
    db = sqlite3.connect(db_path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    newer = rows(doctor(path))["state database"]
    assert newer.word == "fail" and "from a newer edge" in newer.found


def test_a_missing_gpio_chip(tmp_path, devices):
    extra = (
        '\n[loads.diverter]\nenabled = true\noutput = "burst_fire_gpio"\n'
        'gpio_chip = "/dev/gpiochip9"\n'
    )
    path = site(tmp_path, devices.sofar_port, None, extra=extra)
    row = rows(doctor(path))["port loads.diverter.gpio_chip"]
    assert row.word == "fail" and "/dev/gpiochip9" in row.found
    assert row.fix.startswith("`ls /dev/gpiochip*` lists the chips")


def test_an_unsynchronised_clock_warns_and_sets_the_exit_status(tmp_path, devices):
    checks = doctor(site(tmp_path, devices.sofar_port, None), synchronised=lambda: False)
    clock = rows(checks)["clock"]
    assert clock.word == "warn" and "timedatectl set-ntp true" in clock.fix
    assert exit_status(checks) == 1
    assert table(checks).splitlines()[-1].endswith("; exit status 1")


def test_free_disk_thresholds(tmp_path):
    cfg = load_config(site(tmp_path, 1, None))
    mb = 2**20
    assert check_disk(cfg, lambda _p: 10 * mb).word == "fail"
    warn = check_disk(cfg, lambda _p: 150 * mb)
    assert warn.word == "warn" and "outbox may take 200 MB" in warn.found
    assert check_disk(cfg, lambda _p: 5000 * mb).word == "pass"
    assert check_disk(cfg).found.endswith(f"free under {tmp_path}")  # the real disk


def test_a_bms_on_a_serial_line(tmp_path, devices):
    """The BMS on a pseudo-terminal, opened as /dev/ttyUSB0 would be: the port row checks
    the device file, the BMS row reads the pack over it."""
    pty_path = devices._call(_open_pty(devices.bms))
    try:
        path = site(tmp_path, devices.sofar_port, None)
        path.write_text(
            path.read_text().replace(
                "bms_modules = 2\n", f'bms_modules = 2\nbms_port = "{pty_path}"\n'
            )
        )
        got = rows(doctor(path, user="root"))
        assert got["port battery.bms_port"].word == "pass"
        assert got["port battery.bms_port"].found.startswith(f"{pty_path}: root may read")
        bms = got[f"BMS at {pty_path}"]
        assert bms.word == "pass" and bms.found.startswith("master module PPTAP")
    finally:
        devices._call(_close_pty(devices.bms))


async def _open_pty(emu: PylontechEmulator) -> str:
    return emu.open_pty()


async def _close_pty(emu: PylontechEmulator) -> None:
    emu.close_pty()
