"""The `edge` command: demo (the simulated house end to end), sim (serve the simulated
house's devices), run (the supervisor against the devices a config file names)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from edge.app import (
    Supervisor,
    bridge_id,
    cancel_and_wait,
    make_publisher,
    wait_for_identities,
    wait_for_serial,
)
from edge.clock import ScaledClock, format_time_of_day
from edge.config import EXAMPLE_CONFIG, EdgeConfig, load_config
from edge.drivers.budget import WriteBudget
from edge.drivers.dab.driver import DabDriver
from edge.drivers.loads.hardware import hardware_loads
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.loads.sim import EmulatedLoads
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.g3_driver import SofarG3Driver
from edge.energy import EnergyTotals
from edge.errors import EdgeError
from edge.identities import Identities
from edge.local_api import LocalApi
from edge.mqtt.broker import LocalMosquitto
from edge.mqtt.publisher import MqttPublisher
from edge.requests_store import RequestStore
from edge.sim.world import SimulatedWorld, WorldParams, house_params
from edge.supervisor_api import SupervisorApi

log = logging.getLogger("edge")
NOON_S = 12 * 3600.0


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
    d.add_argument(
        "--config", type=Path, default=EXAMPLE_CONFIG, help="site file (default: the example)"
    )
    d.add_argument("--quiet", action="store_true", help="print only the summary")
    d.add_argument(
        "--api-socket", help="the local API's socket (default: the config's site.api_socket)"
    )

    s = sub.add_parser(
        "sim", help="serve the simulated house's devices on the ports a config names"
    )
    s.add_argument("--config", type=Path, default=EXAMPLE_CONFIG)
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
    return p


def _stop_event() -> asyncio.Event:
    """Set on SIGINT/SIGTERM, so the supervisor returns the inverter to self-use first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _supervise(
    cfg: EdgeConfig,
    clock: ScaledClock,
    until_s: float | None,
    quiet: bool,
    extra_tasks: list[Awaitable[None]],
    loads: LoadsDriver | None = None,
    config_path: Path | None = None,
) -> int:
    """config_path: the site file the config came from (the local API reloads it)."""
    stop = _stop_event()
    budget = WriteBudget("inverter", cfg.inverter.daily_write_budget, cfg.site.state_db)
    family = SofarG3Driver if cfg.inverter.family == "sofar_hyd_ep" else SofarDriver
    driver = family(cfg.inverter, clock, poll_s=cfg.policy.tick_s, budget=budget)
    dab = (
        DabDriver(
            cfg.dab,
            clock,
            poll_s=cfg.policy.tick_s,
            budget=WriteBudget("dab", cfg.dab.daily_write_budget, cfg.site.state_db),
        )
        if cfg.dab.enabled
        else None
    )
    bms = (
        PylontechDriver(
            cfg.battery.bms_port, cfg.battery.bms_modules, clock, baud=cfg.battery.bms_baud
        )
        if cfg.battery.bms_port is not None
        else None
    )
    tasks = [asyncio.ensure_future(t) for t in extra_tasks]
    publisher: MqttPublisher | None = None
    try:
        serial = await wait_for_serial(driver, stop)
        if serial is None:
            await driver.close(restore_self_use=False)  # stopped before the first full read
            if dab is not None:
                dab.close_link()
            if loads is not None:
                loads.close()
            return 0
        print(f"inverter {serial} at {cfg.inverter.port}: first full read done", flush=True)
        if cfg.mqtt.enabled:
            await wait_for_identities(dab, bms, stop, limit_s=5.0)
            known = Identities(cfg.site.state_db)
            publisher = make_publisher(
                cfg,
                serial,
                with_dab=dab is not None,
                with_loads=loads is not None,
                dab_id=known.settle("dab", str(dab.board_id) if dab and dab.board_id else None),
                bms_serial=known.settle("bms", bms.serial if bms else None),
            )
            known.close()
            publisher.start()
        out: Callable[[str], None] = (
            (lambda _line: None) if quiet else (lambda line: print(line, flush=True))
        )
        sup = Supervisor(
            cfg,
            clock,
            driver,
            dab,
            publisher,
            out=out,
            loads=loads,
            bms=bms,
            requests=RequestStore(cfg.site.state_db),
            energy=EnergyTotals(cfg.site.state_db),
        )
        api = LocalApi(cfg.site.api_socket, SupervisorApi(sup, config_path), cfg.site.api_group)
        try:
            await api.start()
            print(f"local API on {api.path} (edge menu --socket {api.path})", flush=True)
        except OSError as exc:
            log.warning("local API not started: site.api_socket = %r: %s", api.path, exc)
        try:
            summary = await sup.run(until_s, stop)
        finally:
            await api.stop()
        for line in summary.lines():
            print(line)
        if publisher is not None:
            print(
                f"  MQTT: state on {publisher.topics.state} at {cfg.mqtt.host}:{cfg.mqtt.port},"
                f" discovery sent {publisher.discovery_sent}x"
            )
        return 0
    finally:
        if publisher is not None:
            publisher.stop()
        await cancel_and_wait(tasks)


def _tcp(url: str, key: str) -> tuple[str, int]:
    if not url.startswith("tcp://"):
        raise EdgeError(f"{key} = {url!r}: `edge sim` serves tcp://HOST:PORT only")
    host, _, port = url[len("tcp://") :].rpartition(":")
    return host or "127.0.0.1", int(port)


async def _demo(args: argparse.Namespace) -> int:
    base = load_config(args.config)
    clock = ScaledClock(start_s=NOON_S, speed=args.speed)
    world = SimulatedWorld(
        clock,
        WorldParams(
            house=house_params(base.simulation),
            dab=base.dab.enabled,
            pylontech_port=0,
            inverter_family=base.inverter.family,
        ),
    )
    port, dab_port = await world.start()
    broker: LocalMosquitto | None = None
    mqtt = base.mqtt
    if not args.no_mqtt:
        if args.broker is not None:
            host, bport = args.broker
        else:
            broker = await asyncio.to_thread(LocalMosquitto)
            host, bport = broker.host, broker.port
            print(f"started mosquitto on {host}:{bport}", flush=True)
        mqtt = mqtt.model_copy(update={"host": host, "port": bport, "enabled": True})
    else:
        mqtt = mqtt.model_copy(update={"enabled": False})
    cfg = base.model_copy(
        update={
            "inverter": base.inverter.model_copy(update={"port": f"tcp://127.0.0.1:{port}"}),
            "dab": base.dab.model_copy(update={"port": f"tcp://127.0.0.1:{dab_port or 1}"}),
            # The simulated house keeps no state across runs.
            "site": base.site.model_copy(
                update={
                    "state_db": ":memory:",
                    "api_socket": args.api_socket or base.site.api_socket,
                }
            ),
            "battery": base.battery.model_copy(
                update={"bms_port": f"tcp://127.0.0.1:{world.bms.port}" if world.bms else None}
            ),
            "mqtt": mqtt,
        }
    )
    boards = f", DAB board on tcp://127.0.0.1:{dab_port}" if dab_port else ""
    boards += f", BMS on {cfg.battery.bms_port}" if cfg.battery.bms_port else ""
    print(
        f"simulated house: inverter emulator on tcp://127.0.0.1:{port}{boards}, "
        f"{args.minutes:g} simulated minutes at {args.speed:g}x from {format_time_of_day(NOON_S)}",
        flush=True,
    )
    loads = None
    if cfg.simulation.diverter == "external" and (
        cfg.loads.diverter.enabled or cfg.loads.heat_pump.enabled
    ):
        # The supervisor drives the house's element and heat-pump contacts.
        loads = LoadsDriver(
            EmulatedLoads(world.house),
            cfg.loads.diverter.deadband_w,
            WriteBudget("diverter", cfg.loads.diverter.daily_write_budget),
            clock.now_s,
        )
    try:
        return await _supervise(
            cfg,
            clock,
            until_s=NOON_S + args.minutes * 60.0,
            quiet=args.quiet,
            extra_tasks=[world.run()],
            loads=loads,
            config_path=args.config,
        )
    finally:
        await world.stop()
        if broker is not None:
            broker.stop()


async def _sim(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    host, port = _tcp(cfg.inverter.port, "inverter.port")
    dab_host, dab_port = _tcp(cfg.dab.port, "dab.port") if cfg.dab.enabled else (host, 0)
    clock = ScaledClock(start_s=NOON_S, speed=args.speed)
    world = SimulatedWorld(
        clock,
        WorldParams(
            house=house_params(cfg.simulation),
            host=host,
            inverter_port=port,
            inverter_slave_id=cfg.inverter.slave_id,
            inverter_family=cfg.inverter.family,
            dab=cfg.dab.enabled,
            dab_port=dab_port,
            dab_slave_id=cfg.dab.slave_id,
            pylontech_port=args.pylontech_port,
        ),
    )
    if cfg.dab.enabled and dab_host != host:
        raise EdgeError(f"dab.port = {cfg.dab.port!r}: `edge sim` serves both on one host ({host})")
    await world.start()
    boards = f" and the DAB board on {cfg.dab.port}" if cfg.dab.enabled else ""
    if world.bms is not None:
        boards += f", the Pylontech BMS on tcp://{host}:{world.bms.port}"
    print(
        f"simulated house serving the inverter on {cfg.inverter.port}{boards}; Ctrl-C stops",
        flush=True,
    )
    stop = _stop_event()
    task = asyncio.create_task(world.run())
    try:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 10.0)
            h = world.house.state
            print(
                f"{format_time_of_day(h.t_s)} grid {h.grid_w:+.0f} W pv {h.pv_w:.0f} W"
                f" load {h.load_w:.0f} W battery {h.battery_w:+.0f} W soc {h.soc_pct:.1f} %"
                f" mode {h.mode.value}",
                flush=True,
            )
    finally:
        await cancel_and_wait([task])
        await world.stop()
    return 0


async def _run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    # Local time as seconds since the epoch: the time of day for the log, and whole days
    # for the daily write budget that must not reset on a restart.
    now = time.time()
    clock = ScaledClock(start_s=now + time.localtime(now).tm_gmtoff, speed=1.0)
    until = clock.now_s() + args.minutes * 60.0 if args.minutes else None
    outputs = hardware_loads(cfg, client_id=f"edge-{bridge_id()}")
    loads = (
        LoadsDriver(
            outputs,
            cfg.loads.diverter.deadband_w,
            WriteBudget("diverter", cfg.loads.diverter.daily_write_budget, cfg.site.state_db),
            clock.now_s,
        )
        if outputs is not None
        else None
    )
    d, hp = cfg.loads.diverter, cfg.loads.heat_pump
    if (d.enabled and d.output == "emulated") or (hp.enabled and hp.relays == "emulated"):
        print(
            "loads: 'emulated' diverter outputs and SG-Ready relays exist only in `edge demo`;"
            " `edge run` leaves those alone",
            flush=True,
        )
    return await _supervise(cfg, clock, until, args.quiet, [], loads=loads, config_path=args.config)


def _menu(args: argparse.Namespace) -> int:
    """The Textual menu; it talks to the supervisor through the local API only."""
    from edge.local_api import ApiClient
    from edge.menu.app import EdgeMenu

    socket_path = args.socket
    if socket_path is None:
        if args.config is None:
            raise SystemExit("edge menu: give --socket PATH or --config FILE")
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["flash"]:  # the flasher's own options, --help included
        from host_tools.__main__ import main as host_tools_main

        return host_tools_main(["flash", *argv[1:]])
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "menu":
        return _menu(args)
    # pymodbus reports every retry on its own; our driver reports what matters, once.
    logging.getLogger("pymodbus").setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
    command = {"demo": _demo, "sim": _sim, "run": _run}[args.command]
    try:
        return asyncio.run(command(args))
    except EdgeError as exc:
        print(f"edge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
