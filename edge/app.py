"""Composition root: builds drivers, core and publisher from the config and runs the
input-process-output cycle. Only this layer awaits I/O.

Each tick: freeze a process image (latest readings with their ages), call core.decide,
hand the setpoints to the drivers (which write only what changed), publish, and print
one line. The inverter is polled in its own task, so a silent device only ages its data.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from edge.clock import ScaledClock, format_time_of_day
from edge.config import EdgeConfig
from edge.core import BmsReading, CoreConfig, CoreState, ProcessImage, Sample, Setpoints, decide
from edge.core.model import InverterMode, LoadKind, Requests
from edge.drivers.dab.driver import DabDriver, fault_names
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.pylontech.driver import PylontechDriver
from edge.drivers.sofar.driver import SofarDriver
from edge.energy import EnergyTotals
from edge.mqtt.commands import Rejected, apply_command, parse_command, requests_state
from edge.mqtt.discovery import DeviceIds
from edge.mqtt.outbox import Outbox
from edge.mqtt.publisher import MqttPublisher
from edge.requests_store import RequestStore

log = logging.getLogger("edge")

# AC <-> DC conversion efficiency of the ME3000SP, one way (loads-baseline-s2.md §5.6).
INVERTER_EFFICIENCY = 0.95


def core_config(cfg: EdgeConfig) -> CoreConfig:
    return CoreConfig(
        max_charge_w=cfg.inverter.max_charge_w,
        max_discharge_w=cfg.inverter.max_discharge_w,
        reserve_soc_pct=cfg.battery.reserve_soc_pct,
        max_soc_pct=cfg.battery.max_soc_pct,
        inverter_stale_after_s=cfg.inverter.stale_after_s,
        dab_enabled=cfg.dab.enabled,
        dab_max_charge_current_a=cfg.dab.max_charge_current_a,
        dab_stale_after_s=cfg.dab.stale_after_s,
        bms_required=cfg.battery.bms_port is not None,
        bms_stale_after_s=cfg.battery.bms_stale_after_s,
        loads_stale_after_s=cfg.loads.stale_after_s,
        hold_s=cfg.policy.hold_s,
        flip_threshold_w=cfg.policy.flip_threshold_w,
        tank_enabled=cfg.loads.diverter.enabled,
        diverter_element_w=cfg.loads.diverter.element_w,
        tank_max_degc=cfg.loads.diverter.tank_max_degc,
        loads_priority=tuple(map(LoadKind, cfg.loads.priority)),
        hp_enabled=cfg.loads.heat_pump.enabled,
        hp_power_w=cfg.loads.heat_pump.power_w,
        hp_confirm_s=cfg.loads.heat_pump.confirm_s,
        hp_release_s=cfg.loads.heat_pump.release_s,
        hp_min_on_s=cfg.loads.heat_pump.min_on_s,
        hp_min_off_s=cfg.loads.heat_pump.min_off_s,
        hp_max_starts_per_h=cfg.loads.heat_pump.max_starts_per_h,
    )


@dataclass
class Summary:
    """What a run did, integrated from the supervisor's own readings."""

    ticks: int = 0
    start_s: float | None = None
    end_s: float = 0.0
    import_wh: float = 0.0
    export_wh: float = 0.0
    charge_wh: float = 0.0
    discharge_wh: float = 0.0
    dab_wh: float = 0.0
    peak_import_w: float = 0.0
    safe_ticks: int = 0
    soc_first_pct: float | None = None
    soc_last_pct: float | None = None
    inverter_writes: int = 0
    commands_accepted: int = 0
    commands_refused: int = 0
    # The latest decision changes with their time, bounded for runs of months.
    decisions: deque[str] = field(default_factory=lambda: deque(maxlen=100))

    def lines(self) -> list[str]:
        minutes = (self.end_s - (self.start_s or self.end_s)) / 60.0
        soc = (
            f"; SOC {self.soc_first_pct:.1f} -> {self.soc_last_pct:.1f} %"
            if self.soc_first_pct is not None and self.soc_last_pct is not None
            else ""
        )
        return [
            f"summary: {self.ticks} ticks over {minutes:.1f} simulated minutes",
            f"  grid: import {self.import_wh / 1000:.3f} kWh,"
            f" export {self.export_wh / 1000:.3f} kWh, peak import {self.peak_import_w:.0f} W",
            f"  battery: charged {self.charge_wh / 1000:.3f} kWh, discharged"
            f" {self.discharge_wh / 1000:.3f} kWh{soc}",
            f"  DAB string: {self.dab_wh:.1f} Wh charged",
            f"  inverter writes: {self.inverter_writes}; ticks in safe state: {self.safe_ticks}",
            f"  commands: {self.commands_accepted} accepted, {self.commands_refused} refused",
        ]


