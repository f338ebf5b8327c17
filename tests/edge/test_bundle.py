"""`edge bundle`: the archive a user attaches to a report. The trace in it is the one a
real `edge run` wrote; secrets never leave the Pi; the database is only read."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from edge.bundle import REDACTED, make_bundle, read_member, redact_site
from edge.state_db import open_state_db
from tests.edge.test_run import ENV, BackgroundEmulator
from tests.edge.test_signals import wait_until

SITE_WITH_SECRETS = """# the site
[site]
name = "Home"

[mqtt]
host = "ha.local"
username = "edge"
password = "hunter2"
client_key_file = "/etc/edge/client.key"
# password = "old-one"
#token="abc"

[tariff]
api_key = "k-123"
octopus_token = "t-456"
"""


def test_every_secret_is_redacted_and_the_rest_kept():
    out = redact_site(SITE_WITH_SECRETS)
    for secret in ("hunter2", "old-one", "abc", "k-123", "t-456"):
        assert secret not in out
    assert out.count(REDACTED) == 5
    assert 'username = "edge"' in out and 'host = "ha.local"' in out
    assert 'client_key_file = "/etc/edge/client.key"' in out  # a path, not a secret
    assert "# the site" in out  # comments kept


def test_a_site_file_that_is_not_toml_is_still_redacted():
    out = redact_site('[mqtt\npassword = "hunter2"\nhost = "x"\n')
    assert "hunter2" not in out and 'host = "x"' in out


def test_edge_run_then_edge_bundle(tmp_path: Path):
    """The trace and decisions an `edge run` wrote, bundled by the command line."""
    bg = BackgroundEmulator()
    site = tmp_path / "site.toml"
    site.write_text(
        f'[site]\nstate_db = "{tmp_path / "state.sqlite"}"\n'
        f'api_socket = "{tmp_path / "api.sock"}"\n\n'
        f'[inverter]\nfamily = "sofar_me3000sp"\nport = "tcp://127.0.0.1:{bg.port}"\n\n'
        '[mqtt]\nenabled = false\npassword = "hunter2"\n\n[dab]\nenabled = false\n'
    )
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--quiet", "--config", str(site)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        assert wait_until(lambda: bg.emu.passive_commands > 0, 30.0)
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        bg.stop()
    log = tmp_path / "edge.log"
    log.write_text(err)
    out = tmp_path / "b.tar.gz"
    r = subprocess.run(
        [
            *(sys.executable, "-m", "edge", "bundle", "--config", str(site)),
            *("--hours", "1", "--out", str(out), "--log", str(log)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {out} (")
    with tarfile.open(out) as tar:
        names = sorted(m.name for m in tar.getmembers())
    assert names == [
        f"b/{n}"
        for n in (
            "decisions.csv",
            "edge.log",
            "manifest.json",
            "site.toml",
            "state.json",
            "trace.csv",
            "versions.json",
        )
    ]
    assert "hunter2" not in out.read_bytes().decode("latin-1")  # compressed: check the text
    assert "hunter2" not in read_member(out, "site.toml")
    trace = read_member(out, "trace.csv").splitlines()
    assert trace[0].startswith("wall_s,t_s,grid_w,pv_w,load_w,battery_w,soc_pct")
    assert len(trace) >= 2  # the minute in progress was written at the exit
    decisions = read_member(out, "decisions.csv").splitlines()
    assert len(decisions) >= 2 and decisions[0] == "wall_s,t_s,reason"
    # The last minute ended on the decision in force: the last that began.
    last_reason = decisions[-1].split(",", 2)[2].strip('"')
    assert trace[-1].endswith(decisions[-1].split(",", 2)[2])
    assert last_reason.startswith("self-consumption")  # noon sun, a battery that takes it
    state = json.loads(read_member(out, "state.json"))
    assert state["schema_version"] >= 2
    assert state["write_counts"][0]["device"] == "inverter"
    versions = json.loads(read_member(out, "versions.json"))
    assert {"edge", "python", "pymodbus", "paho-mqtt", "os", "kernel"} <= set(versions)
    assert read_member(out, "edge.log") == err
    manifest = json.loads(read_member(out, "manifest.json"))
    assert manifest["log"] == f"the tail of {log}" and manifest["hours"] == 1.0


def test_only_the_last_hours_and_the_database_is_only_read(tmp_path: Path):
    db_path = tmp_path / "state.sqlite"
    db = open_state_db(str(db_path), "SELECT 1")
    now = 1_800_000_000.0
    for hours_ago in (30, 5, 1):
        wall = now - hours_ago * 3600
        db.execute("INSERT INTO trace VALUES (?, ?, 1, 2, 3, 4, 50, 0, 0, 'r')", (wall, wall))
        db.execute("INSERT INTO decisions VALUES (?, ?, ?)", (wall, wall, f"{hours_ago} h ago"))
    db.commit()
    db.close()
    site = tmp_path / "site.toml"
    site.write_text(f'[site]\nstate_db = "{db_path}"\n')
    before = db_path.read_bytes()
    out = make_bundle(site, hours=6, out=tmp_path / "x.tar.gz", now_s=now)
    assert len(read_member(out, "trace.csv").splitlines()) == 3  # header, 5 h and 1 h ago
    assert "30 h ago" not in read_member(out, "decisions.csv")
    assert db_path.read_bytes() == before


def test_a_database_of_0_1_0_is_bundled_as_it_is(tmp_path: Path):
    old = tmp_path / "state.sqlite"
    old.write_bytes((Path(__file__).parent / "data" / "state-0.1.0.sqlite").read_bytes())
    site = tmp_path / "site.toml"
    site.write_text(f'[site]\nstate_db = "{old}"\n')
    out = make_bundle(site, hours=24, out=tmp_path / "x.tar.gz")
    manifest = json.loads(read_member(out, "manifest.json"))
    assert "has no trace table" in manifest["trace_missing"]
    assert json.loads(read_member(out, "state.json"))["outbox"]["documents"] == 25
    db = sqlite3.connect(old)
    assert db.execute("PRAGMA user_version").fetchone() == (0,)  # not migrated by a bundle
    db.close()


def test_a_broken_site_file_is_bundled_with_its_error(tmp_path: Path):
    site = tmp_path / "site.toml"
    site.write_text('[inverter]\nslave_id = 99\npassword = "x1"\n')
    out = make_bundle(site, hours=1, out=tmp_path / "x.tar.gz")
    manifest = json.loads(read_member(out, "manifest.json"))
    assert "inverter.slave_id = 99" in manifest["site_file_error"]
    assert "x1" not in read_member(out, "site.toml")
