"""`edge doctor`: check what goes wrong in a real install, and say how to fix each.

One row a check: pass, skip (not applicable, or cannot be known here), warn or fail, what
was found, and the fix. The exit status is the worst row's: 0 pass or skip, 1 warn,
2 fail.

The devices are only read: the inverter's serial number and live block, the BMS's serial
number and limits. The one exception is asked for by name: `--probe-passive` sends the
ME3000SP the self-use command (0x42, cmd 0x0103) that `edge run` sends at every exit, as
that inverter shows its work mode only by refusing a passive command ("invalid work
mode") while passive mode is not selected on its LCD.

While `edge run` holds the site's lock (edge/state_db.py) it owns the RS485 lines: the
device checks are skipped then, not run beside it on a shared half-duplex bus. While the
doctor runs it holds the lock itself, so a service starting meanwhile waits its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import grp
import os
import pwd
import shutil
import sqlite3
import ssl
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edge.clock import ScaledClock, kernel_synchronised
from edge.config import EdgeConfig, load_config, require_devices
from edge.core.model import InverterCommand, InverterMode
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.g3_driver import SofarG3Driver
from edge.errors import ConfigError
from edge.state_db import SCHEMA_VERSION, lock_site

DEVICE_TIMEOUT_S = 10.0
BROKER_TIMEOUT_S = 5.0
MIN_FREE_MB = 50.0  # below this the outbox, budgets and totals stop being written
FIX_WIDTH = 100


class Level(enum.IntEnum):
    """The exit status a row asks for (a skip is a PASS with Check.skipped)."""

    PASS = 0
    WARN = 1
    FAIL = 2


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    found: str
    fix: str = ""
    skipped: bool = False

    @property
    def word(self) -> str:
        return "skip" if self.skipped else self.level.name.lower()


def _pass(name: str, found: str) -> Check:
    return Check(name, Level.PASS, found)


def _skip(name: str, why: str, fix: str = "") -> Check:
    return Check(name, Level.PASS, why, fix, skipped=True)


def exit_status(checks: list[Check]) -> int:
    return max((int(c.level) for c in checks), default=0)


def table(checks: list[Check]) -> str:
    """A plain-text table: the journal and a pasted issue keep it aligned."""
    w = max((len(c.name) for c in checks), default=5)
    lines = [f"{'check':<{w}}  result  found / fix", f"{'-' * w}  ------  {'-' * 11}"]
    for c in checks:
        lines.append(f"{c.name:<{w}}  {c.word:<6}  {c.found}")
        if c.fix:
            lines.append(f"{'':<{w}}          fix: {c.fix}")
    worst = exit_status(checks)
    counts = {
        word: sum(c.word == word for c in checks) for word in ("pass", "skip", "warn", "fail")
    }
    lines.append(
        ", ".join(f"{n} {word}" for word, n in counts.items() if n) + f"; exit status {worst}"
    )
    return "\n".join(lines)


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
    return _pass(name, f"{path}: valid"), cfg


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
        return _skip(name, f"{port}: a network gateway; the device check reaches it")
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
    return _pass(name, f"{port}: {who} may read and write (group {group})")


# ---- the devices (read-only) ---------------------------------------------------------
async def check_inverter(cfg: EdgeConfig, probe_passive: bool) -> list[Check]:
    clock = ScaledClock()
    family = SofarG3Driver if cfg.inverter.family == "sofar_hyd_ep" else SofarDriver
    driver = family(cfg.inverter, clock)
    name = f"inverter at {cfg.inverter.port}"
    fix = (
        "check A/B wiring and the 120 ohm termination, inverter.baud and inverter.slave_id"
        " (edge menu's commissioning scans for them)"
    )
    try:
        # The driver's own connect (with its retries), then two reads; not its poll, which
        # sends the heartbeat (0x49).
        await asyncio.wait_for(driver._connect(), DEVICE_TIMEOUT_S)
        await asyncio.wait_for(driver.identify(), DEVICE_TIMEOUT_S)
        live = await asyncio.wait_for(driver.read_live(), DEVICE_TIMEOUT_S)
    except Exception as exc:  # any failure is the finding: the row says which
        driver.close_link()
        why = str(exc) or (driver.status if driver.status != "connecting" else type(exc).__name__)
        return [Check(name, Level.FAIL, f"no answer: {why}"[:200], fix)]
    rows = [
        _pass(
            name, f"serial {driver.serial}, {live.running_state}, SOC {live.battery_soc_pct:.0f} %"
        )
    ]
    rows.append(await _passive(driver, probe_passive))
    driver.close_link()
    return rows


async def _passive(driver: SofarDriver, probe: bool) -> Check:
    name = "inverter passive mode"
    if isinstance(driver, SofarG3Driver):
        return _skip(name, "HYD-EP: edge selects passive mode itself (register 0x1110)")
    if not probe:
        return _skip(
            name,
            "ME3000SP: its registers do not show the work mode",
            "`edge doctor --probe-passive` asks with the self-use command edge sends at exit",
        )
    try:
        _sent, refused = await asyncio.wait_for(
            driver.send(InverterCommand(InverterMode.SELF_USE)), DEVICE_TIMEOUT_S
        )
    except Exception as exc:
        return Check(name, Level.FAIL, f"no answer to 0x42: {exc}"[:200], "see the inverter row")
    if refused is None:
        return _pass(name, "enabled: the self-use command was accepted")
    if "invalid_work_mode" in refused:
        return Check(
            name,
            Level.FAIL,
            f"not selected: {refused}",
            "on the inverter's LCD select passive mode (energy storage mode: passive)",
        )
    return Check(name, Level.WARN, f"refused: {refused}", "see docs/reference/sofar-modbus.md")


async def check_bms(cfg: EdgeConfig) -> Check:
    port = cfg.battery.bms_port
    assert port is not None
    bms = PylontechDriver(port, cfg.battery.bms_modules, ScaledClock(), baud=cfg.battery.bms_baud)
    name = f"BMS at {port}"
    # Its poll only reads (serial number, charge management, analog values, alarms).
    task = asyncio.create_task(bms.run())
    try:
        deadline = asyncio.get_running_loop().time() + DEVICE_TIMEOUT_S
        while bms.sample(0.0) is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        bms.close()
    if bms.sample(0.0) is None:
        return Check(
            name,
            Level.FAIL,
            f"no answer: {bms.status}"[:200],
            "check the RS485 pair on the master module's RS485 port, battery.bms_baud (DIP"
            " switch 1) and battery.bms_modules",
        )
    s = bms.sample(0.0)
    limits = ""
    if s is not None:
        v = s.value
        limits = f", limits {v.charge_limit_a:.0f} A charge, {v.discharge_limit_a:.0f} A discharge"
    return _pass(name, f"master module {bms.serial}{limits}")


# ---- the broker -------------------------------------------------------------------------
def check_broker(cfg: EdgeConfig) -> Check:
    from edge.mqtt.client import diagnose, make_client

    m = cfg.mqtt
    name = f"broker {m.host}:{m.port}"
    if not m.enabled:
        return _skip(name, "mqtt.enabled = false")
    try:
        client = make_client(m, client_id=f"edge-doctor-{os.getpid()}")
    except ConfigError as exc:
        return Check(name, Level.FAIL, str(exc), "correct the files in [mqtt]")
    answer: list[str] = []
    done = threading.Event()

    def on_connect(_c: object, _u: object, _f: object, rc: object, _p: object = None) -> None:
        answer.append(str(rc))
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(m.host, m.port, keepalive=10)
    except (OSError, ssl.SSLError) as exc:
        return Check(name, Level.FAIL, f"{diagnose(m)} ({exc})"[:200], _broker_fix(m.tls))
    client.loop_start()
    try:
        if not done.wait(BROKER_TIMEOUT_S):
            return Check(name, Level.FAIL, diagnose(m), _broker_fix(m.tls))
    finally:
        client.disconnect()
        client.loop_stop()
    if answer[0] != "Success":
        refused = answer[0]
        who = f"user {m.username!r}" if m.username else "no user name"
        return Check(
            name,
            Level.FAIL,
            f"refused: {refused} ({who})",
            "set mqtt.username and mqtt.password to a broker user (Home Assistant: the"
            " Mosquitto add-on's logins, or a Home Assistant user)",
        )
    how = "TLS" if m.tls else "plain TCP"
    return _pass(name, f"connected over {how}" + (f" as {m.username}" if m.username else ""))


def _broker_fix(tls: bool) -> str:
    if tls:
        return (
            "check mqtt.port (8883 for TLS) and mqtt.ca_file (the CA of the broker's certificate)"
        )
    return "check mqtt.host and mqtt.port, and that the broker runs (mosquitto on 1883)"


# ---- the Pi: clock, disk, database, GPIO ---------------------------------------------
def check_clock(synchronised: Callable[[], bool | None] = kernel_synchronised) -> Check:
    name = "clock"
    state = synchronised()
    if state is None:
        return _skip(name, "the NTP status cannot be read here (no adjtimex)")
    if state:
        return _pass(name, "synchronised (NTP)")
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
        return _skip(name, "site.state_db = :memory:")
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
    return _pass(name, found)


def check_database(cfg: EdgeConfig) -> Check:
    db = cfg.site.state_db
    name = "state database"
    if db == ":memory:":
        return _skip(name, "site.state_db = :memory:")
    path = Path(db).expanduser()
    if not path.exists():
        return _pass(name, f"{path}: not made yet (the first run makes it)")
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
    return _pass(name, f"{path}: integrity ok, schema {version}")


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
            rows.append(_pass(name, f"{chip}: lines {lines} of {count}"))
    return rows


# ---- all of it ----------------------------------------------------------------------
def _service_user(requested: str | None) -> str | None:
    """The user the ports are checked for: the one asked for, else `edge` when it exists
    (the service's), else None (whoever runs the doctor)."""
    if requested:
        pwd.getpwnam(requested)  # KeyError for an unknown user: the caller says so
        return requested
    with contextlib.suppress(KeyError):
        return pwd.getpwnam("edge").pw_name
    return None


async def run_checks(
    config_path: Path,
    user: str | None = None,
    probe_passive: bool = False,
    synchronised: Callable[[], bool | None] = kernel_synchronised,
) -> list[Check]:
    site, cfg = check_site(config_path)
    rows = [site]
    if cfg is None:
        return rows
    try:
        who = _service_user(user)
    except KeyError:
        return [
            *rows,
            Check("user", Level.FAIL, f"no user {user!r}", "give --user an existing user"),
        ]
    ports = [("inverter.port", cfg.inverter.port)]
    if cfg.battery.bms_port is not None:
        ports.append(("battery.bms_port", cfg.battery.bms_port))
    if cfg.dab.enabled:
        ports.append(("dab.port", cfg.dab.port))
    rows += [check_port(key, port, who) for key, port in ports]
    held: IO[str] | None = None
    db = cfg.site.state_db
    lock = Path(db).expanduser().with_name(Path(db).name + ".lock")
    try:
        # Only a lock a supervisor made: one made here, as root, would lock the service out.
        held = lock_site(db) if db != ":memory:" and lock.exists() else None
    except ConfigError as exc:
        rows.append(_skip("devices", f"not asked: {exc}"[:200]))
    else:
        rows += await check_inverter(cfg, probe_passive)
        if cfg.battery.bms_port is not None:
            rows.append(await check_bms(cfg))
    finally:
        if held is not None:
            held.close()
    rows.append(await asyncio.to_thread(check_broker, cfg))
    rows.append(check_clock(synchronised))
    rows.append(check_disk(cfg))
    rows.append(check_database(cfg))
    rows += check_gpio(cfg, who)
    return rows


async def main(config_path: Path, user: str | None, probe_passive: bool) -> int:
    checks = await run_checks(config_path, user, probe_passive)
    print(table(checks), flush=True)
    return exit_status(checks)
