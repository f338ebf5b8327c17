"""The composition root: builds every driver, the publisher and the local API from the
site file, and runs the supervisor. The only code that names concrete drivers."""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from edge.clock import ScaledClock, local_clock
from edge.config import EdgeConfig, load_config, require_devices
from edge.drivers.budget import WriteBudget
from edge.drivers.dab.driver import DabDriver
from edge.drivers.loads.hardware import hardware_loads
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.sofar.driver import SofarDriver
from edge.drivers.sofar.g3_driver import SofarG3Driver
from edge.energy import EnergyTotals
from edge.extras import needs
from edge.identities import Identities
from edge.local_api import LocalApi
from edge.mqtt.discovery import DeviceIds
from edge.mqtt.outbox import Outbox
from edge.mqtt.publisher import MqttPublisher
from edge.notify import Notifier
from edge.requests_store import RequestStore
from edge.s2.status import LinkStatus
from edge.state_db import StorageHealth, lock_site
from edge.supervisor import PlanFeed, Supervisor
from edge.supervisor_api import SupervisorApi
from edge.tasks import cancel_and_wait
from edge.trace_log import TraceLog

__all__ = ["RunSignals", "make_publisher", "run_site", "stop_event", "supervise"]
log = logging.getLogger("edge")


def stop_event() -> asyncio.Event:
    """Set on SIGINT/SIGTERM (for `edge sim`, which has no site file to reload: a SIGHUP,
    as a closed SSH session sends, is logged and changes nothing)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(
        signal.SIGHUP, lambda: log.warning("SIGHUP ignored: nothing to reload; SIGTERM stops")
    )
    return stop


class RunSignals:
    """The signals of a run. SIGINT and SIGTERM set `stop`, so the supervisor hands the
    inverter back to its own self-use mode before the process ends. SIGHUP (what a closed
    SSH session sends) reloads the site file as the local API's reload does, through
    `reload` once the supervisor runs; one that comes before waits for it. notify: systemd
    hears RELOADING=1 and READY=1 around each reload (edge/notify.py)."""

    def __init__(self, notify: Notifier | None = None) -> None:
        self.stop = asyncio.Event()
        self.notify = notify if notify is not None else Notifier({})
        self._reload: Callable[[], dict[str, Any]] | None = None
        self._hup_pending = False
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self.stop.set)
        loop.add_signal_handler(signal.SIGTERM, self.stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)

    def reload_with(self, reload: Callable[[], dict[str, Any]]) -> None:
        self._reload = reload
        if self._hup_pending:
            self._hup_pending = False
            self._on_hup()

    def _on_hup(self) -> None:
        if self._reload is None:
            self._hup_pending = True
            log.info("SIGHUP: the site file is read again once the supervisor runs")
            return
        self.notify.reloading()
        try:
            result = self._reload()
        finally:
            self.notify.reloaded()
        if "error" in result:
            # One line in the journal, whatever the error lists.
            error = "; ".join(part.strip() for part in str(result["error"]).splitlines())
            log.warning("SIGHUP: configuration not reloaded: %s", error)
            return
        applied, restart = result["applied"], result["restart_needed"]
        log.info(
            "SIGHUP: configuration reloaded; applied %s%s",
            ", ".join(applied) if applied else "nothing new",
            f"; needs a restart for {', '.join(restart)}" if restart else "",
        )

    def close(self) -> None:
        """The supervisor is done: a SIGHUP from now on is noted and ignored (the handlers
        stay until the event loop closes, so no signal ends the process half-way through
        its shutdown)."""
        self._reload = lambda: {"error": "the run is stopping"}


def bridge_id() -> str:
    return socket.gethostname() or "edge"


def make_publisher(
    cfg: EdgeConfig,
    serial: str,
    with_dab: bool,
    with_loads: bool = False,
    dab_id: str | None = None,
    bms_serial: str | None = None,
    storage: StorageHealth | None = None,
) -> MqttPublisher:
    """The publisher with its durable outbox in site.state_db."""
    devices = []
    if cfg.battery.bms_port is not None:
        devices.append("bms")
    if with_loads and cfg.loads.diverter.enabled:
        devices.append("diverter")
    if with_loads and cfg.loads.heat_pump.enabled:
        devices.append("heat_pump")
    ids = DeviceIds(
        bridge_id=bridge_id(),
        inverter_serial=serial,
        site_name=cfg.site.name,
        dab_id=(dab_id or "1") if with_dab else None,
        bms_serial=bms_serial,
        devices=tuple(devices),
        inverter_family=cfg.inverter.family,
        satellite=(
            cfg.loads.diverter.satellite
            if with_loads
            and cfg.loads.diverter.enabled
            and cfg.loads.diverter.output == "mqtt_satellite"
            else None
        ),
    )
    return MqttPublisher(
        cfg.mqtt,
        ids,
        client_id=f"edge-{bridge_id()}-{serial}",
        site=cfg,
        outbox=Outbox(
            cfg.site.state_db, max_bytes=round(cfg.mqtt.outbox_max_mb * 2**20), health=storage
        ),
        state_db=cfg.site.state_db,
    )


async def wait_for_identities(
    dab: DabDriver | None, bms: PylontechDriver | None, stop: asyncio.Event, limit_s: float
) -> None:
    """Discovery's unique ids come from the DAB board's id and the BMS's serial: give
    them up to limit_s (wall) to answer before discovery goes out."""
    tasks = []
    if dab is not None:
        tasks.append(asyncio.create_task(dab.run(), name="dab-first-read"))
    if bms is not None:
        tasks.append(asyncio.create_task(bms.run(), name="bms-first-read"))
    deadline = asyncio.get_running_loop().time() + limit_s
    try:
        while (
            (dab is not None and dab.board_id is None) or (bms is not None and bms.serial is None)
        ) and not stop.is_set():
            if asyncio.get_running_loop().time() >= deadline:
                return
            await asyncio.sleep(0.05)
    finally:
        await cancel_and_wait(tasks)


async def wait_for_serial(driver: SofarDriver, stop: asyncio.Event) -> str | None:
    """Discovery needs the inverter's serial: poll until the first full read or stop."""
    task = asyncio.create_task(driver.run(), name="inverter-first-read")
    try:
        while driver.serial is None or driver.sample(driver.clock.now_s()) is None:
            if stop.is_set():
                return None
            await asyncio.sleep(0.05)
        while driver.in_io:  # between polls, not mid-request
            await asyncio.sleep(0.005)
        return driver.serial
    finally:
        await cancel_and_wait([task])


