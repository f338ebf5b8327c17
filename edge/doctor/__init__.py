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
import pwd
from collections.abc import Callable
from pathlib import Path
from typing import IO

from edge.clock import kernel_synchronised
from edge.doctor.devices import check_bms, check_broker, check_inverter
from edge.doctor.host import (
    check_clock,
    check_database,
    check_disk,
    check_gpio,
    check_port,
    check_site,
)
from edge.doctor.report import Check, Level, exit_status, skipped, table
from edge.errors import ConfigError
from edge.state_db import lock_site

__all__ = [
    "Check",
    "Level",
    "check_clock",
    "check_database",
    "check_disk",
    "exit_status",
    "main",
    "run_checks",
    "table",
]


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
        rows.append(skipped("devices", f"not asked: {exc}"[:200]))
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
