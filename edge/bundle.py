"""`edge bundle`: one .tar.gz to attach to a report.

    site.toml       the site file, every secret replaced by "REDACTED" (comments too)
    versions.json   edge, Python, pymodbus, paho-mqtt, pydantic, textual; the OS and kernel
    trace.csv       the per-minute trace of the last N hours (edge/trace_log.py)
    decisions.csv   the decisions that began in those hours
    state.json      the schema version, energy totals, write counts, known serials, the
                    requests in force, the outbox's size (not its documents)
    edge.log        the service's journal of those hours (journalctl -u edge), else the
                    tail of --log FILE, else nothing (and manifest.json says why)
    manifest.json   what is in it and when it was made

The database is opened read-only: a running service is not disturbed. A trace.csv is what
the simulated house replays (edge/sim/replay.py), so a bad day becomes a regression test.
"""

from __future__ import annotations

import csv
import io
import json
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from edge.errors import EdgeError

REDACTED = "REDACTED"
# A key whose value is a secret: password, mqtt_password, token, api_key, secret, psk.
SECRET_KEY = re.compile(r"(^|_)(pass(word|wd)?|secret|token|api_?key|psk|credentials?)$", re.I)
# The same in a commented-out line: `# password = "..."`.
SECRET_COMMENT = re.compile(
    r"^(\s*#\s*)([A-Za-z0-9_]*(?:pass(?:word|wd)?|secret|token|api_?key|psk)\s*=\s*).+$",
    re.I | re.M,
)
PACKAGES = ("edge", "pymodbus", "paho-mqtt", "pydantic", "textual", "sdnotify")
MAX_LOG_BYTES = 5 * 2**20
TRACE_COLUMNS = (
    "wall_s",
    "t_s",
    "grid_w",
    "pv_w",
    "load_w",
    "battery_w",
    "soc_pct",
    "heater_w",
    "heat_pump_w",
    "reason",
)


class BundleError(EdgeError):
    """The bundle cannot be made; the message names the file and why."""


def redact_site(text: str) -> str:
    """The site file with the value of every secret key, set or commented out, replaced."""
    text = SECRET_COMMENT.sub(lambda m: f'{m.group(1)}{m.group(2)}"{REDACTED}"', text)
    try:
        doc = tomlkit.parse(text)
    except Exception:  # not TOML: the lines that look like `key = value` are redacted
        return re.sub(
            r"^(\s*[A-Za-z0-9_]+\s*=\s*)(.+)$",
            lambda m: (
                m.group(0)
                if not SECRET_KEY.search(m.group(1).split("=")[0].strip())
                else f'{m.group(1)}"{REDACTED}"'
            ),
            text,
            flags=re.M,
        )

    def walk(table: Any) -> None:
        for key in list(table.keys()):
            value = table[key]
            if isinstance(value, Table | dict):
                walk(value)
            elif SECRET_KEY.search(str(key)) and value is not None:
                table[key] = REDACTED

    walk(doc)
    return tomlkit.dumps(doc)


def versions() -> dict[str, str]:
    out: dict[str, str] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["os"] = _os_name()
    out["kernel"] = platform.release()
    out["machine"] = platform.machine()
    return out


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def _connect_ro(db_path: Path) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise BundleError(f"{db_path}: cannot be read: {exc}") from None


def _table_csv(db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> tuple[str, int]:
    cur = db.execute(sql, args)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([d[0] for d in cur.description])
    n = 0
    for row in cur:
        w.writerow(row)
        n += 1
    return buf.getvalue(), n


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def database_parts(db_path: Path, since_wall_s: float) -> tuple[dict[str, str], dict[str, Any]]:
    """{file name: text} for trace.csv, decisions.csv and state.json, and counts for the
    manifest. A missing file or table gives empty parts, said in the manifest."""
    parts: dict[str, str] = {}
    info: dict[str, Any] = {"database": str(db_path)}
    if not db_path.exists():
        info["database_missing"] = True
        return parts, info
    db = _connect_ro(db_path)
    try:
        tables = _tables(db)
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        state: dict[str, Any] = {"schema_version": version}
        if "trace" in tables:
            cols = ", ".join(TRACE_COLUMNS)
            parts["trace.csv"], info["trace_rows"] = _table_csv(
                db, f"SELECT {cols} FROM trace WHERE wall_s >= ? ORDER BY t_s", (since_wall_s,)
            )
            parts["decisions.csv"], info["decision_rows"] = _table_csv(
                db,
                "SELECT wall_s, t_s, reason FROM decisions WHERE wall_s >= ? ORDER BY t_s",
                (since_wall_s,),
            )
        else:
            info["trace_missing"] = f"schema {version} has no trace table (edge before 0.2)"
        if "energy_totals" in tables:
            state["energy_totals_kwh"] = dict(db.execute("SELECT name, kwh FROM energy_totals"))
        if "write_counts" in tables:
            state["write_counts"] = [
                {"device": d, "day": day, "count": c}
                for d, day, c in db.execute(
                    "SELECT device, day, count FROM write_counts ORDER BY day DESC LIMIT 28"
                )
            ]
        if "identities" in tables:
            state["identities"] = dict(db.execute("SELECT device, serial FROM identities"))
        if "requests" in tables:
            row = db.execute("SELECT doc FROM requests WHERE id = 1").fetchone()
            state["requests"] = row[0] if row else None
        if "outbox" in tables:
            n, size = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
            ).fetchone()
            state["outbox"] = {"documents": n, "payload_bytes": size}
    except sqlite3.Error as exc:
        raise BundleError(f"{db_path}: cannot be read: {exc}") from None
    finally:
        db.close()
    parts["state.json"] = json.dumps(state, indent=2, sort_keys=True)
    return parts, info


