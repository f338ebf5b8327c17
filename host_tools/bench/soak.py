"""Soak benchmark: the whole stack against the emulated house for many simulated hours,
with faults injected at random on every link and the broker restarted at random.

The supervisor is the real one (edge.compose.supervise: drivers, core, MQTT with its
SQLite outbox, the local API), the devices are the emulators behind fault-injecting RS485
wires (edge/sim/wire.py), and the broker is a real Mosquitto that this benchmark stops and
starts again on the same port. What it prints:

- ticks, and time in the safe state against time with the inverter's or the BMS's data
  stale at the decision (sampled every simulated minute through the local API; a sample
  whose data age is within 1 s of its limit is left out as too close to call): safe
  without stale data is lost control, stale without safe would be a safety fault. The
  drivers' timeouts are wall seconds, so at speed X a 1 s timeout lasts X simulated
  seconds: the stale share grows with the speed;
- state documents published (one per tick) against received by a subscriber: lost,
  duplicated and out of order (the outbox must deliver all, once, in order). MQTT's QoS 1
  is at least once: a document in flight when the broker restarts can arrive twice, with
  the same (run, seq); the subscriber drops such repeats as any consumer may, and they are
  counted apart ("repeats"). A duplicate is two documents for one tick;
- writes against each device's daily budget;
- peak RSS and RSS growth per simulated hour after the first hour (a leak shows here);
- open file descriptors at the start and the end.

Not a CI test: run it by hand, e.g. `python -m host_tools bench soak --hours 24`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.clock import ScaledClock
from edge.compose import supervise
from edge.config import EXAMPLE_CONFIG, EdgeConfig, load_config
from edge.drivers.budget import WriteBudget
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.loads.sim import EmulatedLoads
from edge.local_api import ApiClient
from edge.mqtt.broker import LocalMosquitto
from edge.sim.wire import Rs485Wire
from edge.sim.world import SimulatedWorld, WorldParams, house_params

START_S = 6 * 3600.0  # 06:00: a whole day of PV, evening and night follow
WIRE_BAUD = 115200  # fast enough for the supervisor at the benchmark's speed
AGE_MARGIN_S = 1.0  # a data age this close to its limit is too close to call
FAULTS = ("silent", "garbled", "exception", "out_of_range", "unplug")


@dataclass
class Record:
    """What the benchmark saw."""

    received_t_s: list[float] = field(default_factory=list)  # state documents, in arrival
    repeats: int = 0  # documents the broker delivered again (the same run and seq)
    samples: int = 0  # local-API status samples
    unclear: int = 0  # ... whose data age was too close to its limit to say
    safe: int = 0  # ... in the safe state
    stale: int = 0  # ... with a device's data stale
    safe_and_stale: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # link/fault -> injected
    broker_restarts: int = 0
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (hours, RSS MB)
    fds: list[int] = field(default_factory=list)  # open descriptors, every simulated hour
    final_status: dict[str, Any] = field(default_factory=dict)
    fds_start: int = 0
    fds_end: int = 0


def _rss_mb() -> float:
    """Resident set size now (MB), from /proc."""
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Subscriber:
    """Reads every state document the supervisor publishes (QoS 1, a persistent session,
    so a broker restart loses nothing this side either), each (run, seq) once."""

    def __init__(self, host: str, port: int, topic: str, record: Record) -> None:
        self.record = record
        self._lock = threading.Lock()
        self._seen: set[tuple[str, int]] = set()  # (run, seq) of every document received
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="edge-soak", clean_session=False
        )
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        self.client.connect_async(host, port)
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            doc = json.loads(msg.payload)
            key = (str(doc["run"]), int(doc["seq"]))
            if key in self._seen:
                self.record.repeats += 1
                return
            self._seen.add(key)
            self.record.received_t_s.append(float(doc["t_s"]))

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def _inject(
    wires: dict[str, Rs485Wire], clock: ScaledClock, until_s: float, rng: random.Random, r: Record
) -> None:
    """A fault on a random link every 1 to 10 simulated minutes."""
    while clock.now_s() < until_s:
        await clock.sleep(rng.uniform(60.0, 600.0))
        link = rng.choice(sorted(wires))
        fault = rng.choice(FAULTS)
        wire = wires[link]
        r.faults[f"{link}/{fault}"] = r.faults.get(f"{link}/{fault}", 0) + 1
        if fault == "unplug":
            wire.unplug()
            await clock.sleep(rng.uniform(5.0, 120.0))
            wire.plug_in()
        else:
            setattr(wire.faults, fault, rng.randint(1, 5))


def _broker(folder: Path, port: int | None = None) -> LocalMosquitto:
    """A Mosquitto that keeps its sessions in folder across a restart, so the subscriber's
    queued documents survive it as edge's own outbox does."""
    return LocalMosquitto(port, extra_conf=f"persistence true\npersistence_location {folder}/\n")


async def _restart_broker(
    holder: list[LocalMosquitto],
    folder: Path,
    clock: ScaledClock,
    until_s: float,
    rng: random.Random,
    r: Record,
) -> None:
    """The broker stops every 1 to 4 simulated hours, for 0.2 to 6 wall seconds."""
    while clock.now_s() < until_s - 3600.0:
        await clock.sleep(rng.uniform(3600.0, 4 * 3600.0))
        port = holder[0].port
        await asyncio.to_thread(holder[0].stop)
        await asyncio.sleep(rng.uniform(0.2, 6.0))
        holder[0] = await asyncio.to_thread(_broker, folder, port)
        r.broker_restarts += 1


def _stale_at_tick(status: dict[str, Any], now_s: float, limits: dict[str, float]) -> bool | None:
    """Whether the inverter's or the BMS's data was stale when the last decision was made
    (the ages the status gives are at the request, a little after that tick: at high
    speed that is simulated seconds later). None: too close to a limit to say."""
    tick_s = float(status.get("state", {}).get("t_s", now_s))
    verdicts = []
    for name, limit_s in limits.items():
        device = status.get("devices", {}).get(name)
        if device is None:
            continue
        if device.get("age_s") is None:
            verdicts.append(True)
            continue
        age_s = float(device["age_s"]) - (now_s - tick_s)
        if abs(age_s - limit_s) < AGE_MARGIN_S:
            return None
        verdicts.append(age_s > limit_s)
    return any(verdicts)


async def _monitor(
    api_path: str,
    clock: ScaledClock,
    start_s: float,
    until_s: float,
    r: Record,
    limits: dict[str, float],
) -> None:
    """Every simulated minute: safe state and stale data from the local API; every
    simulated hour: RSS. Just before the end: the final status (ticks, budgets)."""
    client = ApiClient(api_path)
    next_rss_s = start_s
    try:
        while clock.now_s() < until_s - 90.0:
            await clock.sleep(60.0)
            try:
                status = await asyncio.to_thread(client.request, "status")
            except OSError:
                continue  # the API is not up yet
            safe = status.get("state", {}).get("safe_state") == "ON"
            # The inverter's and the BMS's data decide the safe state; a stale DAB board
            # only stops the second string.
            stale = _stale_at_tick(status, clock.now_s(), limits)
            if stale is None:
                r.unclear += 1
                continue
            r.samples += 1
            r.safe += safe
            r.stale += stale
            r.safe_and_stale += safe and stale
            if clock.now_s() >= next_rss_s:
                r.rss_mb.append(((clock.now_s() - start_s) / 3600.0, _rss_mb()))
                r.fds.append(_fds())
                next_rss_s += 3600.0
        r.final_status = await asyncio.to_thread(client.request, "status")
    finally:
        client.close()


def _site(folder: Path, base: EdgeConfig) -> EdgeConfig:
    return base.model_copy(
        update={
            "site": base.site.model_copy(
                update={
                    "state_db": str(folder / "state.sqlite"),
                    "api_socket": str(folder / "api.sock"),
                }
            ),
        }
    )


async def soak(hours: float, speed: float, seed: int, config: Path) -> Record:
    r = Record(fds_start=_fds())
    rng = random.Random(seed)
    base = load_config(config)
    clock = ScaledClock(start_s=START_S, speed=speed)
    until_s = START_S + hours * 3600.0
    world = SimulatedWorld(
        clock,
        WorldParams(
            house=house_params(base.simulation),
            dab=base.dab.enabled,
            pylontech_port=0,
            inverter_family=base.inverter.family,
        ),
    )
    inverter_port, dab_port = await world.start()
    targets = {"inverter": inverter_port}
    if dab_port is not None:
        targets["dab"] = dab_port
    if world.bms is not None:
        targets["bms"] = world.bms.port
    wires = {name: Rs485Wire(port, baud=WIRE_BAUD) for name, port in targets.items()}
    ports = {name: f"tcp://127.0.0.1:{await w.start()}" for name, w in wires.items()}
    with tempfile.TemporaryDirectory(prefix="edge-soak-") as tmp:
        broker = [await asyncio.to_thread(_broker, Path(tmp))]
        cfg = _site(Path(tmp), base)
        cfg = cfg.model_copy(
            update={
                "inverter": cfg.inverter.model_copy(update={"port": ports["inverter"]}),
                "dab": cfg.dab.model_copy(update={"port": ports.get("dab", "tcp://127.0.0.1:1")}),
                "battery": cfg.battery.model_copy(update={"bms_port": ports.get("bms")}),
                "mqtt": cfg.mqtt.model_copy(
                    update={"host": broker[0].host, "port": broker[0].port, "enabled": True}
                ),
            }
        )
        sub = Subscriber(broker[0].host, broker[0].port, f"{cfg.mqtt.base_topic}/state", r)
        loads = LoadsDriver(
            EmulatedLoads(world.house),
            cfg.loads.diverter.deadband_w,
            WriteBudget("diverter", cfg.loads.diverter.daily_write_budget),
            clock.now_s,
        )
        tasks: list[Awaitable[None]] = [
            world.run(),
            _inject(wires, clock, until_s, rng, r),
            _restart_broker(broker, Path(tmp), clock, until_s, rng, r),
            _monitor(
                cfg.site.api_socket,
                clock,
                START_S,
                until_s,
                r,
                {"inverter": cfg.inverter.stale_after_s, "bms": cfg.battery.bms_stale_after_s},
            ),
        ]
        try:
            await supervise(cfg, clock, until_s, quiet=True, extra_tasks=tasks, loads=loads)
            await asyncio.sleep(2.0)  # the last documents reach the subscriber
        finally:
            sub.stop()
            for w in wires.values():
                await w.stop()
            await world.stop()
            broker[0].stop()
    r.fds_end = _fds()
    return r


def _report(r: Record, hours: float, wall_s: float) -> dict[str, Any]:
    status = r.final_status
    ticks = int(status.get("ticks", 0))
    last_t_s = float(status.get("state", {}).get("t_s", 0.0))
    got = [t for t in r.received_t_s if t <= last_t_s]
    unique = set(got)
    in_order = all(b > a for a, b in itertools.pairwise(got))
    growth = None
    after_first = [(h, mb) for h, mb in r.rss_mb if h >= 1.0]
    if len(after_first) >= 2:
        growth = statistics.linear_regression(*zip(*after_first, strict=True)).slope
    return {
        "simulated_hours": hours,
        "wall_s": round(wall_s, 1),
        "ticks": ticks,
        "status_samples": r.samples,
        "status_samples_unclear": r.unclear,
        "safe_share": r.safe / r.samples if r.samples else None,
        "stale_share": r.stale / r.samples if r.samples else None,
        "safe_without_stale": r.safe - r.safe_and_stale,
        "stale_without_safe": r.stale - r.safe_and_stale,
        "published": ticks,
        "received": len(got),
        "lost": ticks - len(unique),
        "duplicated": len(got) - len(unique),
        "repeats": r.repeats,
        "in_order": in_order,
        "budgets": status.get("budgets", {}),
        "faults": r.faults,
        "broker_restarts": r.broker_restarts,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_growth_mb_per_h": growth,
        "fds_start": r.fds_start,
        "fds_hourly": r.fds,
        "fds_end": r.fds_end,
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def main(json_path: Path | None, hours: float, speed: float, seed: int = 1) -> int:
    t0 = time.perf_counter()
    record = asyncio.run(soak(hours, speed, seed, EXAMPLE_CONFIG))
    rep = _report(record, hours, time.perf_counter() - t0)
    print(f"soak: {hours:g} simulated hours at {speed:g}x in {rep['wall_s']} s wall")
    print(
        f"  ticks {rep['ticks']}; safe state {_pct(rep['safe_share'])} of the time, stale data"
        f" {_pct(rep['stale_share'])}; safe without stale data: {rep['safe_without_stale']}"
        f" samples, stale without safe: {rep['stale_without_safe']} samples"
        f" ({rep['status_samples_unclear']} samples too close to a limit to call)"
    )
    print(
        f"  state documents: published {rep['published']}, received {rep['received']},"
        f" lost {rep['lost']}, duplicated {rep['duplicated']},"
        f" {'in order' if rep['in_order'] else 'OUT OF ORDER'}; repeats delivered by the"
        f" broker and dropped by (run, seq): {rep['repeats']}"
    )
    for name, b in sorted(rep["budgets"].items()):
        print(f"  writes: {name} {b['used']} of {b['per_day']} a day")
    faults = ", ".join(f"{k} {v}" for k, v in sorted(rep["faults"].items()))
    print(f"  faults injected: {faults or 'none'}; broker restarts: {rep['broker_restarts']}")
    growth = rep["rss_growth_mb_per_h"]
    print(
        f"  peak RSS {rep['peak_rss_mb']:.0f} MB; growth after the first hour"
        f" {'n/a' if growth is None else f'{growth:+.2f} MB per simulated hour'};"
        f" open fds {rep['fds_start']} at the start, {rep['fds_hourly']} each simulated hour,"
        f" {rep['fds_end']} at the end (paho keeps a socket pair per client until it is freed)"
    )
    if json_path is not None:
        json_path.write_text(json.dumps(rep, indent=2) + "\n", encoding="utf-8")
    return 0
