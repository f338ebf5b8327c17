"""Benchmark of the MQTT side:

- the sustained publish rate to a local Mosquitto, QoS 1 through the durable outbox, while
  a control tick runs on the same event loop (each tick one core.decide on a kettle-house
  image), with the tick's lateness against its schedule (p50, p99). The publisher hands
  over state documents as fast as they are delivered (it waits while more than
  BACKLOG_ROWS are queued); the rate counts what a subscriber received;
- the outbox's disk and memory for a day offline at the default telemetry rate (one state
  document a tick, policy.tick_s = 1 s, and the energy totals every mqtt.energy_period_s),
  measured on an hour of real-size documents in a real SQLite file and scaled to the day;
- the tick's lateness when, on every tick, the inverter's write budget counts a write and
  the requests are saved (the worst case: a write and a command each tick), in a real
  SQLite file: their commits run on writer threads (edge/state_writer.py), not the tick.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import tracemalloc
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from edge.config import EdgeConfig, MqttConfig
from edge.core import CoreState, decide
from edge.core.model import Requests
from edge.drivers.budget import WriteBudget
from edge.energy import TOTALS
from edge.mqtt.broker import LocalMosquitto
from edge.mqtt.client import make_client
from edge.mqtt.discovery import DeviceIds
from edge.mqtt.entities import SENSORS
from edge.mqtt.outbox import Outbox
from edge.mqtt.publisher import MqttPublisher
from edge.requests_store import RequestStore
from edge.settings import core_config
from edge.sim import closed_loop, scenarios
from edge.sim.house import House

TICK_S = 0.05  # the bench's control tick: 20 per second, to gather lateness quickly
BACKLOG_ROWS = 2000  # the publisher waits while more than this is queued


def state_doc(k: int) -> dict[str, Any]:
    """A state document of the real size: every state key the entities read, with
    values of realistic width."""
    doc: dict[str, Any] = {"t_s": 43200.0 + k, "mode": "passive", "reason": "self-consumption"}
    for s in SENSORS:
        if s.topic == "state":
            doc[s.key] = round(1234.567 + k % 97, 3) if s.unit else "normal"
    for key in ("emergency_stop", "safe_state", "boost_hot_water", "bms_alarm"):
        doc[key] = "OFF"
    return doc


def _percentile(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1]


async def publish_under_tick(pub: MqttPublisher | None, seconds: float) -> tuple[int, list[float]]:
    """Publish as fast as the loop allows while the tick runs; returns (samples handed to
    the publisher, tick lateness in ms)."""
    cfg = core_config(EdgeConfig())
    house = House(scenarios.KETTLE_HOUSE, start_s=43200.0)
    image = closed_loop.image_of(house)
    loop = asyncio.get_running_loop()
    start = loop.time()
    lateness: list[float] = []
    sent = 0

    async def tick() -> None:
        state = CoreState()
        k = 1
        while loop.time() < start + seconds:
            due = start + k * TICK_S
            await asyncio.sleep(max(0.0, due - loop.time()))
            lateness.append((loop.time() - due) * 1000.0)
            _, state = decide(image, cfg, state)
            k += 1

    async def flood() -> None:
        nonlocal sent
        if pub is None:
            return  # the tick alone: its lateness without publishing
        doc = state_doc(0)
        payload_doc = dict(doc)
        while loop.time() < start + seconds:
            if len(pub.sender.outbox) > BACKLOG_ROWS:
                await asyncio.sleep(0.005)  # back-pressure: as fast as it is delivered
                continue
            for _ in range(20):
                payload_doc["seq"] = sent
                pub.publish_state(payload_doc)
                sent += 1
            await asyncio.sleep(0)

    await asyncio.gather(tick(), flood())
    return sent, lateness


def sustained(seconds: float) -> dict[str, Any]:
    broker = LocalMosquitto()
    received = 0
    reader = make_client(MqttConfig(host=broker.host, port=broker.port), "edge-bench-reader")

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        nonlocal received
        received += 1

    reader.on_message = on_message
    reader.connect(broker.host, broker.port)
    reader.subscribe("edge/state", qos=1)
    reader.loop_start()
    with TemporaryDirectory() as tmp:
        outbox = Outbox(str(Path(tmp) / "state.sqlite"), max_bytes=10**12)  # no thinning
        pub = MqttPublisher(
            MqttConfig(host=broker.host, port=broker.port),
            DeviceIds("bench", "S1", "Bench"),
            "edge-bench",
            outbox=outbox,
        )
        pub.start()
        try:
            if not pub.connected.wait(10):
                raise RuntimeError("the bench publisher did not connect")
            t0 = time.monotonic()
            sent, lateness = asyncio.run(publish_under_tick(pub, seconds))
            # Everything handed over is delivered: wait for the outbox to drain.
            pub.sender.flush(120.0)
            while received < sent and time.monotonic() - t0 < seconds + 120:
                time.sleep(0.05)
            elapsed = time.monotonic() - t0
        finally:
            pub.stop()
            reader.loop_stop()
            broker.stop()
    _, idle = asyncio.run(publish_under_tick(None, min(seconds, 5.0)))
    return {
        "publish_msgs_per_second": round(received / elapsed, 1),
        "tick_lateness_ms_p99_without_publishing": round(_percentile(idle, 99), 3),
        "published": sent,
        "received": received,
        "tick_s": TICK_S,
        "tick_lateness_ms_p50": round(_percentile(lateness, 50), 3),
        "tick_lateness_ms_p99": round(_percentile(lateness, 99), 3),
    }


def offline_day(hours: float = 1.0) -> dict[str, Any]:
    """Queue `hours` of telemetry with no broker and scale the cost to a day."""
    period_s = EdgeConfig().policy.tick_s
    energy_s = EdgeConfig().mqtt.energy_period_s
    samples = round(hours * 3600 / period_s)
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.sqlite"
        tracemalloc.start()
        outbox = Outbox(str(path), max_bytes=10**12)
        before = tracemalloc.get_traced_memory()[0]
        for k in range(samples):
            outbox.put("edge/state", json.dumps(state_doc(k), sort_keys=True).encode(), "sample")
            if k % round(energy_s / period_s) == 0:
                totals = {name: 1234.5678 for name in TOTALS}
                outbox.put("edge/energy", json.dumps(totals).encode(), "counter")
            outbox.write()  # what the sender thread does after each put
        heap = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        outbox._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        on_disk = sum(p.stat().st_size for p in Path(tmp).iterdir())
        rows = len(outbox)
        outbox.close()
    scale = 24.0 / hours
    return {
        "outbox_bytes_per_day": round(on_disk * scale),
        "outbox_memory_bytes": heap,
        "outbox_rows_per_day": round(rows * scale),
        "state_doc_bytes": len(json.dumps(state_doc(0), sort_keys=True)),
        "telemetry_period_s": period_s,
    }


async def tick_with_writes(
    budget: WriteBudget, store: RequestStore, seconds: float
) -> tuple[list[float], list[float]]:
    """The tick of publish_under_tick, counting a write and saving the requests each time;
    returns its lateness and the time it spent in those two calls, in ms."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    lateness: list[float] = []
    in_writes: list[float] = []
    k = 1
    while loop.time() < start + seconds:
        due = start + k * TICK_S
        await asyncio.sleep(max(0.0, due - loop.time()))
        lateness.append((loop.time() - due) * 1000.0)
        t0 = time.perf_counter()
        budget.take(43200.0 + k)
        store.save(Requests(force_charge_w=float(k % 3000), force_charge_until_s=1e9))
        in_writes.append((time.perf_counter() - t0) * 1000.0)
        k += 1
    return lateness, in_writes


def state_file_writes(seconds: float) -> dict[str, Any]:
    with TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "state.sqlite")
        budget = WriteBudget("inverter", 10**9, db)
        store = RequestStore(db)
        try:
            lateness, in_writes = asyncio.run(tick_with_writes(budget, store, seconds))
        finally:
            budget.close()
            store.close()
    return {
        "tick_lateness_ms_p50_writing_budget_and_requests": round(_percentile(lateness, 50), 3),
        "tick_lateness_ms_p99_writing_budget_and_requests": round(_percentile(lateness, 99), 3),
        "tick_ms_in_budget_and_requests_writes_p50": round(_percentile(in_writes, 50), 4),
        "tick_ms_in_budget_and_requests_writes_p99": round(_percentile(in_writes, 99), 4),
    }


def main(json_path: Path | None, quick: bool = False) -> int:
    results = {
        **sustained(3.0 if quick else 20.0),
        **offline_day(0.25 if quick else 1.0),
        **state_file_writes(3.0 if quick else 20.0),
    }
    for key, value in results.items():
        print(f"{key:<50} {value:>14}")
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {json_path}")
    return 0
