"""`edge install-service`: lay edge out on a Raspberry Pi the way a service lives there.

- /etc/edge/site.toml from edge/service/site.toml when there is none (never overwritten);
- /var/lib/edge/ for the state database (kept, with its rows, across upgrades);
- /etc/systemd/system/edge.service: edge/service/edge.service with ExecStart= this
  interpreter's `-m edge run`;
- /etc/udev/rules.d/70-edge-serial.rules: the known USB-RS485 adapters in group dialout,
  the GPIO chips in group gpio, and the stable names /dev/edge-inverter and /dev/edge-bms
  for the adapters named with --inverter and --bms;
- the system user `edge` in the groups dialout and gpio (gpio made if missing: the unit's
  SupplementaryGroups= fails without it).

`--uninstall` removes the unit and the udev rules and leaves the site file, the state and
the user. `--root DIR` lays the files out under DIR and runs no system command (each is
printed as skipped): for tests, and to look before installing.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from edge.errors import EdgeError

UNIT = "edge.service"
UNIT_DIR = Path("etc/systemd/system")
RULES = Path("etc/udev/rules.d/70-edge-serial.rules")
CONFIG = Path("etc/edge/site.toml")
STATE_DIR = Path("var/lib/edge")
USER = "edge"
GROUPS = ("dialout", "gpio")
TEMPLATE_EXEC = "/opt/edge/bin/edge"


@dataclass(frozen=True)
class Adapter:
    vendor_id: str
    model_id: str
    chip: str


# Common USB-RS485 adapters by USB id, from the Linux kernel's id tables:
# drivers/usb/serial/ftdi_sio_ids.h (FTDI), ch341.c (WCH CH340/CH341), cp210x.c (Silicon
# Labs); the WCH CH343 and CH9102 present themselves as USB CDC-ACM (cdc_acm, ttyACM*).
ADAPTERS: tuple[Adapter, ...] = (
    Adapter("0403", "6001", "FTDI FT232R"),
    Adapter("0403", "6010", "FTDI FT2232"),
    Adapter("0403", "6011", "FTDI FT4232"),
    Adapter("0403", "6014", "FTDI FT232H"),
    Adapter("0403", "6015", "FTDI FT230X/FT231X"),
    Adapter("1a86", "7523", "WCH CH340"),
    Adapter("1a86", "5523", "WCH CH341"),
    Adapter("1a86", "55d3", "WCH CH343"),
    Adapter("1a86", "55d4", "WCH CH9102"),
    Adapter("10c4", "ea60", "Silicon Labs CP2102/CP2104"),
    Adapter("10c4", "ea70", "Silicon Labs CP2105"),
)


class InstallError(EdgeError):
    """Something the installer cannot do; the message says what to do instead."""


def parse_udev_properties(text: str) -> dict[str, str]:
    """`udevadm info --query=property --name DEV`: KEY=value lines."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            props[key.strip()] = value.strip()
    return props


def _quoted(value: str) -> str:
    if any(c in value for c in '"\\\n'):
        raise InstallError(f"udev property {value!r}: a quote, backslash or newline in it")
    return value


def name_rule(name: str, props: dict[str, str]) -> str:
    """The rule that gives one adapter the name /dev/<name>: by its vendor, model and
    serial number when it has one (the name follows the adapter), else by the USB port
    it is plugged into (ID_PATH: the name follows the port)."""
    vendor, model = props.get("ID_VENDOR_ID"), props.get("ID_MODEL_ID")
    if not vendor or not model:
        raise InstallError(f"/dev/{name}: the device is not a USB serial adapter (no USB ids)")
    match = [
        'SUBSYSTEM=="tty"',
        f'ENV{{ID_VENDOR_ID}}=="{_quoted(vendor)}"',
        f'ENV{{ID_MODEL_ID}}=="{_quoted(model)}"',
    ]
    serial = props.get("ID_SERIAL_SHORT")
    if serial:
        match.append(f'ENV{{ID_SERIAL_SHORT}}=="{_quoted(serial)}"')
    elif props.get("ID_PATH"):
        match.append(f'ENV{{ID_PATH}}=="{_quoted(props["ID_PATH"])}"')
    else:
        raise InstallError(f"/dev/{name}: the adapter has neither a serial number nor a USB path")
    if props.get("ID_USB_INTERFACE_NUM"):  # one port of a multi-port chip (FT2232, FT4232)
        match.append(f'ENV{{ID_USB_INTERFACE_NUM}}=="{_quoted(props["ID_USB_INTERFACE_NUM"])}"')
    how = "its serial number" if serial else "the USB port it is in (it has no serial number)"
    return f"# /dev/{name}: by {how}\n" + ", ".join([*match, f'SYMLINK+="{name}"']) + "\n"


