"""Thin paho-mqtt shell: availability with a last will, discovery, state.

The will (`<base>/status` = offline, retained) is set before connecting, and `online`
is published retained on every connect. Discovery is published retained on connect and
again whenever Home Assistant announces itself online on `<prefix>/status`
(shared/reference/ha-mqtt-discovery.md §5). paho's own network thread reconnects.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import MqttConfig
from edge.mqtt.discovery import DeviceIds, Topics, discovery_messages

log = logging.getLogger("edge.mqtt")


class MqttPublisher:
    def __init__(
        self, cfg: MqttConfig, ids: DeviceIds, client_id: str, max_charge_w: float = 3000.0
    ) -> None:
        self.cfg = cfg
        self.max_charge_w = max_charge_w
        self.ids = ids
        self.topics = Topics(cfg.discovery_prefix, cfg.base_topic)
        self.connected = threading.Event()
        self.discovery_sent = 0  # how many times the full discovery set went out
        # Called from paho's network thread with (key, payload, retained) for every message
        # on <base>/cmd/<key>; the supervisor hands it over to its event loop.
        self.on_command: Callable[[str, bytes, bool], None] | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if cfg.username is not None:
            self._client.username_pw_set(cfg.username, cfg.password)
        self._client.will_set(self.topics.status, "offline", qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def start(self) -> None:
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.warning(
                "MQTT broker %s:%s refused the connection: %s", self.cfg.host, self.cfg.port, rc
            )
            return
        log.info("MQTT connected to %s:%s", self.cfg.host, self.cfg.port)
        client.publish(self.topics.status, "online", qos=1, retain=True)
        client.subscribe(self.topics.ha_status, qos=1)
        client.subscribe(self.topics.command("+"), qos=1)
        self.publish_discovery()
        self.connected.set()

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
            self.on_command(key, bytes(msg.payload), bool(msg.retain))

    def publish_discovery(self) -> None:
        for topic, payload in discovery_messages(
            self.ids, self.topics, max_charge_w=self.max_charge_w
        ):
            self._client.publish(topic, payload, qos=1, retain=True)
        self.discovery_sent += 1

    def publish_device_status(self, device: str, online: bool) -> None:
        self._client.publish(
            self.topics.device_status(device), "online" if online else "offline", qos=1, retain=True
        )

    def publish_state(self, state: dict[str, Any]) -> None:
        self._client.publish(self.topics.state, json.dumps(state, sort_keys=True), qos=0)

    def publish_command_result(self, result: dict[str, Any]) -> None:
        """What became of a command: accepted, or refused with the reason (not retained)."""
        self._client.publish(
            self.topics.command_result, json.dumps(result, sort_keys=True), qos=1, retain=False
        )

    def stop(self) -> None:
        """Say offline (as the will would), then disconnect cleanly."""
        if self.connected.is_set():
            info = self._client.publish(self.topics.status, "offline", qos=1, retain=True)
            info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()