class Supervisor:
    def __init__(
        self,
        cfg: EdgeConfig,
        clock: ScaledClock,
        inverter: SofarDriver,
        dab: DabDriver | None,
        publisher: MqttPublisher | None,
        out: Callable[[str], None] = print,
        loads: LoadsDriver | None = None,
        bms: PylontechDriver | None = None,
        requests: RequestStore | None = None,
        energy: EnergyTotals | None = None,
    ) -> None:
        self.cfg = cfg
        self.energy = energy if energy is not None else EnergyTotals()
        self._energy_sent_s: float | None = None
        self.store = requests or RequestStore()
        self.requests: Requests = self.store.load()
        self._wake = asyncio.Event()  # a command arrived: decide now
        self.last_doc: dict[str, Any] = {}  # the latest state document (MQTT, local API)
        self.restart_pending: list[str] = []  # config keys changed that need a restart
        self._background: set[asyncio.Task[None]] = set()
        self.loads = loads
        self.bms = bms
        self.core_cfg = core_config(cfg)
        self.clock = clock
        self.inverter = inverter
        self.dab = dab
        self.publisher = publisher
        self.out = out
        self.state = CoreState()
        self.summary = Summary()
        self._online: dict[str, bool] = {}

    def _account(self, image: ProcessImage, sp: Setpoints, dt_s: float) -> None:
        s = self.summary
        s.ticks += 1
        s.inverter_writes = self.inverter.writes.total
        if sp.inverter.mode is InverterMode.SELF_USE:
            s.safe_ticks += 1
        if image.inverter is not None:
            r = image.inverter.value
            h = dt_s / 3600.0
            s.import_wh += max(r.grid_power_w, 0.0) * h
            s.export_wh += max(-r.grid_power_w, 0.0) * h
            s.charge_wh += max(-r.battery_power_w, 0.0) * h
            s.discharge_wh += max(r.battery_power_w, 0.0) * h
            s.peak_import_w = max(s.peak_import_w, r.grid_power_w)
            if s.soc_first_pct is None:
                s.soc_first_pct = r.battery_soc_pct
            s.soc_last_pct = r.battery_soc_pct
        if image.dab is not None:
            d = image.dab.value
            s.dab_wh += max(d.charge_current_a * d.string_voltage_v, 0.0) * dt_s / 3600.0

    def _line(self, image: ProcessImage, sp: Setpoints) -> str:
        t = format_time_of_day(image.t_s)
        cmd = (
            "self-use (safe)"
            if sp.inverter.mode is InverterMode.SELF_USE
            else f"passive {sp.inverter.battery_power_w:+5.0f} W"
        )
        if image.inverter is None:
            return f"{t}  inverter: no data | cmd {cmd} | {sp.reason}"
        r = image.inverter.value
        extra = ""
        if image.dab is not None:
            extra = f" | dab {image.dab.value.charge_current_a:+5.2f} A"
        if image.loads is not None:
            ld = image.loads.value
            tank = f" {ld.tank_temp_degc:.1f} degC" if ld.tank_temp_degc is not None else ""
            extra += f" | tank {ld.heater_w:4.0f} W{tank} | hp {sp.sg_ready.value}"
        return (
            f"{t}  grid {r.grid_power_w:+6.0f} W | pv {r.pv_power_w:5.0f} W | load "
            f"{r.load_power_w:5.0f} W | battery {r.battery_power_w:+6.0f} W soc "
            f"{r.battery_soc_pct:3.0f} %{extra} | cmd {cmd} | {sp.reason}"
        )

    def _state_doc(self, image: ProcessImage, sp: Setpoints) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "t_s": round(image.t_s, 3),  # the supervisor's clock: when this was true
            "mode": sp.inverter.mode.value,
            "reason": sp.reason,
            "inverter_writes": self.inverter.writes.total,
            "safe_state": "ON" if sp.inverter.mode is InverterMode.SELF_USE else "OFF",
            **requests_state(self.requests, image.t_s, self.cfg),
            "export_over_limit_w": round(sp.export_over_limit_w, 1),
            "export_over_limit": "ON" if sp.export_over_limit_w > 0 else "OFF",
        }
        if self.bms is not None:
            b = self.bms.sample(image.t_s)
            if b is not None:
                v = b.value
                doc.update(
                    bms_charge_limit_a=round(v.charge_limit_a, 1),
                    bms_discharge_limit_a=round(v.discharge_limit_a, 1),
                    bms_cell_min_v=v.cell_min_v,
                    bms_cell_max_v=v.cell_max_v,
                    bms_cell_spread_mv=(
                        round(v.cell_spread_mv, 1) if v.cell_spread_mv is not None else None
                    ),
                    bms_temp_max_degc=v.temp_max_degc,
                    bms_soc_pct=round(v.soc_pct, 1) if v.soc_pct is not None else None,
                    bms_alarm="ON" if v.alarms else "OFF",
                    bms_alarms="; ".join(v.alarms) or "none",
                )
        if self.loads is not None and image.loads is not None:
            ld = image.loads.value
            doc.update(
                diverter_setpoint_w=round(sp.diverter_w, 1),
                heater_power_w=round(ld.heater_w, 1),
                heat_pump_power_w=round(ld.heat_pump_w, 1),
                heat_pump_sg_ready=sp.sg_ready.value,
                tank_temp_degc=ld.tank_temp_degc,
                diverter_writes=self.loads.writes.diverter,
            )
        live = self.inverter.last_live
        if image.inverter is not None and live is not None:
            r = image.inverter.value
            doc.update(
                grid_power_w=r.grid_power_w,
                battery_power_w=r.battery_power_w,
                load_power_w=r.load_power_w,
                pv_power_w=r.pv_power_w,
                battery_soc_pct=r.battery_soc_pct,
                battery_voltage_v=round(live.battery_voltage_v, 2),
                battery_temp_degc=live.battery_temp_degc,
                inverter_state=live.running_state,
                inverter_fault="ON" if any(live.fault_words) else "OFF",
                import_today_kwh=round(live.import_today_kwh, 2),
                export_today_kwh=round(live.export_today_kwh, 2),
                pv_today_kwh=round(live.pv_today_kwh, 2),
                battery_charge_today_kwh=round(live.battery_charge_today_kwh, 2),
                battery_discharge_today_kwh=round(live.battery_discharge_today_kwh, 2),
            )
        if image.dab is not None:
            d = image.dab.value
            doc.update(
                dab_charge_current_a=round(d.charge_current_a, 3),
                dab_string_voltage_v=round(d.string_voltage_v, 3),
                dab_power_w=round(d.charge_current_a * d.string_voltage_v, 1),
            )
        if self.dab is not None:
            doc.update(dab_startup=self.dab.startup.value, dab_writes=self.dab.writes)
            t = self.dab.telemetry
            if t is not None:
                doc.update(
                    dab_tripped="ON" if t.faults_latched else "OFF",
                    dab_faults=fault_names(t.faults_latched) or "none",
                )
        return doc

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

    def _bms_sample(self, now_s: float) -> Sample[BmsReading] | None:
        """The BMS's current limits as AC-side power, at the pack voltage the inverter
        last reported and its conversion efficiency."""
        s = self.bms.sample(now_s) if self.bms is not None else None
        live = self.inverter.last_live
        if s is None or live is None:
            return None
        v = live.battery_voltage_v
        return Sample(
            BmsReading(
                s.value.charge_limit_a * v / INVERTER_EFFICIENCY,
                s.value.discharge_limit_a * v * INVERTER_EFFICIENCY,
            ),
            s.age_s,
        )

    async def tick(self, dt_s: float) -> Setpoints:
        now = self.clock.now_s()
        image = ProcessImage(
            t_s=now,
            inverter=self.inverter.sample(now),
            dab=self.dab.sample(now) if self.dab is not None else None,
            loads=self.loads.sample(now) if self.loads is not None else None,
            bms=self._bms_sample(now),
            requests=self.requests,
        )
        sp, new_state = decide(image, self.core_cfg, self.state)
        if new_state.reason != self.state.reason:
            log.info("decision: %s", new_state.reason)
            self.summary.decisions.append(f"{format_time_of_day(now)} {new_state.reason}")
        self.state = new_state
        await self.inverter.apply(sp.inverter)
        if self.dab is not None:
            await self.dab.apply(sp.dab_charge_current_a)
        if self.loads is not None:
            self.loads.apply(sp.diverter_w, sp.sg_ready)
        if self.summary.start_s is None:
            self.summary.start_s = now
        self.summary.end_s = now
        self._account(image, sp, dt_s)
        self.energy.add(image, dt_s)
        period_s = self.cfg.mqtt.energy_period_s
        if self._energy_sent_s is None or now - self._energy_sent_s >= period_s:
            self._energy_sent_s = now
            self.energy.save()
            if self.publisher is not None:
                self.publisher.publish_counters(self.energy.doc(now))
        doc = self.last_doc = self._state_doc(image, sp)
        if self.publisher is not None:
            fresh = {
                "inverter": image.inverter is not None
                and image.inverter.age_s <= self.cfg.inverter.stale_after_s
            }
            if self.bms is not None:
                b = self.bms.sample(now)
                fresh["bms"] = b is not None and b.age_s <= self.cfg.battery.bms_stale_after_s
            if self.dab is not None:
                fresh["dab"] = (
                    image.dab is not None and image.dab.age_s <= self.cfg.dab.stale_after_s
                )
            for device, online in fresh.items():
                if self._online.get(device) != online:
                    self.publisher.publish_device_status(device, online)
                    self._online[device] = online
            self.publisher.publish_state(doc)
        self.out(self._line(image, sp))
        return sp

    def command(self, key: str, payload: bytes, retained: bool) -> dict[str, Any]:
        """One command from MQTT or the local API (in the event loop): validated against
        the config, then applied to the requests, kept in SQLite, and decided on at once.
        Returns (and publishes) the outcome."""
        cmd = parse_command(key, payload, retained, time.time(), self.cfg)
        result: dict[str, Any] = {"command": key, "payload": payload.decode("utf-8", "replace")}
        if isinstance(cmd, Rejected):
            self.summary.commands_refused += 1
            log.warning("command %s refused: %s", key, cmd.reason)
            result.update(accepted=False, reason=cmd.reason)
        else:
            self.summary.commands_accepted += 1
            self.requests = apply_command(self.requests, cmd, self.clock.now_s())
            self.store.save(self.requests)
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
        """Take the live settings of `new` (edge/supervisor_api.py's LIVE_PREFIXES) at
        once; the others keep their running values until a restart."""
        from edge.supervisor_api import flatten, is_live

        merged = self.cfg.model_dump()
        for key, value in flatten(new.model_dump()).items():
            if is_live(key):
                *path, leaf = key.split(".")
                node = merged
                for part in path:
                    node = node[part]
                node[leaf] = value
        cfg = EdgeConfig.model_validate(merged)
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
        polls = [asyncio.create_task(_keep_polling("inverter", self.inverter.run))]
        if self.bms is not None:
            polls.append(asyncio.create_task(_keep_polling("BMS", self.bms.run)))
        if self.dab is not None:
            polls.append(asyncio.create_task(_keep_polling("DAB board", self.dab.run)))
        tick_s = self.cfg.policy.tick_s
        if self.publisher is not None:
            loop = asyncio.get_running_loop()

            def from_mqtt_thread(key: str, payload: bytes, retained: bool) -> None:
                loop.call_soon_threadsafe(self.command, key, payload, retained)

            self.publisher.on_command = from_mqtt_thread
        try:
            await self._first_readings(stop)
            last_t = self.clock.now_s()
            while not stop.is_set() and (until_s is None or self.clock.now_s() < until_s):
                # A poll that is a little late must not cause a tick of its own: wait up to
                # 1.5 ticks for fresh data before deciding without it.
                wait_s = max(0.0, last_t + 1.5 * tick_s - self.clock.now_s()) / self.clock.speed
                await _first_of((stop, self.inverter.fresh, self._wake), wait_s)
                if stop.is_set():
                    break
                self.inverter.fresh.clear()
                self._wake.clear()
                now = self.clock.now_s()
                await self.tick(now - last_t)
                last_t = now
        finally:
            await cancel_and_wait(polls)
            # Leave the inverter in its own self-use mode and the DAB bridge off, whatever
            # ended the run.
            await self.inverter.close(restore_self_use=True)
            if self.dab is not None:
                await self.dab.close()
            if self.loads is not None:
                self.loads.close()
            if self.bms is not None:
                self.bms.close()
            if self.publisher is not None:
                self.publisher.on_command = None
            self.store.close()
            if self.publisher is not None:  # the totals as they stand at the end
                self.publisher.publish_counters(self.energy.doc(self.clock.now_s()))
            self.energy.close()
        return self.summary