def kept_names(old_rules: str) -> dict[str, str]:
    """The name rules of an earlier rules file, {"edge-inverter": its comment and rule},
    so a run without --inverter or --bms (an upgrade) keeps the names it gave."""
    kept: dict[str, str] = {}
    lines = old_rules.splitlines()
    for comment, rule in itertools.pairwise(lines):
        m = re.fullmatch(r"# /dev/(edge-[a-z]+): by .*", comment)
        if m and rule.endswith(f'SYMLINK+="{m.group(1)}"'):
            kept[m.group(1)] = f"{comment}\n{rule}\n"
    return kept


def udev_rules(named: dict[str, dict[str, str]], kept: dict[str, str] | None = None) -> str:
    """The rules file: named is {"edge-inverter": the adapter's udev properties, ...};
    kept: name rules of an earlier file (kept_names), for the names not in `named`."""
    lines = [
        "# Written by `edge install-service`; removed by `edge install-service --uninstall`.",
        "# Runs after 60-serial.rules, which sets the ENV{ID_*} keys matched here.",
        "# USB-RS485 adapters (ids: the Linux kernel's ftdi_sio, ch341, cp210x tables):",
        "# group dialout, read and write for the group.",
    ]
    for a in ADAPTERS:  # udev(7) has no comment at the end of a rule: one line above
        lines.append(f"# {a.chip}")
        lines.append(
            f'SUBSYSTEM=="tty", ENV{{ID_VENDOR_ID}}=="{a.vendor_id}",'
            f' ENV{{ID_MODEL_ID}}=="{a.model_id}", GROUP="dialout", MODE="0660"'
        )
    lines += [
        "# GPIO character devices (the diverter's SSR, the SG-Ready relays): group gpio.",
        'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"',
        "",
        "# Stable names for the adapters edge drives (edge install-service --inverter DEV",
        "# --bms DEV writes them from the adapter's own udev properties).",
    ]
    text = "\n".join(lines) + "\n"
    rules = {name: rule for name, rule in (kept or {}).items() if name not in named}
    rules.update({name: name_rule(name, props) for name, props in named.items()})
    for _name, rule in sorted(rules.items()):
        text += rule
    return text


def render_unit(python: str) -> str:
    """The packaged unit with ExecStart= running `python -m edge`."""
    template = files("edge").joinpath("service", UNIT).read_text(encoding="utf-8")
    line = f"ExecStart={TEMPLATE_EXEC} "
    if template.count(line) != 1:
        raise InstallError(f"{UNIT}: the ExecStart= template is missing")
    return template.replace(line, f"ExecStart={python} -m edge ")


def site_template() -> str:
    return files("edge").joinpath("service", "site.toml").read_text(encoding="utf-8")


Runner = Callable[[list[str]], None]


def _run(cmd: list[str]) -> None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise InstallError(f"{cmd[0]}: not found (is this a systemd Debian system?)") from None
    except subprocess.CalledProcessError as exc:
        why = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise InstallError(
            f"{' '.join(cmd)}: exit {exc.returncode}: {why[-1] if why else ''}"
        ) from None


