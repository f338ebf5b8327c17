"""The `edge` command: demo (the simulated house end to end), sim (serve the simulated
house's devices), run (the supervisor against the devices a config file names), plan
(the plan the site's tariff gives)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from edge.errors import EdgeError
from edge.extras import MissingExtra, needs

log = logging.getLogger("edge")


def _broker(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(
            f"--broker {text!r}: expected HOST:PORT, e.g. 127.0.0.1:1883"
        )
    return host, int(port)


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be greater than 0")
    return v


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edge", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the simulated house end to end (the default experience)")
    d.add_argument("--minutes", type=_positive, default=30.0, help="simulated minutes (default 30)")
    d.add_argument("--speed", type=_positive, default=10.0, help="times real time (default 10)")
    d.add_argument(
        "--broker", type=_broker, help="MQTT broker HOST:PORT (default: start a local mosquitto)"
    )
    d.add_argument("--no-mqtt", action="store_true", help="do not publish to MQTT")
    d.add_argument("--config", type=Path, help="site file (default: the simulated house's example)")
    d.add_argument("--quiet", action="store_true", help="print only the summary")
    d.add_argument(
        "--plain",
        action="store_true",
        help="one line per tick instead of the live dashboard; the default when standard"
        " output is not a terminal (piped to a log, CI), the dashboard when it is",
    )
    d.add_argument(
        "--png",
        type=Path,
        help="where the picture of the run goes (default: edge-demo-<start time>.png"
        " in the system's temporary directory); its path is printed at the end",
    )
    d.add_argument(
        "--api-socket", help="the local API's socket (default: the config's site.api_socket)"
    )

    s = sub.add_parser(
        "sim", help="serve the simulated house's devices on the ports a config names"
    )
    s.add_argument("--config", type=Path, help="site file (default: the simulated house's example)")
    s.add_argument("--speed", type=_positive, default=1.0)
    s.add_argument(
        "--pylontech-port", type=int, help="also serve the battery's RS485 protocol here"
    )

    f = sub.add_parser(
        "flash", help="flash the DAB board (python -m host_tools flash --help)", add_help=False
    )
    f.add_argument("rest", nargs=argparse.REMAINDER)

    m = sub.add_parser("menu", help="the on-device menu: status, config, commissioning, operations")
    m.add_argument(
        "--config", type=Path, help="the site file to edit (default: the one the supervisor runs)"
    )
    m.add_argument(
        "--socket", help="the supervisor's local API (default: the config's site.api_socket)"
    )

    r = sub.add_parser("run", help="run the supervisor against the devices a config file names")
    r.add_argument("--config", type=Path, required=True)
    r.add_argument(
        "--minutes",
        type=_positive,
        help="stop after this many minutes (default: run until stopped)",
    )
    r.add_argument("--quiet", action="store_true", help="do not print a line per tick")

    sat = sub.add_parser("satellite", help="the tank satellite board (MicroPython)")
    sat_sub = sat.add_subparsers(dest="satellite_command", required=True)
    from edge.satellite_deploy import add_arguments

    add_arguments(
        sat_sub.add_parser(
            "deploy",
            help="copy the satellite and its config onto a board over USB; check it comes online",
        )
    )

    i = sub.add_parser(
        "install-service", help="install edge as a systemd service (docs/install.md; root)"
    )
    i.add_argument("--root", help="lay the files out under this folder; run no system command")
    i.add_argument("--uninstall", action="store_true", help="remove the unit and udev rules")
    i.add_argument("--inverter", help="name this serial device /dev/edge-inverter (udev)")
    i.add_argument("--bms", help="name this serial device /dev/edge-bms (udev)")

    dr = sub.add_parser("doctor", help="check an install and say how to fix what is wrong")
    dr.add_argument("--config", type=Path, default=Path("/etc/edge/site.toml"))
    dr.add_argument("--user", help="check the ports for this user (default: edge if it exists)")
    dr.add_argument(
        "--probe-passive",
        action="store_true",
        help="ME3000SP: send the self-use command edge sends at exit to see if passive mode is on",
    )

    b = sub.add_parser("bundle", help="write a debug archive (.tar.gz) to attach to a report")
    b.add_argument("--config", type=Path, default=Path("/etc/edge/site.toml"))
    b.add_argument("--hours", type=_positive, default=24.0, help="how far back (default 24)")
    b.add_argument("--out", type=Path, help="the archive's path (default: here, named by time)")
    b.add_argument("--log", type=Path, help="a log file, where there is no journal")

    pl = sub.add_parser("plan", help="print the plan the site's tariff gives (docs/planner.md)")
    pl.add_argument("--config", type=Path, required=True)
    pl.add_argument("--soc", type=float, default=50.0, help="the battery's SOC now, %%")
    pl.add_argument("--load-w", type=_positive, default=400.0, help="a flat household load, W")
    pl.add_argument("--hours", type=_positive, default=36.0, help="the horizon, h")
    pl.add_argument(
        "--t-out-degc", type=float, default=10.0, help="a flat outside temperature, degC"
    )
    pl.add_argument(
        "--tank-degc", type=float, default=45.0, help="the tank now (with the diverter), degC"
    )
    pl.add_argument(
        "--indoor-degc",
        type=float,
        help="the house now: plans the heat pump too (with [planner.house]), degC",
    )
    pl.add_argument(
        "--png", type=Path, metavar="FILE", help="also draw the next 24 h as a PNG (extra: plot)"
    )
    return p


def _plan(args: argparse.Namespace) -> int:
    """The plan for the next hours from now (the wall clock), printed as text; with
    --png, its next 24 h drawn too."""
    import importlib
    import time

    from edge.config import load_config
    from edge.planner.show import Asked, plan_for, plan_png, plan_text_of

    if not 0.0 <= args.soc <= 100.0:
        raise SystemExit(f"edge plan: --soc {args.soc:g}: expected 0 to 100")
    for flag, value, low, high in (
        ("--t-out-degc", args.t_out_degc, -40.0, 45.0),
        ("--tank-degc", args.tank_degc, 0.0, 100.0),
        ("--indoor-degc", args.indoor_degc, 0.0, 40.0),
    ):
        if value is not None and not low <= value <= high:
            raise SystemExit(f"edge plan: {flag} {value:g}: expected {low:g} to {high:g}")
    asked = Asked(args.soc, args.load_w, args.t_out_degc, args.tank_degc, args.indoor_degc)
    if args.png is not None:  # before the solve: a missing extra is said at once
        needs("plot", "edge plan --png", lambda: importlib.import_module("matplotlib"))
        if args.png.is_dir():
            raise SystemExit(f"edge plan: --png {args.png}: a folder; give a file's path")
        if not args.png.parent.is_dir():
            raise SystemExit(f"edge plan: --png {args.png}: no folder {args.png.parent}")
    cfg = load_config(args.config)
    now_s = time.time()
    made = plan_for(cfg, now_s, asked, min(args.hours, 48.0))
    print(plan_text_of(made, cfg))
    if made.plan is None:
        return 1 if args.png is not None else 0
    if args.png is not None:
        try:
            plan_png(made, now_s, asked, args.png)
        except OSError as exc:
            raise SystemExit(
                f"edge plan: --png {args.png}: cannot write it: {exc.strerror}"
            ) from None
        print(f"chart of the next 24 h: {args.png}")
    return 0


def _menu(args: argparse.Namespace) -> int:
    """The Textual menu; it talks to the supervisor through the local API only."""
    from edge.local_api import ApiClient
    from edge.menu.app import EdgeMenu

    socket_path = args.socket
    if socket_path is None:
        if args.config is None:
            raise SystemExit("edge menu: give --socket PATH or --config FILE")
        from edge.config import load_config

        socket_path = load_config(args.config).site.api_socket
    client = ApiClient(socket_path)
    config_path = args.config
    if config_path is None:  # the file the running supervisor was started with
        try:
            path = client.request("status").get("config_path")
        except OSError:
            path = None
        config_path = Path(path) if path else None
    logging.getLogger().handlers.clear()  # the screen is Textual's
    EdgeMenu(client, config_path).run()
    client.close()
    return 0


def _host_tools_main() -> Callable[[list[str]], int]:
    from host_tools.__main__ import main as host_tools_main

    return host_tools_main


def _simulated(args: argparse.Namespace) -> Callable[[argparse.Namespace], Awaitable[int]]:
    from edge.sim import commands

    if args.config is None:
        from edge.config import EXAMPLE_CONFIG

        args.config = EXAMPLE_CONFIG
    return commands.demo if args.command == "demo" else commands.sim


async def _command(args: argparse.Namespace) -> int:
    """Each command imports what it needs only when it runs: `edge --help` and `edge run`
    never load the simulated house."""
    if args.command == "run":
        from edge.compose import run_site

        return await run_site(args.config, args.minutes, args.quiet)
    if args.command == "bundle":
        from edge import bundle

        return bundle.main(args.config, args.hours, args.out, args.log)
    if args.command == "doctor":
        from edge import doctor

        return await doctor.main(args.config, args.user, args.probe_passive)
    command = needs("sim", f"edge {args.command}", lambda: _simulated(args))
    return await command(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["flash"]:  # the flasher's own options, --help included
        try:
            flash = needs("flash", "edge flash", _host_tools_main)
        except MissingExtra as exc:
            print(f"edge: {exc}", file=sys.stderr)
            return 2
        return flash(["flash", *argv[1:]])
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command == "menu":
            return _menu(args)
        if args.command == "satellite":
            from edge.satellite_deploy import run_cli

            return run_cli(args)
        if args.command == "install-service":
            from edge import install_service

            return install_service.main(args.root, args.uninstall, args.inverter, args.bms)
        if args.command == "plan":
            return _plan(args)
        # pymodbus reports every retry on its own; our driver reports what matters, once.
        logging.getLogger("pymodbus").setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
        return asyncio.run(_command(args))
    except EdgeError as exc:
        print(f"edge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