async def supervise(
    cfg: EdgeConfig,
    clock: ScaledClock,
    until_s: float | None,
    quiet: bool,
    extra_tasks: list[Awaitable[None]],
    loads: LoadsDriver | None = None,
    config_path: Path | None = None,
    storage: StorageHealth | None = None,
    watch: Callable[[dict[str, Any]], None] | None = None,
    notify: Notifier | None = None,
) -> int:
    """config_path: the site file the config came from (the local API and SIGHUP reload
    it). storage: the health every writer of site.state_db reports to (one per run).
    watch: handed each tick's state document (the demo's dashboard). notify: systemd's
    notify socket (default: from NOTIFY_SOCKET; a no-op without it)."""
    notify = notify if notify is not None else Notifier()
    # A tick comes at least every 1.5 policy.tick_s; the watchdog needs room for two.
    if notify.watchdog_s is not None and notify.watchdog_s < 3.0 * cfg.policy.tick_s:
        log.warning(
            "WatchdogSec=%.0f s is shorter than three ticks (policy.tick_s = %.1f s):"
            " systemd may restart a healthy supervisor",
            notify.watchdog_s,
            cfg.policy.tick_s,
        )
    # The planner's module loads HiGHS and numpy: before any device is polled, so the
    # first readings do not age while it loads.
    planner_module = load_planner(cfg)
    signals = RunSignals(notify)
    stop = signals.stop
    storage = storage if storage is not None else StorageHealth()
    db = cfg.site.state_db
    budget = WriteBudget(
        "inverter", cfg.inverter.daily_write_budget, db, storage, clock.synchronised
    )
    family = SofarG3Driver if cfg.inverter.family == "sofar_hyd_ep" else SofarDriver
    driver = family(cfg.inverter, clock, poll_s=cfg.policy.tick_s, budget=budget)
    dab = (
        DabDriver(
            cfg.dab,
            clock,
            poll_s=cfg.policy.tick_s,
            budget=WriteBudget("dab", cfg.dab.daily_write_budget, db, storage, clock.synchronised),
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
            notify.stopping()
            await driver.close(restore_self_use=False)  # stopped before the first full read
            if dab is not None:
                dab.close_link()
            if loads is not None:
                loads.close()
            return 0
        print(f"inverter {serial} at {cfg.inverter.port}: first full read done", flush=True)
        notify.ready(f"inverter {serial}: first full read done")
        if cfg.mqtt.enabled:
            await wait_for_identities(dab, bms, stop, limit_s=5.0)
            known = Identities(db, storage)
            publisher = make_publisher(
                cfg,
                serial,
                with_dab=dab is not None,
                with_loads=loads is not None,
                dab_id=known.settle("dab", str(dab.board_id) if dab and dab.board_id else None),
                bms_serial=known.settle("bms", bms.serial if bms else None),
                storage=storage,
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
            requests=RequestStore(cfg.site.state_db, clock, storage),
            energy=EnergyTotals(db, storage),
            notify=notify,
            trace=TraceLog(db, storage),
        )
        if watch is not None:
            sup.out = _watched(sup, out, watch)
        tasks += [asyncio.ensure_future(t) for t in s2_links(cfg, sup)]
        tasks += [
            asyncio.ensure_future(t)
            for t in planner_tasks(cfg, sup, clock, storage, planner_module)
        ]
        if planner_module is None:
            sup.planner = draw_history(cfg, sup, clock, storage)
        sup_api = SupervisorApi(sup, config_path)
        signals.reload_with(sup_api.reload)
        api = LocalApi(cfg.site.api_socket, sup_api, cfg.site.api_group)
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
        signals.close()
        if publisher is not None:
            publisher.stop()
        await cancel_and_wait(tasks)


def s2_links(cfg: EdgeConfig, sup: Supervisor) -> list[Awaitable[None]]:
    """The S2 links where the site file enables [s2] (they need the `s2` extra): the
    battery's, its state shown in the supervisor's state document, and the tank's where the
    supervisor drives a diverter with a probe and s2.tank is on."""
    if not cfg.s2.enabled:
        return []
    link = needs("s2", "[s2] enabled = true", lambda: importlib.import_module("edge.s2.link"))
    status = LinkStatus()
    sup.devices = replace(sup.devices, s2=status)
    keep_linked: Callable[..., Awaitable[None]] = link.keep_linked
    links = [keep_linked(cfg, sup, status)]
    more: list[Any] = []  # the other resources, each with a session and a status of its own
    if cfg.s2.tank and sup.loads is not None and cfg.loads.diverter.enabled:
        more.append(link.tank_of(cfg))
    more += link.more_devices(cfg)
    statuses = tuple(LinkStatus(label=d.label) for d in more)
    sup.devices = replace(sup.devices, s2_more=statuses)
    links += [keep_linked(cfg, sup, st, d) for st, d in zip(statuses, more, strict=True)]
    log.info("S2: offering %d resource(s) to the CEM at %s", len(links), cfg.s2.url)
    return links


def load_planner(cfg: EdgeConfig) -> Any:
    """edge/planner/live.py where [planner] is enabled: imported only then (HiGHS and
    numpy are installed with edge, but a Pi that does not plan never loads them)."""
    if not cfg.planner.enabled:
        return None
    return importlib.import_module("edge.planner.live")


def planner_tasks(
    cfg: EdgeConfig, sup: Supervisor, clock: ScaledClock, storage: StorageHealth, live: Any
) -> list[Awaitable[None]]:
    """Where [planner] is enabled (live: its module, from load_planner): the sources'
    runner and the planner's task, the planner's slot handed to each tick's image and its
    status to the state document."""
    if live is None:
        return []
    from edge.planner.status import PlanStatus
    from edge.sources.runner import build_runner

    runner = build_runner(cfg, clock, storage)
    status = PlanStatus()
    publish = sup.publisher.publish_plan if sup.publisher is not None else None
    planner = live.LivePlanner(
        cfg, clock, runner, status, publish=publish, settings=lambda: sup.cfg
    )
    sup.planner = planner
    sup.devices = replace(sup.devices, planner=status)
    log.info("planner: on, re-planning every %.0f s", cfg.planner.replan_s)
    return [runner.run(), planner.run()]


def draw_history(
    cfg: EdgeConfig, sup: Supervisor, clock: ScaledClock, storage: StorageHealth
) -> PlanFeed | None:
    """Where an S2 tank is offered and nothing plans: the tick's powers into the sources'
    history (site.state_db), which the tank's usage forecast reads (docs/s2.md). Where the
    planner runs, its own feed records them."""
    if not (cfg.s2.enabled and cfg.s2.tank and cfg.loads.diverter.enabled and sup.loads):
        return None
    from edge.sources.runner import HistoryFeed, build_runner

    return HistoryFeed(build_runner(cfg, clock, storage))


def _watched(
    sup: Supervisor, out: Callable[[str], None], watch: Callable[[dict[str, Any]], None]
) -> Callable[[str], None]:
    """The tick's line out as before, after its state document to watch."""

    def both(line: str) -> None:
        watch(sup.last_doc)
        out(line)

    return both


async def run_site(config_path: Path, minutes: float | None, quiet: bool) -> int:
    """`edge run`: the supervisor against the devices the site file names, on the wall
    clock (local time)."""
    cfg = load_config(config_path)
    require_devices(cfg, config_path)
    # One supervisor per state file, checked before any device is opened; held until the
    # process ends.
    held = lock_site(cfg.site.state_db)
    try:
        return await _run_locked(cfg, config_path, minutes, quiet)
    finally:
        if held is not None:
            held.close()


async def _run_locked(
    cfg: EdgeConfig, config_path: Path, minutes: float | None, quiet: bool
) -> int:
    storage = StorageHealth()
    clock = local_clock()
    synchronised = clock.synchronised()
    if synchronised is False:
        log.warning(
            "the wall clock is not synchronised (NTP): the times of day in this run's lines"
            " may be off and a stored timed request ends at this start; ages and expiries run"
            " on the monotonic clock"
        )
    elif synchronised is None:
        log.info("the wall clock's NTP status cannot be read here (no adjtimex)")
    until = clock.now_s() + minutes * 60.0 if minutes else None
    outputs = hardware_loads(cfg, client_id=f"edge-{bridge_id()}")
    loads = (
        LoadsDriver(
            outputs,
            cfg.loads.diverter.deadband_w,
            WriteBudget(
                "diverter",
                cfg.loads.diverter.daily_write_budget,
                cfg.site.state_db,
                storage,
                clock.synchronised,
            ),
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
    return await supervise(
        cfg, clock, until, quiet, [], loads=loads, config_path=config_path, storage=storage
    )