def _device_props(device: str) -> dict[str, str]:
    try:
        out = subprocess.run(
            ["udevadm", "info", "--query=property", f"--name={device}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except FileNotFoundError:
        raise InstallError(f"{device}: udevadm is not installed (apt install udev)") from None
    if out.returncode != 0:
        raise InstallError(f"{device}: udevadm knows no such device ({out.stderr.strip()})")
    return parse_udev_properties(out.stdout)


class Installer:
    """root: "/" for the system, else a folder to lay the files out in (no system
    command runs then). say: where each step is reported."""

    def __init__(
        self,
        root: Path,
        say: Callable[[str], None] = print,
        run: Runner = _run,
        python: str = sys.executable,
        props_of: Callable[[str], dict[str, str]] = _device_props,
    ) -> None:
        self.root = root
        self.system = root == Path("/")
        self.say, self._runner, self.python = say, run, python
        self._props_of = props_of  # a device's udev properties

    def _cmd(self, *cmd: str) -> None:
        if self.system:
            self._runner(list(cmd))
            self.say(f"ran: {' '.join(cmd)}")
        else:
            self.say(f"skipped (--root): {' '.join(cmd)}")

    def check_can_install(self) -> None:
        if not self.system:
            return
        if os.geteuid() != 0:
            raise InstallError("needs root: sudo edge install-service (or --root DIR to look)")
        if self.python.startswith(("/home/", "/root/")):
            raise InstallError(
                f"{self.python}: the service cannot see /home or /root (ProtectHome=yes);"
                " install edge in /opt/edge (docs/install.md)"
            )

    def install(self, named_devices: dict[str, str] | None = None) -> None:
        """named_devices: {"edge-inverter": "/dev/ttyUSB0", ...} to name by udev."""
        self.check_can_install()
        # Each named device is looked up first: one that is not there stops the install
        # before anything is written.
        props = {name: self._props_of(dev) for name, dev in (named_devices or {}).items()}
        self._user()
        config = self.root / CONFIG
        config.parent.mkdir(parents=True, exist_ok=True)
        if config.exists():
            self.say(f"kept: {config} (never overwritten)")
        else:
            config.write_text(site_template(), encoding="utf-8")
            config.chmod(0o640)
            self.say(f"wrote: {config} (from the template: edit it)")
        state = self.root / STATE_DIR
        existed = state.exists()
        state.mkdir(parents=True, exist_ok=True)
        state.chmod(0o750)
        self.say(f"{'kept' if existed else 'made'}: {state}")
        if self.system:
            shutil.chown(config, "root", USER)
            shutil.chown(state, USER, USER)
            shutil.chown(config.parent, "root", USER)
        unit = self.root / UNIT_DIR / UNIT
        unit.parent.mkdir(parents=True, exist_ok=True)
        unit.write_text(render_unit(self.python), encoding="utf-8")
        self.say(f"wrote: {unit}")
        rules = self.root / RULES
        rules.parent.mkdir(parents=True, exist_ok=True)
        kept = kept_names(rules.read_text(encoding="utf-8")) if rules.exists() else {}
        rules.write_text(udev_rules(props, kept), encoding="utf-8")
        names = sorted({*props, *kept})
        self.say(f"wrote: {rules}" + (f" (names {', '.join(names)})" if names else ""))
        self._cmd("udevadm", "control", "--reload-rules")
        self._cmd("udevadm", "trigger", "--subsystem-match=tty", "--subsystem-match=gpio")
        self._cmd("systemctl", "daemon-reload")
        self._cmd("systemctl", "enable", UNIT)
        self.say(
            "next: edit /etc/edge/site.toml, run `edge doctor --config /etc/edge/site.toml`,"
            " then `sudo systemctl restart edge` and `journalctl -u edge -f`"
        )

    def _user(self) -> None:
        if not self.system:
            self.say(f"skipped (--root): the user {USER} in {', '.join(GROUPS)}")
            return
        import grp
        import pwd

        for group in GROUPS:
            try:
                grp.getgrnam(group)
            except KeyError:
                self._cmd("groupadd", "--system", group)
        try:
            pwd.getpwnam(USER)
        except KeyError:
            self._cmd(
                *("useradd", "--system", "--user-group", "--no-create-home"),
                *("--home-dir", "/var/lib/edge", "--shell", "/usr/sbin/nologin", USER),
            )
        self._cmd("usermod", "--append", "--groups", ",".join(GROUPS), USER)

    def uninstall(self) -> None:
        """The unit and the udev rules go; the site file, the state and the user stay."""
        self.check_can_install()
        unit = self.root / UNIT_DIR / UNIT
        if unit.exists():
            self._cmd("systemctl", "disable", "--now", UNIT)
        for path in (unit, self.root / RULES):
            if path.exists():
                path.unlink()
                self.say(f"removed: {path}")
        self._cmd("systemctl", "daemon-reload")
        self._cmd("udevadm", "control", "--reload-rules")
        self.say(
            f"kept: {self.root / CONFIG.parent} and {self.root / STATE_DIR} (remove them by hand"
            f" to forget the site), and the user {USER}"
        )


def main(root: str | None, uninstall: bool, inverter: str | None, bms: str | None) -> int:
    installer = Installer(Path(root) if root else Path("/"))
    if uninstall:
        installer.uninstall()
        return 0
    named = {k: v for k, v in (("edge-inverter", inverter), ("edge-bms", bms)) if v}
    installer.install(named)
    return 0
