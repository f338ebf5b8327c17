"""Editing the site file: values checked against the model, comments kept, saved atomically
with a backup, and a diff to show first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.config import EXAMPLE_CONFIG
from edge.errors import ConfigError
from edge.menu.schema import settings
from edge.menu.tomledit import apply_edits, diff, parse_value, save_atomically, validate

BY_KEY = {s.key: s for s in settings()}


def test_the_schema_comes_from_the_model():
    hold = BY_KEY["policy.hold_s"]
    assert (hold.unit, hold.low, hold.high, hold.kind) == ("s", 0.0, 3600.0, "float")
    assert "reversal" in hold.help
    baud = BY_KEY["inverter.baud"]
    assert baud.kind == "choice" and baud.choices == (2400, 4800, 9600, 19200)
    assert BY_KEY["battery.bms_port"].optional
    assert BY_KEY["loads.diverter.tank_max_degc"].unit == "°C"
    assert BY_KEY["loads.priority"].kind == "list"


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("policy.hold_s", "90", 90.0),
        ("inverter.slave_id", "7", 7),
        ("inverter.baud", "19200", 19200),
        ("mqtt.tls", "yes", True),
        ("battery.bms_port", "", None),
        ("loads.priority", "heat_pump, tank", ["heat_pump", "tank"]),
    ],
)
def test_values_parse_as_the_settings_type(key, text, value):
    assert parse_value(BY_KEY[key], text) == value


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("policy.hold_s", "soon", "a number is needed"),
        ("inverter.slave_id", "7.5", "a whole number is needed"),
        ("inverter.baud", "1200", "allowed 2400, 4800, 9600, 19200"),
        ("mqtt.tls", "maybe", "allowed true or false"),
        ("inverter.port", "", "a value is needed"),
    ],
)
def test_bad_text_is_refused_with_what_is_allowed(key, text, message):
    with pytest.raises(ValueError, match=message):
        parse_value(BY_KEY[key], text)


def test_edits_keep_comments_and_the_whole_file_is_validated(tmp_path: Path):
    text = EXAMPLE_CONFIG.read_text()
    new = apply_edits(text, {"policy.hold_s": 90.0, "battery.bms_port": "/dev/ttyUSB1"})
    assert "hold_s = 90.0" in new
    assert "# no charge/discharge reversal within this time..." in new  # its comment kept
    assert new.count("\n") >= text.count("\n")
    cfg = validate(new, "site.toml")
    assert cfg.policy.hold_s == 90.0 and cfg.battery.bms_port == "/dev/ttyUSB1"
    with pytest.raises(ConfigError, match=r"policy\.hold_s = 99999\.0: Input should be less"):
        validate(apply_edits(text, {"policy.hold_s": 99999.0}), "site.toml")
    # A key the file does not have yet goes into its (new) table.
    added = apply_edits("[site]\nname = 'x'\n", {"mqtt.tls": True})
    assert validate(added, "x").mqtt.tls is True
    lines = diff(text, new, "site.toml")
    assert any(line.startswith("-hold_s = 60") for line in lines)
    assert any(line.startswith("+hold_s = 90.0") for line in lines)


def test_save_is_atomic_and_keeps_a_backup(tmp_path: Path):
    path = tmp_path / "site.toml"
    shutil.copy(EXAMPLE_CONFIG, path)
    path.chmod(0o640)
    old = path.read_text()
    new = apply_edits(old, {"policy.hold_s": 90.0})
    backup = save_atomically(path, new)
    assert path.read_text() == new and backup.read_text() == old
    assert (path.stat().st_mode & 0o777) == 0o640  # the file's mode is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.toml", "site.toml.bak"]