async def cancel_and_wait(tasks: list[asyncio.Task[Any]], tries: int = 20) -> None:
    """Cancel tasks and wait until they have ended. A cancel can be lost: before Python
    3.12, asyncio.wait_for swallows one that arrives as its awaitable completes (pymodbus
    and the BMS driver wait that way), and the task polls on; so cancel again until done."""
    for _ in range(tries):
        pending = [t for t in tasks if not t.done()]
        if not pending:
            return
        for t in pending:
            t.cancel()
        await asyncio.wait(pending, timeout=0.5)
    names = [t.get_name() for t in tasks if not t.done()]
    if names:
        log.error("tasks still running after %d cancels: %s", tries, ", ".join(names))


async def _keep_polling(name: str, poll: Callable[[], Awaitable[None]]) -> None:
    """Run one device's poll task; a bug that escapes it is logged and the task restarted
    after a second, so one device's failure never stops the others (its data only ages,
    and the core's staleness check answers for it)."""
    while True:
        try:
            await poll()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s poll task failed; restarting it in 1 s", name)
            await asyncio.sleep(1.0)


async def _first_of(events: tuple[asyncio.Event, ...], timeout_s: float) -> None:
    """Return when any of `events` is set or after timeout_s (wall seconds)."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


def bridge_id() -> str:
    return socket.gethostname() or "edge"


def make_publisher(
    cfg: EdgeConfig,
    serial: str,
    with_dab: bool,
    with_loads: bool = False,
    dab_id: str | None = None,
    bms_serial: str | None = None,
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
    )
    return MqttPublisher(
        cfg.mqtt,
        ids,
        client_id=f"edge-{bridge_id()}-{serial}",
        site=cfg,
        outbox=Outbox(cfg.site.state_db, max_bytes=round(cfg.mqtt.outbox_max_mb * 2**20)),
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
