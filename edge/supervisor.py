"""The live loop: the input-process-output cycle over the device ports. Only this layer
and the composition root await I/O.

Each tick: freeze a process image (latest readings with their ages), call core.decide,
hand the setpoints to the drivers (which write only what changed), publish, and print
one line. Each device is polled in its own task, so a silent device only ages its data.
The devices come as ports (edge/drivers/ports.py); edge/compose.py builds them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from edge.clock import ScaledClock, format_time_of_day
from edge.config import EdgeConfig
from edge.core import CoreState, ProcessImage, Setpoints, decide
from edge.core.model import PlannedSlot, Requests
from edge.decision_log import DecisionLog
from edge.drivers.ports import BmsPort, DabPort, InverterPort, LoadsPort
from edge.energy import EnergyTotals
from edge.image import take_image
from edge.mqtt.commands import Rejected, apply_command, parse_command
from edge.mqtt.publisher import MqttPublisher
from edge.mqtt.sources import Devices
from edge.mqtt.state import state_doc
from edge.notify import Notifier
from edge.requests_store import RequestStore
from edge.settings import core_config, merge_live
from edge.summary import Summary, tick_line
from edge.tasks import cancel_and_wait, first_of, keep_polling
from edge.trace_log import TraceLog

log = logging.getLogger("edge")

MAX_ECHO_BYTES = 200  # of a command's payload, echoed in its result
MAX_KEY_CHARS = 64


class PlanFeed(Protocol):
    """The live planner as the tick sees it (edge/planner/live.py): the slot in force for
    the image, and each tick's image back (its powers go into the sources' history)."""

    def slot(self, now_s: float) -> PlannedSlot | None: ...

    def observe(self, image: ProcessImage) -> None: ...


class Supervisor:
    def __init__(
        self,
        cfg: EdgeConfig,
        clock: ScaledClock,
        inverter: InverterPort,
        dab: DabPort | None,
        publisher: MqttPublisher | None,
        out: Callable[[str], None] = print,
        loads: LoadsPort | None = None,
        bms: BmsPort | None = None,
        requests: RequestStore | None = None,
        energy: EnergyTotals | None = None,
        notify: Notifier | None = None,
        trace: TraceLog | None = None,
    ) -> None:
        self.cfg = cfg
        self.core_cfg = core_config(cfg)
        self.clock = clock
        self.inverter = inverter
        self.dab = dab
        self.loads = loads
        self.bms = bms
        self.publisher = publisher
        self.out = out
        self.energy = energy if energy is not None else EnergyTotals()
        self.notify = notify if notify is not None else Notifier({})  # systemd (edge/notify.py)
        self.trace = trace  # the per-minute trace and decisions in the state database
        # The state file's health is the one the stores share (edge/compose.py).
        self.devices = Devices(inverter, dab, bms, loads, self.energy.health)
        self._energy_sent_s: float | None = None
        self.store = requests or RequestStore(health=self.energy.health)
        self.requests: Requests = self.store.load()
        self._wake = asyncio.Event()  # a command arrived: decide now
        self.last_doc: dict[str, Any] = {}  # the latest state document (MQTT, local API)
        self.restart_pending: list[str] = []  # config keys changed that need a restart
        self._background: set[asyncio.Task[None]] = set()
        self.state = CoreState()
        self.summary = Summary()
        self.decisions = DecisionLog()  # the decision lines of the log (edge/decision_log.py)
        self._online: dict[str, bool] = {}
        self.planner: PlanFeed | None = None  # set by the composition root ([planner])

    async def _first_readings(self, stop: asyncio.Event) -> None:
        """At start-up, wait for the BMS's and the DAB board's first answers (each at most
        its staleness limit), so the first decision is not a safe state that only says a
        device has not answered yet."""
        waits: list[tuple[Callable[[float], object | None], float]] = []
        if self.bms is not None:
            waits.append((self.bms.sample, self.cfg.battery.bms_stale_after_s))
        if self.dab is not None:
            waits.append((self.dab.sample, self.cfg.dab.stale_after_s))
        start = self.clock.now_s()
        for sample, limit_s in waits:
            while sample(self.clock.now_s()) is None and not stop.is_set():
                if self.clock.now_s() >= start + limit_s:
                    break
                await asyncio.sleep(0.02)

    async def tick(self, dt_s: float) -> Setpoints:
        now = self.clock.now_s()
        image = take_image(now, self.inverter, self.dab, self.loads, self.bms, self.requests)
        if self.planner is not None:
            image = replace(image, plan=self.planner.slot(now))
        sp, new_state = decide(image, self.core_cfg, self.state)
        if self.planner is not None:
            self.planner.observe(image)
        lines, began = self.decisions.update(now, new_state.reason)
        for line in lines:
            log.info("%s", line)
        if began:
            self.summary.decisions.append(f"{format_time_of_day(now)} {new_state.reason}")
            if self.trace is not None:
                self.trace.decision(self.clock.wall_s(), now, new_state.reason)
        if self.trace is not None:
            self.trace.add(image, new_state.reason, self.clock.wall_s(), dt_s)
        self.state = new_state
        await self.inverter.apply(sp.inverter)
        if self.dab is not None:
            await self.dab.apply(sp.dab_charge_current_a)
        if self.loads is not None:
            self.loads.apply(sp.diverter_w, sp.sg_ready)
        self.summary.account(image, sp, dt_s, self.inverter.writes.total)
        self.energy.add(image, dt_s)
        period_s = self.cfg.mqtt.energy_period_s
        if self._energy_sent_s is None or now - self._energy_sent_s >= period_s:
            self._energy_sent_s = now
            self.energy.save()
            if self.publisher is not None:
                self.publisher.publish_counters(self.energy.doc(now))
        doc = self.last_doc = state_doc(image, sp, self.devices, self.requests, self.cfg)
        if self.publisher is not None:
            self._publish(image, doc)
        self.out(tick_line(image, sp))
        self.notify.tick(sp.reason)  # the watchdog is fed here only: a hung loop misses it
        return sp

    def _publish(self, image: ProcessImage, doc: dict[str, Any]) -> None:
        """The state document, and each device's availability when it changes (from the
        ages in this tick's image; the BMS's own, as the image holds it only as power)."""
        assert self.publisher is not None
        inv, d = image.inverter, image.dab
        fresh = {"inverter": inv is not None and inv.age_s <= self.cfg.inverter.stale_after_s}
        if self.bms is not None:
            b = self.bms.sample(image.t_s)
            fresh["bms"] = b is not None and b.age_s <= self.cfg.battery.bms_stale_after_s
        if self.dab is not None:
            fresh["dab"] = d is not None and d.age_s <= self.cfg.dab.stale_after_s
        for device, online in fresh.items():
            if self._online.get(device) != online:
                self.publisher.publish_device_status(device, online)
                self._online[device] = online
        self.publisher.publish_state(doc)

    def command(self, key: str, payload: bytes, retained: bool) -> dict[str, Any]:
        """One command from MQTT or the local API (in the event loop): validated against
        the config, then applied to the requests, kept in SQLite, and decided on at once.
        Returns (and publishes) the outcome."""
        cmd = parse_command(key, payload, retained, time.time(), self.cfg)
        shown = payload[:MAX_ECHO_BYTES].decode("utf-8", "replace")
        if len(payload) > MAX_ECHO_BYTES:
            shown += f"... ({len(payload)} bytes in all)"
        result: dict[str, Any] = {"command": key[:MAX_KEY_CHARS], "payload": shown}
        if isinstance(cmd, Rejected):
            self.summary.commands_refused += 1
            log.warning("command %s refused: %s", key[:MAX_KEY_CHARS], cmd.reason)
            result.update(accepted=False, reason=cmd.reason)
        else:
            self.summary.commands_accepted += 1
            self.requests = apply_command(self.requests, cmd, self.clock.now_s())
            self.store.save(self.requests)  # off the loop; a failed write is reported
            log.info("command %s accepted: %r", key, cmd.value)
            if key == "clear_trip" and self.dab is not None and self.dab.live:
                task = asyncio.create_task(self._clear_dab_trip())
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            result.update(accepted=True, value=cmd.value, for_s=cmd.for_s)
            self._wake.set()
        if self.publisher is not None:
            self.publisher.publish_command_result(result)
        return result

    def apply_config(self, new: EdgeConfig, restart_pending: list[str]) -> None:
        """Take the live settings of `new` (edge/settings.py) at once; the others keep
        their running values until a restart."""
        cfg = merge_live(self.cfg, new)
        self.cfg, self.core_cfg = cfg, core_config(cfg)
        self.inverter.cfg = cfg.inverter
        if self.dab is not None:
            self.dab.cfg = cfg.dab
        if self.loads is not None:
            self.loads.deadband_w = cfg.loads.diverter.deadband_w
        self.restart_pending = restart_pending
        log.info(
            "configuration reloaded%s",
            f"; needs a restart for {', '.join(restart_pending)}" if restart_pending else "",
        )
        self._wake.set()

    async def _clear_dab_trip(self) -> None:
        assert self.dab is not None
        try:
            await self.dab.clear_trip()
        except Exception as exc:  # a refused or lost write: reported, the loop goes on
            log.warning("clear trip on the DAB board failed: %s", exc)

    async def run(self, until_s: float | None, stop: asyncio.Event) -> Summary:
        """Decide on every fresh inverter reading, and at least every policy.tick_s of
        the clock (so stale data is noticed), until until_s (clock seconds) or stop."""
        polls = [asyncio.create_task(keep_polling("inverter", self.inverter.run))]
        if self.bms is not None:
            polls.append(asyncio.create_task(keep_polling("BMS", self.bms.run)))
        if self.dab is not None:
            polls.append(asyncio.create_task(keep_polling("DAB board", self.dab.run)))
        tick_s = self.cfg.policy.tick_s
        if self.publisher is not None:
            loop = asyncio.get_running_loop()

            def from_mqtt_thread(key: str, payload: bytes, retained: bool) -> None:
                loop.call_soon_threadsafe(self.command, key, payload, retained)

            self.publisher.on_command = from_mqtt_thread
        try:
            await self._first_readings(stop)
            unsynchronised = self.clock.synchronised() is False
            last_t = self.clock.now_s()
            while not stop.is_set() and (until_s is None or self.clock.now_s() < until_s):
                # A poll that is a little late must not cause a tick of its own: wait up to
                # 1.5 ticks for fresh data before deciding without it.
                wait_s = max(0.0, last_t + 1.5 * tick_s - self.clock.now_s()) / self.clock.speed
                await first_of((stop, self.inverter.fresh, self._wake), wait_s)
                if stop.is_set():
                    break
                self.inverter.fresh.clear()
                self._wake.clear()
                step_s = self.clock.wall_step_s()
                if step_s is not None:
                    log.warning(
                        "the wall clock stepped %+.0f s: ages and expiries run on the monotonic"
                        " clock and are unchanged; the times of day in this run's lines keep"
                        " the reckoning of its start",
                        step_s,
                    )
                    self.store.save(self.requests)  # a restart measures from the new wall
                if unsynchronised and self.clock.synchronised():
                    unsynchronised = False
                    log.info("the wall clock is synchronised now (NTP)")
                now = self.clock.now_s()
                await self.tick(now - last_t)
                last_t = now
        finally:
            self.notify.stopping()
            await cancel_and_wait(polls)
            await self._close()
        return self.summary

    async def _close(self) -> None:
        """Leave the inverter in its own self-use mode and the DAB bridge off, whatever
        ended the run, and keep the totals as they stand. Each step in its own try: one
        that fails (a lost link, a full disk) is logged and never skips the rest."""

        async def inverter() -> None:
            await self.inverter.close(restore_self_use=True)

        async def dab() -> None:
            if self.dab is not None:
                await self.dab.close()

        def counters() -> None:
            if self.publisher is not None:
                self.publisher.on_command = None
                self.publisher.publish_counters(self.energy.doc(self.clock.now_s()))

        steps: list[tuple[str, Callable[[], object]]] = [
            ("inverter", inverter),
            ("DAB board", dab),
            ("loads", lambda: self.loads.close() if self.loads is not None else None),
            ("BMS", lambda: self.bms.close() if self.bms is not None else None),
            ("requests", self.store.close),
            ("energy counters", counters),
            ("energy totals", self.energy.close),
            ("trace", lambda: self.trace.close() if self.trace is not None else None),
        ]
        for name, step in steps:
            try:
                result = step()
                if asyncio.iscoroutine(result):
                    await result
            except Exception as exc:
                log.error("closing %s failed (%s); going on with the rest", name, exc)
