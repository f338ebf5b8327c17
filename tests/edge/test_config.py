"""The site file: validation errors name the key, the value and what is allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import EXAMPLE_CONFIG, load_config, parse_config, require_devices
from edge.errors import ConfigError


def test_the_example_config_is_valid():
    cfg = load_config(EXAMPLE_CONFIG)
    assert cfg.inverter.port == "tcp://127.0.0.1:8899"
    assert cfg.battery.reserve_soc_pct == 20


def test_models_are_frozen():
    cfg = load_config(EXAMPLE_CONFIG)
    with pytest.raises(Exception):  # noqa: B017 (pydantic's frozen error type)
        cfg.inverter.slave_id = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"inverter": {"slave_id": 300}},
            "inverter.slave_id = 300: Input should be less than or equal to 63",
        ),
        ({"inverter": {"baud": 1234}}, "inverter.baud = 1234: allowed: 2400, 4800, 9600 or 19200"),
        (
            {"inverter": {"max_charge_w": -5}},
            "inverter.max_charge_w = -5: Input should be greater than or equal to 0",
        ),
        ({"inverter": {"prot": "x"}}, "inverter.prot = 'x': unknown key"),
        ({"mqtt": {"port": "abc"}}, "mqtt.port = 'abc': Input should be a valid integer"),
        (
            {"inverter": {"port": "tcp://10.0.0.5"}},
            "inverter.port = 'tcp://10.0.0.5': Value error, expected tcp://HOST:PORT",
        ),
        (
            {"inverter": {"port": "COM3"}},
            "inverter.port = 'COM3': Value error, expected a serial device path",
        ),
        (
            {"battery": {"reserve_soc_pct": 50, "max_soc_pct": 40}},
            "battery.max_soc_pct = 40: Value error, must be above battery.reserve_soc_pct (50.0)",
        ),
    ],
)
def test_errors_name_key_value_and_what_is_allowed(data, expected):
    with pytest.raises(ConfigError) as exc:
        parse_config(data, "site.toml")
    assert expected in str(exc.value)
    assert str(exc.value).startswith("site.toml: invalid configuration")


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(ConfigError) as exc:
        parse_config({"inverter": {"slave_id": 0, "timeout_s": 99}})
    assert "inverter.slave_id = 0" in str(exc.value)
    assert "inverter.timeout_s = 99" in str(exc.value)


def test_not_toml_and_missing_file(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[inverter\nport = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"inverter": {"slave_id": True}}, "inverter.slave_id = True: Input should be a valid int"),
        (
            {"inverter": {"max_charge_w": "3000"}},
            "inverter.max_charge_w = '3000': Input should be a valid integer",
        ),
        ({"dab": {"enabled": "yes"}}, "dab.enabled = 'yes': Input should be a valid boolean"),
        ({"dab": {"slave_id": 1.0}}, "dab.slave_id = 1.0: Input should be a valid integer"),
        ({"policy": {"tick_s": False}}, "policy.tick_s = False: Input should be a valid number"),
        ({"mqtt": {"tls": 1}}, "mqtt.tls = 1: Input should be a valid boolean"),
        ({"site": {"name": 5}}, "site.name = 5: Input should be a valid string"),
    ],
)
def test_types_are_strict(data, expected):
    with pytest.raises(ConfigError) as exc:
        parse_config(data, "site.toml")
    assert expected in str(exc.value)


def test_an_int_where_a_float_is_wanted_is_taken():
    cfg = parse_config({"policy": {"tick_s": 2}, "battery": {"reserve_soc_pct": 30}})
    assert (cfg.policy.tick_s, cfg.battery.reserve_soc_pct) == (2.0, 30.0)


def test_nan_and_infinity_are_refused():
    with pytest.raises(ConfigError, match=r"policy\.tick_s = nan: Input should be a finite number"):
        parse_config({"policy": {"tick_s": float("nan")}})


def test_a_file_that_is_not_utf8_is_one_line_naming_it(tmp_path: Path):
    bad = tmp_path / "site.toml"
    bad.write_bytes(b'[site]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(bad)
    assert str(exc.value) == (
        f"{bad}: not UTF-8 text (byte 0xe9 at offset 18); a site file is TOML text"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (bytes(range(256)), "not UTF-8 text (byte 0x80 at offset 128)"),
        (b"\x00\x01\x02binary", "not valid TOML: Invalid statement (at line 1, column 1)"),
        (b"a = " + b"[" * 5000, "not valid TOML: nested too deeply"),
        (b"a = " + b"9" * 5000, "not valid TOML: an integer of more than 4300 digits"),
        (b"# " + b"x" * 2_000_000, "2000002 bytes; a site file is at most 1048576"),
    ],
    ids=["bytes 0-255", "binary", "nested", "long integer", "2 MB"],
)
def test_unreadable_files_are_one_short_line_naming_them(tmp_path: Path, content, expected):
    bad = tmp_path / "site.toml"
    bad.write_bytes(content)
    with pytest.raises(ConfigError) as exc:
        load_config(bad)
    message = str(exc.value)
    assert message.startswith(f"{bad}: ") and expected in message
    assert "\n" not in message and len(message) < 400


def test_many_bad_keys_give_a_bounded_message(tmp_path: Path):
    site = tmp_path / "site.toml"
    site.write_text("[inverter]\n" + "".join(f"k{i} = {i}\n" for i in range(5000)))
    with pytest.raises(ConfigError) as exc:
        load_config(site)
    lines = str(exc.value).splitlines()
    assert lines[0] == f"{site}: invalid configuration"
    assert lines[1] == "  inverter.k0 = 0: unknown key (check the spelling; see the example config)"
    assert len(lines) == 22 and lines[-1] == "  and 4980 more"
    long_value = parse_config_error({"site": {"nom": "y" * 10_000}})
    assert len(long_value) < 400 and "site.nom = 'yyyy" in long_value
    assert "yyy...yyy" in long_value and "yyy': unknown key" in long_value
    long_key = parse_config_error({"site": {"k" * 10_000: 1}})
    assert len(long_key) < 400 and "... (10067 characters in all)" in long_key


def parse_config_error(data) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config({**data, "inverter": {"slave_id": 0}})
    return str(exc.value)


EXAMPLE_TEXT = EXAMPLE_CONFIG.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("", "inverter.family, inverter.port, dab.port (or dab.enabled = false)"),
        (
            EXAMPLE_TEXT.replace('port = "tcp://127.0.0.1:8899"', "", 1),
            "inverter.port",
        ),
        ('[inverter]\nport = "/dev/ttyUSB0"\n[dab]\nenabled = false\n', "inverter.family"),
    ],
    ids=["empty", "example without inverter.port", "no family"],
)
def test_edge_run_needs_the_devices_named(tmp_path: Path, text, missing):
    site = tmp_path / "site.toml"
    site.write_text(text, encoding="utf-8")
    cfg = load_config(site)  # valid: the demo and the simulator run on the defaults
    with pytest.raises(ConfigError) as exc:
        require_devices(cfg, site)
    assert str(exc.value) == (
        f"{site}: `edge run` needs the devices named; missing {missing} (see simulated-house.toml)"
    )


def test_a_file_that_names_its_devices_passes(tmp_path: Path):
    require_devices(load_config(EXAMPLE_CONFIG), EXAMPLE_CONFIG)
    site = tmp_path / "site.toml"
    site.write_text(
        '[inverter]\nfamily = "sofar_hyd_ep"\nport = "/dev/ttyUSB0"\n[dab]\nenabled = false\n'
    )
    require_devices(load_config(site), site)


def test_edge_run_on_an_empty_file_exits_2_with_one_line(tmp_path: Path):
    site = tmp_path / "site.toml"
    site.write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(site)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"edge: {site}: `edge run` needs the devices named; missing inverter.family,"
        " inverter.port, dab.port (or dab.enabled = false) (see simulated-house.toml)"
    ]