def recent_log(hours: float, log_file: Path | None) -> tuple[str | None, str]:
    """(the log text or None, where it came from or why there is none)."""
    if log_file is not None:
        try:
            with open(log_file, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - MAX_LOG_BYTES))
                return f.read().decode("utf-8", "replace"), f"the tail of {log_file}"
        except OSError as exc:
            return None, f"{log_file}: {exc.strerror}"
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        return None, "no journalctl and no --log FILE"
    cmd = [journalctl, "-u", "edge", "--since", f"-{int(hours * 60)}min", "--no-pager"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"journalctl failed: {exc}"
    text = out.stdout[-MAX_LOG_BYTES:].decode("utf-8", "replace")
    if out.returncode != 0 or not text.strip() or text.startswith("-- No entries --"):
        why = out.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, "the journal has no edge lines" + (f" ({why[-1]})" if why else "")
    return text, "journalctl -u edge"


def make_bundle(
    config_path: Path,
    hours: float,
    out: Path | None = None,
    log_file: Path | None = None,
    now_s: float | None = None,
) -> Path:
    """Write the bundle and return its path (out, or edge-bundle-HOST-UTC.tar.gz here)."""
    from edge.config import load_config

    now_s = time.time() if now_s is None else now_s
    try:
        site_text = config_path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BundleError(f"{config_path}: cannot read the site file: {exc.strerror}") from None
    parts: dict[str, str] = {"site.toml": redact_site(site_text)}
    manifest: dict[str, Any] = {
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s)),
        "hours": hours,
        "site_file": str(config_path),
    }
    try:
        cfg = load_config(config_path)
    except EdgeError as exc:  # a broken site file is worth a bundle too
        manifest["site_file_error"] = str(exc)
        cfg = None
    if cfg is not None and cfg.site.state_db != ":memory:":
        db_parts, info = database_parts(Path(cfg.site.state_db).expanduser(), now_s - hours * 3600)
        parts.update(db_parts)
        manifest.update(info)
    log_text, log_from = recent_log(hours, log_file)
    manifest["log"] = log_from
    if log_text is not None:
        parts["edge.log"] = log_text
    parts["versions.json"] = json.dumps(versions(), indent=2)
    manifest["files"] = sorted([*parts, "manifest.json"])
    parts["manifest.json"] = json.dumps(manifest, indent=2)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now_s))
    path = out or Path(f"edge-bundle-{socket.gethostname() or 'edge'}-{stamp}.tar.gz")
    top = path.name.removesuffix(".tar.gz")
    try:
        with tarfile.open(path, "w:gz") as tar:
            for name, text in parts.items():
                data = text.encode("utf-8")
                member = tarfile.TarInfo(f"{top}/{name}")
                member.size, member.mtime, member.mode = len(data), int(now_s), 0o644
                tar.addfile(member, io.BytesIO(data))
    except OSError as exc:
        raise BundleError(f"{path}: cannot be written: {exc.strerror}") from None
    return path


def read_member(bundle: Path, name: str) -> str:
    """One file of a bundle by its name (site.toml, trace.csv, ...)."""
    try:
        with tarfile.open(bundle, "r:gz") as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.rsplit("/", 1)[-1] == name:
                    f = tar.extractfile(member)
                    assert f is not None
                    return f.read().decode("utf-8")
    except (OSError, tarfile.TarError) as exc:
        raise BundleError(f"{bundle}: not a bundle: {exc}") from None
    raise BundleError(f"{bundle}: has no {name}")


def main(config_path: Path, hours: float, out: Path | None, log_file: Path | None) -> int:
    path = make_bundle(config_path, hours, out, log_file)
    print(f"wrote {path} ({path.stat().st_size} bytes): attach it to the report")
    return 0
