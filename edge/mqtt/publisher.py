"""Thin paho-mqtt shell: availability with a last will, discovery, state.

The will (`<base>/status` = offline, retained) is set before connecting, and `online`
is published retained on every connect. Discovery (one payload per device) is published
retained on connect and again whenever Home Assistant announces itself online on
`<prefix>/status` (docs/reference/ha-mqtt-discovery.md §5); on the first connect after
an upgrade from per-entity discovery it goes out as the migration's middle step
(edge/mqtt/migration.py), on a thread of its own. paho's own network thread reconnects.

The client speaks MQTT 5 so that it can subscribe to commands with Retain As Published:
under MQTT 3.1.1 the broker clears the retain flag of a message it forwards live, so a
command published retained while we are connected would look like any other, and act
again on every reconnect. A command's result is bounded: its strings are cut to
MAX_ECHO_CHARS with a marker, whatever the payload was.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.config import EdgeConfig, MqttConfig
from edge.errors import clip
from edge.mqtt.client import diagnose, make_client
from edge.mqtt.discovery import DeviceIds, Topics, discovery_messages, legacy_topics
from edge.mqtt.migration import LAYOUT, SETTLE_S, DiscoveryLayout, migrate
from edge.mqtt.outbox import Outbox, OutboxSender

log = logging.getLogger("edge.mqtt")

MAX_ECHO_CHARS = 200  # a string in a command's result (the payload, the key), at most
MAX_KEY_CHARS = 64  # a command key longer than any known one is cut before it is logged


class MqttPublisher:
    def __init__(
        self,
        cfg: MqttConfig,
        ids: DeviceIds,
        client_id: str,
        site: EdgeConfig | None = None,
        outbox: Outbox | None = None,
        state_db: str = ":memory:",
        settle_s: float = SETTLE_S,
    ) -> None:
        """site: the whole config, for the commands' bounds in discovery; state_db: where
        the discovery layout is remembered (site.state_db); settle_s: the migration's
        pause between steps."""
        self.cfg = cfg
        self.site = site
        self.ids = ids
        self.topics = Topics(cfg.discovery_prefix, cfg.base_topic)
        self.connected = threading.Event()
        self.discovery_sent = 0  # how many times the full discovery set went out
        self.run_id = secrets.token_hex(4)  # with seq, names each state and energy document
        self._seq = 0
        self.layout = DiscoveryLayout(state_db)
        self.settle_s = settle_s
        self._migrating: threading.Thread | None = None
        self._stopping = threading.Event()  # ends a migration under way
        # Called from paho's network thread with (key, payload, retained) for every message
        # on <base>/cmd/<key>; the supervisor hands it over to its event loop.
        self.on_command: Callable[[str, bytes, bool], None] | None = None
        self._client = make_client(cfg, client_id, MQTTProtocolVersion.MQTTv5)
        self._client.will_set(self.topics.status, "offline", qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self.connect_failure: str | None = None  # the latest diagnosis, while failing
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        # Telemetry and counters go through the durable outbox (QoS 1), in order.
        self.sender = OutboxSender(
            outbox if outbox is not None else Outbox(),
            publish=lambda topic, payload: self._client.publish(topic, payload, qos=1).mid,
            ready=self.connected.is_set,
        )

    def start(self) -> None:
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            why = f"broker {self.cfg.host}:{self.cfg.port} refused the connection: {rc}"
            if why != self.connect_failure:
                log.warning("MQTT: %s (check mqtt.username and mqtt.password)", why)
            self.connect_failure = why
            return
        log.info("MQTT connected to %s:%s", self.cfg.host, self.cfg.port)
        self.connect_failure = None
        client.publish(self.topics.status, "online", qos=1, retain=True)
        client.subscribe(self.topics.ha_status, qos=1)
        # The retain flag as the sender set it, also on live delivery (MQTT 5 §3.8.3.1).
        client.subscribe(
            self.topics.command("+"), options=SubscribeOptions(qos=1, retainAsPublished=True)
        )
        self.publish_discovery()
        self.connected.set()
        self.sender.wake()

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        why = diagnose(self.cfg)
        if why != self.connect_failure:  # once per distinct cause, not every retry
            log.warning("MQTT: %s; retrying", why)
        self.connect_failure = why

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected.clear()
        if rc.is_failure:
            log.warning(
                "MQTT connection to %s:%s lost (%s); reconnecting", self.cfg.host, self.cfg.port, rc
            )

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.topics.ha_status and msg.payload == b"online":
            log.info("Home Assistant came online: discovery published again")
            self.publish_discovery()
            return
        key = self.topics.command_key(msg.topic)
        if key is not None and self.on_command is not None:
            self.on_command(clip(key, MAX_KEY_CHARS), bytes(msg.payload), bool(msg.retain))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        self.sender.acked(mid)  # never blocks: paho holds its locks here

    def publish_discovery(self) -> None:
        """The device payloads; through the migration while it is not done (never twice
        at once: a birth message during the migration is answered by its middle step)."""
        if self._migrating is not None and self._migrating.is_alive():
            return
        messages = discovery_messages(self.ids, self.topics, cfg=self.site)
        if self.layout.current() == LAYOUT:
            for topic, payload in messages:
                self._client.publish(topic, payload, qos=1, retain=True)
            self.discovery_sent += 1
            return
        self._migrating = threading.Thread(
            target=self._migrate, args=(messages,), name="discovery-migration", daemon=True
        )
        self._migrating.start()

    def _migrate(self, messages: list[tuple[str, str]]) -> None:
        def publish(topic: str, payload: str) -> Callable[[float], bool]:
            info = self._client.publish(topic, payload, qos=1, retain=True)

            def acked(timeout_s: float) -> bool:
                try:
                    info.wait_for_publish(timeout_s)
                except (RuntimeError, ValueError):  # disconnected, or refused by paho
                    return False
                return info.is_published()

            return acked

        legacy = legacy_topics(self.ids, self.topics, cfg=self.site)
        if migrate(publish, legacy, messages, self.settle_s, self._stopping):
            self.layout.set(LAYOUT)
            self.discovery_sent += 1

    def publish_device_status(self, device: str, online: bool) -> None:
        self._client.publish(
            self.topics.device_status(device), "online" if online else "offline", qos=1, retain=True
        )

    def publish_state(self, state: dict[str, Any]) -> None:
        """One telemetry sample: kept in the outbox until the broker has it."""
        self.sender.send(self.topics.state, self._numbered(state), "sample")

    def publish_plan(self, plan: dict[str, Any]) -> None:
        """The planner's whole plan (retained: a new subscriber sees the latest at once;
        each plan replaces the one before, so it needs no outbox)."""
        payload = json.dumps(plan, separators=(",", ":"))
        self._client.publish(self.topics.plan, payload, qos=1, retain=True)

    def publish_counters(self, counters: dict[str, Any]) -> None:
        """Energy totals: kept in the outbox until the broker has them, never thinned."""
        self.sender.send(self.topics.energy, self._numbered(counters), "counter")

    def _numbered(self, doc: dict[str, Any]) -> bytes:
        """The document with its identity: `run` (new at each start) and `seq` (1, 2, ...
        in the order of publication, state and energy documents counted together). QoS 1
        is at least once: a document in flight when the broker restarts can arrive twice,
        and a consumer that must see each once drops a (run, seq) it has already seen."""
        self._seq += 1
        return json.dumps({**doc, "run": self.run_id, "seq": self._seq}, sort_keys=True).encode()

    def publish_command_result(self, result: dict[str, Any]) -> None:
        """What became of a command: accepted, or refused with the reason (not retained).
        Strings are cut to MAX_ECHO_CHARS: a 1 MB payload is not echoed back."""
        bounded = {
            k: clip(v, MAX_ECHO_CHARS) if isinstance(v, str) else v for k, v in result.items()
        }
        self._client.publish(
            self.topics.command_result, json.dumps(bounded, sort_keys=True), qos=1, retain=False
        )

    def stop(self) -> None:
        """Deliver what is queued (up to 5 s; the rest stays in the outbox for the next
        start), say offline (as the will would), then disconnect cleanly."""
        self.sender.flush(5.0)
        self._stopping.set()
        if self.connected.is_set():
            info = self._client.publish(self.topics.status, "offline", qos=1, retain=True)
            info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()
        if self._migrating is not None:
            self._migrating.join(timeout=5.0)
        self.layout.close()
        self.sender.stop()
        self.sender.outbox.close()
