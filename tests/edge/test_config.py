"""The site file: validation errors name the key, the value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import EXAMPLE_CONFIG, load_config, parse_config
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
