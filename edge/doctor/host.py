"""The doctor's checks of the Pi itself: the site file, the device files and who may open
them, the clock, free disk, the state database and the GPIO chips."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

from edge.clock import kernel_synchronised
from edge.config import EdgeConfig, load_config, require_devices
from edge.doctor.report import Check, Level, passed, skipped
from edge.errors import ConfigError
from edge.state_db import SCHEMA_VERSION

MIN_FREE_MB = 50.0  # below this the outbox, budgets and totals stop being written


# ---- the site file ------------------------------------------------------------------
def check_site(path: Path) -> tuple[Check, EdgeConfig | None]:
    name = "site file"
    try:
        cfg = load_config(path)
        require_devices(cfg, path)
    except ConfigError as exc:
        fix = (
            f"edit {path} (every key: edge menu, docs/)"
            if path.exists()
            else "`sudo edge install-service` writes one from the template, or give --config"
        )
        return Check(name, Level.FAIL, str(exc), fix), None
    return passed(name, f"{path}: valid"), cfg


# ---- serial ports ---------------------------------------------------------------------
_USB_FIX = (
    "plug the adapter in and look at `ls -l /dev/serial/by-id/`; name it with"
    " `sudo edge install-service --{flag} /dev/ttyUSBn`"
)
# What to do about a device file that is not there, by the site file's key.
MISSING_FIX = {
    "inverter.port": _USB_FIX.format(flag="inverter"),
    "battery.bms_port": _USB_FIX.format(flag="bms"),
    "dab.port": "the DAB board is on the Pi's UART: enable it (raspi-config, Interface"
    " options, Serial port: no login shell, hardware on) and use /dev/serial0",
    "loads.diverter.gpio_chip": "`ls /dev/gpiochip*` lists the chips (gpioinfo their lines)",
    "loads.heat_pump.gpio_chip": "`ls /dev/gpiochip*` lists the chips (gpioinfo their lines)",
}


def _may_read_write(st: os.stat_result, user: str | None) -> bool:
    if user is None:
        return True  # checked with os.access by the caller
    pw = pwd.getpwnam(user)
    if pw.pw_uid == 0:
        return True
    mode = st.st_mode
    if st.st_uid == pw.pw_uid:
        return bool(mode & stat.S_IRUSR and mode & stat.S_IWUSR)
    if st.st_gid in os.getgrouplist(user, pw.pw_gid):
        return bool(mode & stat.S_IRGRP and mode & stat.S_IWGRP)
    return bool(mode & stat.S_IROTH and mode & stat.S_IWOTH)


def check_port(key: str, port: str, user: str | None) -> Check:
    """key: the site file's key (inverter.port); user: the service's user, or None for
    whoever runs the doctor."""
    name = f"port {key}"
    if port.startswith("tcp://"):
        return skipped(name, f"{port}: a network gateway; the device check reaches it")
    try:
        st = os.stat(port)
    except OSError as exc:
        return Check(
            name, Level.FAIL, f"{port}: {exc.strerror}", MISSING_FIX.get(key, f"correct {key}")
        )
    if not stat.S_ISCHR(st.st_mode):
        return Check(name, Level.FAIL, f"{port}: not a character device", f"correct {key}")
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    who = user or pwd.getpwuid(os.geteuid()).pw_name
    ok = _may_read_write(st, user) if user else os.access(port, os.R_OK | os.W_OK)
    if not ok:
        return Check(
            name,
            Level.FAIL,
            f"{port}: {stat.filemode(st.st_mode)} group {group}: {who} cannot read and write",
            f"sudo usermod -aG {group} {who} (the service's unit has dialout and gpio),"
            " or the udev rule of `edge install-service` for the group",
        )
    return passed(name, f"{port}: {who} may read and write (group {group})")


# ---- the Pi: clock, disk, database, GPIO ---------------------------------------------
def check_clock(synchronised: Callable[[], bool | None] = kernel_synchronised) -> Check:
    name = "clock"
    state = synchronised()
    if state is None:
        return skipped(name, "the NTP status cannot be read here (no adjtimex)")
    if state:
        return passed(name, "synchronised (NTP)")
    return Check(
        name,
        Level.WARN,
        "not synchronised: the times of day and the daily budgets may be off",
        "sudo timedatectl set-ntp true; `timedatectl timesync-status` shows the server",
    )


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(cfg: EdgeConfig, free_bytes: Callable[[Path], int] | None = None) -> Check:
    db = cfg.site.state_db
    name = "free disk"
    if db == ":memory:":
        return skipped(name, "site.state_db = :memory:")
    folder = _existing_parent(Path(db).expanduser().parent)
    free_mb = (free_bytes(folder) if free_bytes else shutil.disk_usage(folder).free) / 2**20
    need_mb = cfg.mqtt.outbox_max_mb + 100.0
    found = f"{free_mb:.0f} MB free under {folder}"
    if free_mb < MIN_FREE_MB:
        return Check(
            name,
            Level.FAIL,
            found,
            f"free space (at least {MIN_FREE_MB:.0f} MB): `sudo journalctl --vacuum-size=100M`,"
            " `sudo apt clean`",
        )
    if free_mb < need_mb:
        return Check(
            name,
            Level.WARN,
            found + f"; the outbox may take {cfg.mqtt.outbox_max_mb:.0f} MB",
            "free space, or lower mqtt.outbox_max_mb",
        )
    return passed(name, found)


def check_database(cfg: EdgeConfig) -> Check:
    db = cfg.site.state_db
    name = "state database"
    if db == ":memory:":
        return skipped(name, "site.state_db = :memory:")
    path = Path(db).expanduser()
    if not path.exists():
        return passed(name, f"{path}: not made yet (the first run makes it)")
    fix = (
        f"stop edge, keep a copy, then `sqlite3 {path} .recover | sqlite3 {path}.new` and move"
        " it into place (or move the file away: budgets and totals start again)"
    )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            result = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check(name, Level.FAIL, f"{path}: {exc}", fix)
    if result != ["ok"]:
        return Check(name, Level.FAIL, f"{path}: " + "; ".join(result)[:200], fix)
    if version > SCHEMA_VERSION:
        return Check(
            name,
            Level.FAIL,
            f"{path}: schema {version} is from a newer edge (this one knows {SCHEMA_VERSION})",
            "install the newer edge again",
        )
    return passed(name, f"{path}: integrity ok, schema {version}")


def gpio_uses(cfg: EdgeConfig) -> list[tuple[str, str, list[int]]]:
    """(key, chip, lines) for each GPIO output the site file configures."""
    uses = []
    d, hp = cfg.loads.diverter, cfg.loads.heat_pump
    if d.enabled and d.output == "burst_fire_gpio":
        uses.append(("loads.diverter", d.gpio_chip, [d.gpio_line]))
    if hp.enabled and hp.relays == "gpio":
        uses.append(("loads.heat_pump", hp.gpio_chip, [hp.relay1_line, hp.relay2_line]))
    return uses


def check_gpio(cfg: EdgeConfig, user: str | None) -> list[Check]:
    rows = []
    for key, chip, lines in gpio_uses(cfg):
        port = check_port(f"{key}.gpio_chip", chip, user)
        if port.level is not Level.PASS:
            rows.append(port)
            continue
        name = f"GPIO {key}"
        try:
            import gpiod
        except ImportError:
            rows.append(
                Check(name, Level.FAIL, "libgpiod's Python binding is missing", "pip install gpiod")
            )
            continue
        try:
            with gpiod.Chip(chip) as c:
                count = int(c.get_info().num_lines)
        except OSError as exc:
            rows.append(Check(name, Level.FAIL, f"{chip}: {exc}", "check the chip's path"))
            continue
        missing = [n for n in lines if n >= count]
        if missing:
            rows.append(
                Check(
                    name,
                    Level.FAIL,
                    f"{chip} has {count} lines; no line {missing}",
                    f"correct the line numbers in [{key}] (gpioinfo lists them)",
                )
            )
        else:
            rows.append(passed(name, f"{chip}: lines {lines} of {count}"))
    return rows
