"""The simulated house's indoor temperature on MQTT, as a Home Assistant room sensor puts
it there: what `edge demo` plans the heat pump from (sources.indoor_temp_topic;
docs/sources.md, "Indoor temperature").

Each message is the temperature now (degC, two decimals), published every period_s of the
simulated clock, QoS 1 and not retained: the supervisor counts only a message published
while it listens (a retained one is of unknown age), so a reading that stops coming goes
stale there as a dead sensor's would. The payload is a plain number (as Home Assistant's
MQTT statestream publishes a sensor's state), or JSON with the number at
sources.indoor_temp_field (dotted for nested objects) where the site file names one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from edge.clock import Clock
from edge.config import MqttConfig
from edge.mqtt.client import make_client

PERIOD_S = 180.0  # a reading every 3 simulated minutes, as a room sensor reports
CONNECT_POLL_S = 0.1  # while not connected, look again this soon (real s: a link's time)
STALE_SHARE = 0.25  # at most a quarter of the staleness limit apart: never judged stale


def period_s(stale_after_s: float) -> float:
    """How often (simulated s) to publish for a supervisor that drops a reading older than
    stale_after_s (sources.indoor_temp_stale_after_s): PERIOD_S, or closer where the limit
    is short, so three readings lost in a row still leave a fresh one."""
    return min(PERIOD_S, STALE_SHARE * stale_after_s)


def indoor_payload(degc: float, field: str | None = None) -> bytes:
    """One message: `20.43`, or with field "a.b" `{"a": {"b": 20.43}}`."""
    value = round(degc, 2)
    if field is None:
        return f"{value:.2f}".encode()
    doc: Any = value
    for key in reversed(field.split(".")):
        doc = {key: doc}
    return json.dumps(doc).encode()


class IndoorTempPublisher:
    """Publishes read_degc() on `topic` every period_s of `clock` from the start; run() is
    the task (cancel to stop). The client is the product's (credentials, TLS), so the
    demo's readings reach any broker the site file names."""

    def __init__(
        self,
        cfg: MqttConfig,
        topic: str,
        read_degc: Callable[[], float],
        clock: Clock,
        *,
        field: str | None = None,
        every_s: float = PERIOD_S,
        client_id: str = "edge-sim-indoor",
    ) -> None:
        if not every_s > 0:
            raise ValueError(f"every_s = {every_s!r}: must be > 0")
        self.cfg, self.topic, self.field = cfg, topic, field
        self.read_degc, self.clock, self.every_s = read_degc, clock, every_s
        self.published = 0  # messages handed to the client
        self._client = make_client(cfg, client_id)

    async def run(self) -> None:
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        self._client.loop_start()
        try:
            while True:
                # Only while connected: a reading queued through an outage would arrive
                # late and look fresh, as a sensor's never does.
                if self._client.is_connected():
                    payload = indoor_payload(self.read_degc(), self.field)
                    self._client.publish(self.topic, payload, qos=1, retain=False)
                    self.published += 1
                    await self.clock.sleep(self.every_s)
                else:
                    await asyncio.sleep(CONNECT_POLL_S)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
