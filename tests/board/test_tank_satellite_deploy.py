"""`edge satellite deploy`: the files it puts on a board, the mpremote command line it
runs (checked with mpremote's own parsers), and its online check against a real
Mosquitto with the satellite running under the MicroPython Unix port. (mpremote cannot
reach the Unix port's filesystem, so the copy itself is the one step not run here.)"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import paho.mqtt.client as mqtt
import pytest

from edge.cli import main
from edge.config import MqttConfig
from edge.satellite_deploy import (
    DeployError,
    SatelliteSettings,
    app_version,
    boards,
    config_doc,
    deploy,
    mpremote_argv,
    stage,
    wait_online,
)
from tests.board.satellite.harness import Satellite, micropython_lib, mp_ok

SECRET_WIFI = "wifi-secret-7f3a"
SECRET_MQTT = "mqtt-secret-91c2"
SETTINGS = SatelliteSettings(
    name="tank",
    board="esp32_devkitc",
    broker_host="192.168.1.20",
    mqtt_user="satellite",
    mqtt_password=SECRET_MQTT,
    wifi_ssid="house",
    wifi_password=SECRET_WIFI,
    element_w=2800.0,
)
APP_MODULES = [
    "lib/tank_satellite/__init__",
    "lib/tank_satellite/app",
    "lib/tank_satellite/boards/__init__",
    "lib/tank_satellite/boards/esp32_devkitc",
    "lib/tank_satellite/boards/pico_w",
    "lib/tank_satellite/burst",
    "lib/tank_satellite/config",
    "lib/tank_satellite/hw",
    "lib/tank_satellite/link",
    "lib/tank_satellite/probe",
    "lib/tank_satellite/safety",
    "lib/tank_satellite/setpoint",
]
LIB = ["lib/ds18x20", "lib/onewire", "lib/umqtt/simple"]


def test_the_board_gets_the_app_compiled_its_libraries_and_one_config_file(tmp_path: Path):
    files = stage(tmp_path, SETTINGS, micropython_lib(), compiled=True)
    expected = sorted([*(m + ".mpy" for m in APP_MODULES + LIB), "main.py", "satellite.json"])
    assert files == expected
    assert (
        sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
        == expected
    )
    # Each .mpy is MicroPython bytecode: magic "M", version 6.
    assert all((tmp_path / f).read_bytes()[:2] == b"M\x06" for f in files if f.endswith(".mpy"))
    # Without a micropython-lib checkout, those three are left to mip; --source keeps .py.
    src = stage(tmp_path / "src", SETTINGS, None, compiled=False)
    assert src == sorted([*(m + ".py" for m in APP_MODULES), "main.py", "satellite.json"])


def test_credentials_live_only_in_the_config_file(tmp_path: Path):
    stage(tmp_path, SETTINGS, micropython_lib(), compiled=True)
    holders = [
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if p.is_file()
        and (SECRET_WIFI.encode() in p.read_bytes() or SECRET_MQTT.encode() in p.read_bytes())
    ]
    assert holders == ["satellite.json"]
    doc = json.loads((tmp_path / "satellite.json").read_text())
    assert doc == {
        "name": "tank",
        "board": "esp32_devkitc",
        "mqtt": {
            "host": "192.168.1.20",
            "port": 1883,
            "user": "satellite",
            "password": SECRET_MQTT,
            "base_topic": "edge",
        },
        "wifi": {"ssid": "house", "password": SECRET_WIFI},
        "element_w": 2800.0,
    }


def test_the_generated_config_passes_the_boards_own_check(tmp_path: Path):
    stage(tmp_path, SETTINGS, None, compiled=False)
    text = (tmp_path / "satellite.json").read_text()
    out = mp_ok(
        "from tank_satellite import config\nfrom tank_satellite.boards import BOARDS\n"
        f"c = config.load(BOARDS, {str(tmp_path / 'satellite.json')!r})\n"
        "print(c['board']['port'], c['element_w'], c['wifi']['ssid'], c['mqtt']['user'])"
    )
    assert out.strip() == "esp32 2800.0 house satellite"
    assert json.loads(text)["board"] in boards()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "tank 1"}, "--name 'tank 1': 1 to 32 letters"),
        ({"board": "uno"}, "--board 'uno': one of esp32_devkitc, pico_w"),
        ({"broker_host": "localhost"}, "that is the board itself"),
        ({"broker_port": 70000}, "expected HOST:PORT"),
        ({"wifi_password": None}, "give both the network name and its password"),
    ],
)
def test_a_bad_setting_is_refused_before_the_board_is_touched(change, message):
    settings = SatelliteSettings(**{**SETTINGS.__dict__, **change})
    with pytest.raises(DeployError, match=message):
        config_doc(settings)


def test_without_the_application_beside_edge_deploy_says_where_it_is(tmp_path: Path):
    """An installed edge (pip install .) does not carry board/: deploy says so."""
    with pytest.raises(DeployError, match="not in an installed edge: deploy from a checkout"):
        config_doc(SETTINGS, app_dir=tmp_path)


def test_the_mpremote_command_line_parses_with_mpremotes_own_parsers(tmp_path: Path):
    from mpremote.main import _COMMANDS, do_command_expansion, prepare_command_expansions

    files = stage(tmp_path, SETTINGS, None, compiled=True)
    argv = mpremote_argv("/dev/ttyACM0", tmp_path, files, mip=True)
    assert argv[1:5] == ["-m", "mpremote", "connect", "/dev/ttyACM0"]
    chunks: list[list[str]] = [[]]
    for word in argv[5:]:
        if word == "+":
            chunks.append([])
        else:
            chunks[-1].append(word)
    parsed = []
    # mpremote's shortcuts, as its main() expands them (no user config of its own here)
    prepare_command_expansions(SimpleNamespace(commands={}))
    for chunk in chunks:
        do_command_expansion(chunk)
        cmd, *rest = chunk
        parsed.append((cmd, vars(_COMMANDS[cmd][1]().parse_args(rest))))
    (fs1, lib), (fs2, top), (mip, pkgs), (reset, code) = parsed
    assert (fs1, lib["command"], lib["recursive"]) == ("fs", ["cp"], True)
    assert lib["path"] == [str(tmp_path / "lib"), ":."]
    assert (fs2, top["command"], top["recursive"]) == ("fs", ["cp"], False)
    assert top["path"] == [str(tmp_path / "main.py"), str(tmp_path / "satellite.json"), ":"]
    assert (mip, pkgs["command"], pkgs["target"]) == ("mip", ["install"], "/lib")
    assert pkgs["packages"] == ["umqtt.simple", "onewire", "ds18x20"]
    assert reset == "exec" and "machine.reset()" in code["expr"][0]  # a hard reset: main.py runs
    # With a checkout staged, nothing is fetched.
    assert "mip" not in mpremote_argv("/dev/ttyACM0", tmp_path, files, mip=False)


def test_deploy_waits_for_the_deployed_satellite_to_come_online(tmp_path: Path, mosquitto):
    """mpremote's step is played by starting the satellite under the Unix port from the
    config file deploy generated; the rest is deploy as an installer runs it."""
    settings = SatelliteSettings(
        name="loft", board="pico_w", broker_host=mosquitto.host, broker_port=mosquitto.port
    )
    started: list[Satellite] = []

    def board(argv: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        config = Path(next(a for a in argv if a.endswith("satellite.json")))
        started.append(Satellite(tmp_path / "board", config=config).start())
        return subprocess.CompletedProcess(argv, 0)

    check = MqttConfig(host=mosquitto.host, port=mosquitto.port)
    (tmp_path / "board").mkdir()
    try:
        state = deploy("/dev/ttyACM0", settings, check, micropython_lib(), timeout_s=20, run=board)
    finally:
        log = "\n".join(s.stop() for s in started)
    assert state["version"] == app_version() and state["uptime_s"] < 20
    assert "tank satellite 0.1.0, loft: starting" in log


def test_an_old_retained_state_does_not_count_as_online(mosquitto):
    """A state kept by the broker from a board that has been up for an hour is not the
    board just deployed: the check times out with what to look at."""
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    old = {"version": app_version(), "uptime_s": 3600, "power_w": 0.0, "reason": "idle"}
    pub.publish("edge/satellite/loft/state", json.dumps(old), qos=1, retain=True).wait_for_publish(
        5
    )
    pub.loop_stop()
    pub.disconnect()
    t0 = time.monotonic()
    with pytest.raises(
        DeployError, match=r"'loft' did not come online on 127\.0\.0\.1:\d+ within 1\.5 s"
    ):
        wait_online(
            MqttConfig(host=mosquitto.host, port=mosquitto.port),
            "loft",
            app_version(),
            time.time(),
            1.5,
        )
    assert time.monotonic() - t0 < 5


def test_the_command_refuses_a_bad_name_before_touching_the_port(capsys, monkeypatch):
    monkeypatch.setenv("EDGE_WIFI_PASSWORD", "x")
    code = main(
        [
            "satellite",
            "deploy",
            "--port",
            "/dev/nonexistent",
            "--name",
            "tank 1",
            "--broker",
            "192.168.1.2",
            "--wifi-ssid",
            "house",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "edge: --name 'tank 1': 1 to 32 letters, digits, _ or -"
    )


def test_the_command_never_takes_a_password_from_its_arguments(capsys, monkeypatch):
    monkeypatch.delenv("EDGE_WIFI_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = main(
        [
            "satellite",
            "deploy",
            "--port",
            "/dev/nonexistent",
            "--name",
            "tank",
            "--broker",
            "192.168.1.2",
            "--wifi-ssid",
            "house",
        ]
    )
    assert code == 2
    assert "set EDGE_WIFI_PASSWORD or run in a terminal to be asked" in capsys.readouterr().err
