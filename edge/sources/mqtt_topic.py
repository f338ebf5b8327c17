"""One MQTT topic a source reads (prices, the indoor temperature): a subscriber on the
product's client factory whose messages go through the source's own parser."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import paho.mqtt.client as mqtt

from edge.config import MqttConfig
from edge.errors import clip
from edge.mqtt.client import make_client
from edge.sources.series import SourceError

T = TypeVar("T")
MAX_PROBLEM_CHARS = 200  # a source's problem is one line of at most this


class MqttTopic(Generic[T]):
    """Subscribes to `topic`; each message `parse` accepts is handed to on_value, each one
    it refuses (SourceError) to on_problem (its one line), on paho's network thread. paho
    reconnects by itself, and the subscription is made again on each connect.
    retained: whether a retained message (handed over on subscribing, of unknown age)
    counts; without, only messages published while subscribed do."""

    def __init__(
        self,
        cfg: MqttConfig,
        topic: str,
        client_id: str,
        parse: Callable[[bytes], T],
        on_value: Callable[[T], None],
        on_problem: Callable[[str], None],
        retained: bool = True,
    ) -> None:
        self.topic = topic
        self.retained = retained
        self.parse = parse
        self.on_value = on_value
        self.on_problem = on_problem
        self.cfg = cfg
        self.subscribed = threading.Event()
        self._client = make_client(cfg, client_id)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_a: self.subscribed.set()
        self._client.on_message = self._on_message

    def start(self) -> None:
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(self.topic, qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain and not self.retained:
            return
        try:
            value = self.parse(bytes(msg.payload))
        except SourceError as exc:
            self.on_problem(str(exc))
            return
        except Exception as exc:  # a parser's slip must not end paho's network thread
            why = f"{self.topic}: unreadable message: {type(exc).__name__}: {exc}"
            self.on_problem(clip(why, MAX_PROBLEM_CHARS))
            return
        self.on_value(value)
