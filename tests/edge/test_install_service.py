"""`edge install-service --root DIR`: the files a Pi gets, laid out in a folder (no system
command runs there; each is listed as skipped). The unit is checked by systemd's own
`systemd-analyze verify`; upgrades keep the site file and the state; uninstall leaves
them."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import load_config, require_devices
from edge.install_service import (
    ADAPTERS,
    CONFIG,
    RULES,
    STATE_DIR,
    UNIT,
    UNIT_DIR,
    Installer,
    InstallError,
    name_rule,
    parse_udev_properties,
    render_unit,
    udev_rules,
)

# `udevadm info --query=property --name=/dev/ttyUSB0` for an FTDI FT232R adapter on a
# Raspberry Pi 4, and for a CH340 (which has no serial number), as udev prints them.
FTDI = """DEVPATH=/devices/platform/scb/fd500000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0\
/usb1/1-1/1-1.3/1-1.3:1.0/ttyUSB0/tty/ttyUSB0
DEVNAME=/dev/ttyUSB0
MAJOR=188
MINOR=0
SUBSYSTEM=tty
ID_BUS=usb
ID_VENDOR_ID=0403
ID_MODEL_ID=6001
ID_VENDOR=FTDI
ID_MODEL=FT232R_USB_UART
ID_SERIAL=FTDI_FT232R_USB_UART_A10KXYZ1
ID_SERIAL_SHORT=A10KXYZ1
ID_USB_INTERFACE_NUM=00
ID_USB_DRIVER=ftdi_sio
ID_PATH=platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0
"""
CH340 = """DEVNAME=/dev/ttyUSB1
SUBSYSTEM=tty
ID_BUS=usb
ID_VENDOR_ID=1a86
ID_MODEL_ID=7523
ID_SERIAL=1a86_USB_Serial
ID_USB_INTERFACE_NUM=00
ID_USB_DRIVER=ch341
ID_PATH=platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.4:1.0
"""
PROPS = {"/dev/ttyUSB0": parse_udev_properties(FTDI), "/dev/ttyUSB1": parse_udev_properties(CH340)}
# udev(7): a rule is KEY[{attr}] OP "value" pairs separated by commas.
UDEV_PAIR = re.compile(r'^[A-Z_]+(\{[A-Za-z_]+\})?(==|!=|\+=|=|:=)"[^"]*"$')


def lay_out(root: Path, lines: list[str], named: dict[str, str] | None = None) -> None:
    Installer(root, say=lines.append, props_of=PROPS.__getitem__).install(named)


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )


def test_the_layout_and_the_unit_passes_systemd_analyze_verify(tmp_path: Path):
    lines: list[str] = []
    lay_out(tmp_path, lines)
    unit = tmp_path / UNIT_DIR / UNIT
    for path in (tmp_path / CONFIG, unit, tmp_path / RULES):
        assert path.is_file(), path
    assert (tmp_path / STATE_DIR).is_dir()
    assert (tmp_path / CONFIG).stat().st_mode & 0o777 == 0o640
    text = unit.read_text()
    assert f"ExecStart={sys.executable} -m edge run --quiet --config /etc/edge/site.toml" in text
    for key in ("Type=notify", "WatchdogSec=30", "Restart=on-failure", "User=edge"):
        assert f"\n{key}\n" in text
    # systemd's own check: exit 0 and not a word of warning (an unknown key, a missing
    # executable, a bad value all print one).
    result = verify(unit)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert any(line == "skipped (--root): systemctl enable edge.service" for line in lines)
    assert any(
        line.startswith("skipped (--root): the user edge in dialout, gpio") for line in lines
    )


def test_the_verify_check_is_not_blind(tmp_path: Path):
    bad = tmp_path / "edge.service"
    bad.write_text(render_unit(sys.executable).replace("WatchdogSec=", "WatchdogSex="))
    assert "Unknown key 'WatchdogSex'" in verify(bad).stderr
    missing = tmp_path / "edge2.service"
    missing.write_text(render_unit("/nonexistent/python"))
    assert verify(missing).returncode != 0


def test_the_hardening_scores_ok_in_systemd_analyze_security(tmp_path: Path):
    unit = tmp_path / "edge.service"
    unit.write_text(render_unit(sys.executable))
    out = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    level = re.search(r"Overall exposure level for edge.service: (\d+\.\d+)", out)
    assert level is not None, out
    print(f"systemd-analyze security: exposure {level.group(1)} (0 safest, 10 unprotected)")
    assert float(level.group(1)) <= 3.0  # "OK" or better; the serial lines stay open
    for kept in ("DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-gpiochip rw"):
        assert kept in unit.read_text()
    assert "PrivateDevices=yes" not in unit.read_text()  # it would hide /dev/ttyUSB*


def test_the_installed_site_file_is_valid_and_names_the_stable_devices(tmp_path: Path):
    lay_out(tmp_path, [])
    cfg = load_config(tmp_path / CONFIG)
    require_devices(cfg, tmp_path / CONFIG)
    assert cfg.inverter.port == "/dev/edge-inverter"
    assert cfg.site.state_db == "/var/lib/edge/state.sqlite"
    assert cfg.site.api_socket == "/run/edge/api.sock"


def test_an_upgrade_keeps_the_site_file_and_the_state(tmp_path: Path):
    lay_out(tmp_path, [])
    site = tmp_path / CONFIG
    site.write_text(site.read_text().replace('name = "My house"', 'name = "Ours"'))
    db = sqlite3.connect(tmp_path / STATE_DIR / "state.sqlite")
    db.execute("CREATE TABLE kept (v)")
    db.execute("INSERT INTO kept VALUES (42)")
    db.commit()
    db.close()
    (tmp_path / UNIT_DIR / UNIT).write_text("an old unit")
    lines: list[str] = []
    lay_out(tmp_path, lines)
    assert 'name = "Ours"' in site.read_text()
    assert f"kept: {site} (never overwritten)" in lines
    db = sqlite3.connect(tmp_path / STATE_DIR / "state.sqlite")
    assert db.execute("SELECT v FROM kept").fetchall() == [(42,)]
    db.close()
    assert "Type=notify" in (tmp_path / UNIT_DIR / UNIT).read_text()  # the unit is ours


def test_uninstall_removes_the_unit_and_rules_and_leaves_config_and_state(tmp_path: Path):
    lay_out(tmp_path, [])
    (tmp_path / STATE_DIR / "state.sqlite").write_bytes(b"x")
    lines: list[str] = []
    Installer(tmp_path, say=lines.append).uninstall()
    assert not (tmp_path / UNIT_DIR / UNIT).exists()
    assert not (tmp_path / RULES).exists()
    assert (tmp_path / CONFIG).is_file()
    assert (tmp_path / STATE_DIR / "state.sqlite").read_bytes() == b"x"
    assert "skipped (--root): systemctl disable --now edge.service" in lines


def test_stable_names_by_serial_number_or_by_usb_port(tmp_path: Path):
    lay_out(tmp_path, [], {"edge-inverter": "/dev/ttyUSB0", "edge-bms": "/dev/ttyUSB1"})
    rules = (tmp_path / RULES).read_text()
    assert (
        'SUBSYSTEM=="tty", ENV{ID_VENDOR_ID}=="0403", ENV{ID_MODEL_ID}=="6001",'
        ' ENV{ID_SERIAL_SHORT}=="A10KXYZ1", ENV{ID_USB_INTERFACE_NUM}=="00",'
        ' SYMLINK+="edge-inverter"' in rules
    )
    assert (
        'ENV{ID_PATH}=="platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.4:1.0",'
        ' ENV{ID_USB_INTERFACE_NUM}=="00", SYMLINK+="edge-bms"' in rules
    )
    assert "# /dev/edge-bms: by the USB port it is in (it has no serial number)" in rules
    # Every line is a comment, blank, or udev(7) KEY OP "value" pairs.
    for line in rules.splitlines():
        if line and not line.startswith("#"):
            pairs = line.split(", ")
            assert all(UDEV_PAIR.match(p) for p in pairs), line
    assert len([li for li in rules.splitlines() if 'GROUP="dialout"' in li]) == len(ADAPTERS)


def test_an_upgrade_without_device_options_keeps_the_names(tmp_path: Path):
    lay_out(tmp_path, [], {"edge-inverter": "/dev/ttyUSB0", "edge-bms": "/dev/ttyUSB1"})
    first = (tmp_path / RULES).read_text()
    lines: list[str] = []
    lay_out(tmp_path, lines)  # an upgrade: no --inverter, no --bms
    assert (tmp_path / RULES).read_text() == first
    assert f"wrote: {tmp_path / RULES} (names edge-bms, edge-inverter)" in lines
    # A new adapter for the BMS: that name moves, the inverter's stays.
    new = {"/dev/ttyUSB2": {**parse_udev_properties(FTDI), "ID_SERIAL_SHORT": "B20NEW"}}
    Installer(tmp_path, say=lines.append, props_of=new.__getitem__).install(
        {"edge-bms": "/dev/ttyUSB2"}
    )
    rules = (tmp_path / RULES).read_text()
    assert (
        'ENV{ID_SERIAL_SHORT}=="B20NEW", ENV{ID_USB_INTERFACE_NUM}=="00", SYMLINK+="edge-bms"'
        in rules
    )
    assert (
        'ENV{ID_SERIAL_SHORT}=="A10KXYZ1", ENV{ID_USB_INTERFACE_NUM}=="00",'
        ' SYMLINK+="edge-inverter"' in rules
    )
    assert rules.count('SYMLINK+="edge-bms"') == 1 and "usb-0:1.4:1.0" not in rules


def test_a_device_that_is_not_a_usb_adapter_is_named_as_such():
    with pytest.raises(InstallError, match="edge-inverter: the device is not a USB serial"):
        name_rule("edge-inverter", {"DEVNAME": "/dev/ttyAMA0", "SUBSYSTEM": "tty"})
    with pytest.raises(InstallError, match="a quote"):
        udev_rules({"edge-bms": {**parse_udev_properties(FTDI), "ID_SERIAL_SHORT": 'a"b'}})


def test_a_device_that_is_not_there_stops_the_install_before_any_file(tmp_path: Path):
    def props_of(device: str) -> dict[str, str]:
        raise InstallError(f"{device}: udevadm knows no such device")

    with pytest.raises(InstallError, match="/dev/ttyUSB7: udevadm knows no such device"):
        Installer(tmp_path, say=lambda _l: None, props_of=props_of).install(
            {"edge-inverter": "/dev/ttyUSB7"}
        )
    assert list(tmp_path.iterdir()) == []


def test_a_venv_under_home_is_refused_before_anything_is_written(tmp_path: Path):
    installer = Installer(Path("/"), say=lambda _l: None, python="/home/pi/venv/bin/python")
    with pytest.raises(InstallError, match="ProtectHome=yes"):
        installer.install()


def test_the_command_line(tmp_path: Path):
    root = tmp_path / "root"
    r = subprocess.run(
        [sys.executable, "-m", "edge", "install-service", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert f"wrote: {root / CONFIG}" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "edge", "install-service", "--root", str(root), "--uninstall"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and f"removed: {root / UNIT_DIR / UNIT}" in r.stdout
    assert shutil.which("systemd-analyze")


def test_the_command_line_names_a_device_udev_cannot_find(tmp_path: Path):
    r = subprocess.run(
        [
            *(sys.executable, "-m", "edge", "install-service", "--root", str(tmp_path)),
            *("--inverter", "/dev/ttyUSB97"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    # Without udev installed, or with it and no such device: one line either way.
    assert r.stderr.startswith("edge: /dev/ttyUSB97: udevadm "), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []
