"""`edge demo` (the simulated house end to end) and `edge sim` (serve the simulated
house's devices on the ports a site file names). Both need the `sim` extra.

`edge demo` shows a live dashboard (edge/sim/dashboard.py) when standard output is a
terminal, one line per tick otherwise or with --plain, and ends with a picture of the run
(--png, default in the system's temporary directory)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

from edge.clock import ScaledClock, format_time_of_day
from edge.compose import stop_event, supervise
from edge.config import load_config
from edge.drivers.budget import WriteBudget
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.loads.sim import EmulatedLoads
from edge.errors import EdgeError
from edge.mqtt.broker import LocalMosquitto
from edge.sim.dashboard import DemoDashboard, History, write_png
from edge.sim.demo_config import plans_heat_pump, with_planned_house
from edge.sim.indoor import IndoorTempPublisher, period_s
from edge.sim.weather import SimulatedWeather, WeatherServer
from edge.sim.world import SimulatedWorld, WorldParams, house_params
from edge.tasks import cancel_and_wait

NOON_S = 12 * 3600.0


def _tcp(url: str, key: str) -> tuple[str, int]:
    if not url.startswith("tcp://"):
        raise EdgeError(f"{key} = {url!r}: `edge sim` serves tcp://HOST:PORT only")
    host, _, port = url[len("tcp://") :].rpartition(":")
    return host or "127.0.0.1", int(port)


def _png_path(asked: Path | None) -> Path:
    """Where the picture goes, checked before the run: a path that cannot be written is
    a one-line error now, not after the run."""
    png = asked or Path(tempfile.gettempdir()) / time.strftime("edge-demo-%Y%m%d-%H%M%S.png")
    folder = next((p for p in png.absolute().parents if p.exists()), Path("/"))
    if png.is_dir():
        raise EdgeError(f"--png {str(png)!r}: is a folder; give a file name ending in .png")
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise EdgeError(f"--png {str(png)!r}: cannot write in {str(folder)!r}")
    return png


async def demo(args: argparse.Namespace) -> int:
    png = _png_path(args.png)
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
    # The heat pump in the plan: the house's room temperature on MQTT, its weather from a
    # local forecast server (edge/sim/demo_config.py); without MQTT there is no reading.
    house_planned = plans_heat_pump(base) and not args.no_mqtt
    weather: WeatherServer | None = None
    if house_planned:
        weather = WeatherServer(SimulatedWeather(world.house.p, clock))
        try:
            base = with_planned_house(base, weather.url, f"{args.config} (with the demo's house)")
        except EdgeError:
            weather.stop()
            raise
        if base.sources.pv == "open_meteo" and base.sources.open_meteo_url == weather.url:
            weather.start()
        else:  # the site file names a forecast of its own
            weather.stop()
            weather = None
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
    tasks: list[Awaitable[None]] = [world.run()]
    src = cfg.sources
    if house_planned and src.indoor_temp_topic is not None:
        indoor = IndoorTempPublisher(
            cfg.mqtt,
            src.indoor_temp_topic,
            world.indoor_degc,
            clock,
            field=src.indoor_temp_field,
            every_s=period_s(src.indoor_temp_stale_after_s),
            client_id=f"{cfg.mqtt.base_topic}-sim-indoor",
        )
        tasks.append(indoor.run())
        served = f"; its weather on {weather.url}" if weather is not None else ""
        print(
            f"simulated room temperature on {src.indoor_temp_topic} every"
            f" {indoor.every_s / 60:g} simulated min{served}",
            flush=True,
        )
    end_s = NOON_S + args.minutes * 60.0
    # The dashboard on a terminal; plain lines in a log, in CI, or when asked.
    on_screen = sys.stdout.isatty() and not (args.plain or args.quiet)
    dashboard = DemoDashboard(NOON_S, end_s) if on_screen else None
    history = dashboard.history if dashboard is not None else History()
    live = _live(dashboard) if dashboard is not None else contextlib.nullcontext()
    try:
        with live:
            code = await supervise(
                cfg,
                clock,
                until_s=end_s,
                quiet=args.quiet or dashboard is not None,
                extra_tasks=tasks,
                loads=loads,
                config_path=args.config,
                watch=dashboard.update if dashboard is not None else history.add,
            )
    finally:
        await world.stop()
        if weather is not None:
            weather.stop()
        if broker is not None:
            broker.stop()
    if history.t_s:
        try:
            print(f"picture of the run: {await asyncio.to_thread(write_png, history, png)}")
        except OSError as exc:
            print(f"edge: --png {str(png)!r}: not written: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return code


@contextlib.contextmanager
def _live(dashboard: DemoDashboard) -> Iterator[None]:
    """The dashboard, redrawn 4 times a second. What is printed or logged meanwhile goes
    above it: the log's handlers write to the stream rich puts in place of stderr."""
    from rich.live import Live

    with Live(get_renderable=dashboard.render, refresh_per_second=4):
        handlers = [
            h
            for h in logging.getLogger().handlers
            if isinstance(h, logging.StreamHandler) and h.stream is sys.__stderr__
        ]
        for h in handlers:
            h.setStream(sys.stderr)
        try:
            yield
        finally:
            for h in handlers:
                h.setStream(sys.__stderr__)


async def sim(args: argparse.Namespace) -> int:
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
    stop = stop_event()  # before serving: a signal from then on is handled, never fatal
    await world.start()
    boards = f" and the DAB board on {cfg.dab.port}" if cfg.dab.enabled else ""
    if world.bms is not None:
        boards += f", the Pylontech BMS on tcp://{host}:{world.bms.port}"
    print(
        f"simulated house serving the inverter on {cfg.inverter.port}{boards}; Ctrl-C stops",
        flush=True,
    )
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
