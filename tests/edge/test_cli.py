"""The `edge` command's arguments: the help of each command, and bad arguments or a bad
site file refused with exit status 2 and a message naming what was wrong, never a
traceback. In-process through edge.cli.main where it returns; a subprocess where the
process boundary is the point (the exit status, a missing extra)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli import main

COMMANDS = ("demo", "sim", "flash", "menu", "run")


@pytest.fixture(autouse=True)
def _keep_pymodbus_logging():
    """main() quietens pymodbus for the process: put it back for the other tests."""
    logger = logging.getLogger("pymodbus")
    level = logger.level
    yield
    logger.setLevel(level)


def words(text: str) -> str:
    """Help text with argparse's line wrapping (it follows the terminal's width) undone."""
    return " ".join(text.split())


def exits(argv: list[str], capsys) -> tuple[int | str | None, str, str]:
    """What main() exits with when argparse (or a command) ends the process."""
    with pytest.raises(SystemExit) as ended:
        main(argv)
    out, err = capsys.readouterr()
    return ended.value.code, out, err


def test_help_lists_every_command_with_what_it_does(capsys):
    code, out, _ = exits(["--help"], capsys)
    assert code == 0
    text = words(out)
    commands = "demo,sim,flash,menu,run,satellite,install-service,doctor,bundle,plan"
    assert text.startswith(f"usage: edge [-h] [-v] {{{commands}}} ...")
    for command, says in (
        ("demo", "run the simulated house end to end"),
        ("sim", "serve the simulated house's devices on the ports a config names"),
        ("flash", "flash the DAB board"),
        ("menu", "the on-device menu"),
        ("run", "run the supervisor against the devices a config file names"),
        ("satellite", "the tank satellite board (MicroPython)"),
        ("install-service", "install edge as a systemd service"),
        ("doctor", "check an install and say how to fix what is wrong"),
        ("bundle", "write a debug archive (.tar.gz) to attach to a report"),
        ("plan", "print the plan the site's tariff gives"),
    ):
        assert f"{command} {says}" in text


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("demo", ("--minutes", "--speed", "--broker", "--no-mqtt", "--config", "--api-socket")),
        ("sim", ("--config", "--speed", "--pylontech-port")),
        ("menu", ("--config", "--socket")),
        ("run", ("--config CONFIG", "--minutes", "--quiet")),
        ("plan", ("--config CONFIG", "--soc", "--load-w", "--hours")),
    ],
)
def test_each_command_has_its_own_help(capsys, command, options):
    code, out, _ = exits([command, "--help"], capsys)
    assert code == 0
    assert words(out).startswith(f"usage: edge {command} [-h]")
    for option in options:
        assert option in out


def test_flash_help_is_the_flashers_own(capsys):
    code, out, _ = exits(["flash", "--help"], capsys)
    assert code == 0
    text = words(out)
    assert text.startswith("usage: python -m host_tools flash [-h] --port PORT")
    assert "--trusted-key" in text


def test_without_a_command_the_usage_says_one_is_needed(capsys):
    code, _, err = exits([], capsys)
    assert code == 2
    assert "edge: error: the following arguments are required: command" in err


def test_run_needs_a_config(capsys):
    code, _, err = exits(["run"], capsys)
    assert code == 2
    assert "edge run: error: the following arguments are required: --config" in err


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        ("0", "argument --minutes: '0': must be greater than 0"),
        ("-5", "argument --minutes: '-5': must be greater than 0"),
        ("nan", "argument --minutes: 'nan': must be greater than 0"),
        ("ten", "argument --minutes: 'ten' is not a number"),
        ("", "argument --minutes: '' is not a number"),
    ],
)
def test_run_minutes_must_be_a_positive_number(capsys, tmp_path, minutes, said):
    code, _, err = exits(
        ["run", "--config", str(tmp_path / "x.toml"), "--minutes", minutes], capsys
    )
    assert code == 2
    assert err.splitlines()[-1] == f"edge run: error: {said}"


@pytest.mark.parametrize(
    ("broker", "said"),
    [
        ("localhost", "--broker 'localhost': expected HOST:PORT, e.g. 127.0.0.1:1883"),
        (":1883", "--broker ':1883': expected HOST:PORT"),
        ("broker:0", "--broker 'broker:0': expected HOST:PORT"),
        ("broker:65536", "--broker 'broker:65536': expected HOST:PORT"),
        ("broker:mqtt", "--broker 'broker:mqtt': expected HOST:PORT"),
    ],
)
def test_demo_broker_must_be_host_and_port(capsys, broker, said):
    code, _, err = exits(["demo", "--broker", broker], capsys)
    assert code == 2
    assert said in err.splitlines()[-1]


def test_a_missing_site_file_is_one_line_naming_it(capsys, tmp_path):
    missing = tmp_path / "nowhere" / "site.toml"
    assert main(["run", "--config", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert (
        err == f"edge: {missing}: cannot read the configuration file: No such file or directory\n"
    )
    assert out == ""


def test_a_site_file_that_is_not_toml_is_one_line_naming_it(capsys, tmp_path):
    bad = tmp_path / "site.toml"
    bad.write_text("[inverter\nport = 1\n", encoding="utf-8")
    assert main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"edge: {bad}: not valid TOML: ")
    assert len(err.splitlines()) == 1


def test_a_bad_key_is_named_with_its_value_and_what_is_allowed(capsys, tmp_path):
    bad = tmp_path / "site.toml"
    bad.write_text('[battery]\nbms_port = "COM3"\n', encoding="utf-8")
    assert main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    # The file, then one line per bad key (every bad key at once).
    assert err.splitlines() == [
        f"edge: {bad}: invalid configuration",
        "  battery.bms_port = 'COM3': Value error, expected a serial device path"
        " (/dev/ttyUSB0) or tcp://HOST:PORT",
    ]


def test_the_menu_with_a_bad_config_says_so_before_any_screen(capsys, tmp_path):
    missing = tmp_path / "site.toml"
    assert main(["menu", "--config", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"edge: {missing}: cannot read the configuration file: No such file or directory\n"
    )


def test_the_menu_needs_a_socket_or_a_config(capsys):
    code, _, _ = exits(["menu"], capsys)
    assert code == "edge menu: give --socket PATH or --config FILE"  # printed, non-zero


ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def test_the_process_exits_2_with_the_message_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(tmp_path / "site.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"edge: {tmp_path / 'site.toml'}: cannot read the configuration file:"
        " No such file or directory"
    ]


def test_flash_without_its_extra_names_the_extra(tmp_path):
    """The flasher's packages are missing (a stub that refuses to import stands in for an
    install without edge[flash]): one line naming the extra, exit 2."""
    stub = tmp_path / "stm32loader"
    stub.mkdir()
    (stub / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'stm32loader'\", name='stm32loader')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "edge", "flash", "--port", "/dev/null", "fw.bin"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**ENV, "PYTHONPATH": f"{tmp_path}{os.pathsep}{Path.cwd()}"},
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].endswith(
        "needs the 'flash' extra (stm32loader is missing): pip install 'edge[flash]'"
    )
