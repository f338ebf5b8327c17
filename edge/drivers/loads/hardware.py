"""Real load backends behind the LoadOutputs port (edge/drivers/loads/port.py):

- BurstFireOutput: the immersion element through a zero-cross SSR on one GPIO line.
  Power is set in whole mains cycles, spread by a first-order sigma-delta, so that after
  any number of cycles the energy delivered is within one cycle of duty x cycles (a
  steady, flicker-friendly pattern, e.g. 30 % = on, off, off, on, off, off, on, ...). The
  SSR switches at the next zero crossing by itself, so the task's timing jitter moves an
  edge by at most one half-cycle and never cuts a half-wave.
- GpioSgRelays: the heat pump's two SG-Ready contacts on two GPIO lines (relays).
- W1TankSensor: a DS18B20-style 1-Wire probe read from its sysfs file.
- MqttSatelliteDiverter: a remote diverter (the tank satellite, board/tank-satellite: a
  Pico W or ESP32 with its own SSR and probe) over MQTT: commands to
  <base>/satellite/<name>/set as {"power_w", "sent_s", "sent_ms"} (never retained;
  sent_ms is the same Unix time in whole ms, exact on a board whose floats are single
  precision; the satellite drops stale, replayed and retained ones and switches off on
  its own when commands stop), its state from <base>/satellite/<name>/state as
  {"power_w", "tank_temp_degc"} plus, from the satellite's firmware, "reason" (why the
  element is off, or "ok"), "refused" (the last refused command's reason), "version",
  "uptime_s", "mem_free_b", "rssi_dbm"; and <base>/satellite/<name>/availability,
  "online"/"offline" retained (the satellite's last will). The command is sent again
  every refresh_s (5 s) even when it has not changed, so the satellite keeps its setting
  and answers with its state; a satellite that goes silent or offline ages its reading,
  and the core's loads staleness check takes over.

GPIO goes through libgpiod's v2 Python binding (`pip install gpiod`), imported only when
a GPIO backend is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from edge.config import EdgeConfig, MqttConfig
from edge.core.model import LoadsReading
from edge.errors import ConfigError
from edge.mqtt.client import make_client

log = logging.getLogger("edge.loads")


class OutputLines(Protocol):
    def set(self, line: int, on: bool) -> None: ...


class GpiodLines:
    """Output lines of one GPIO chip through libgpiod v2, all starting inactive."""

    def __init__(self, chip: str, lines: Sequence[int], consumer: str, key: str) -> None:
        try:
            import gpiod
            from gpiod.line import Direction, Value
        except ImportError:
            raise ConfigError(
                f"{key}: GPIO outputs need libgpiod's Python binding: pip install gpiod"
            ) from None
        self._value = Value
        settings = gpiod.LineSettings(direction=Direction.OUTPUT, output_value=Value.INACTIVE)
        try:
            self._request = gpiod.request_lines(
                chip, consumer=consumer, config={line: settings for line in lines}
            )
        except OSError as exc:
            raise ConfigError(f"{key}: cannot claim lines {list(lines)} of {chip}: {exc}") from None

    def set(self, line: int, on: bool) -> None:
        self._request.set_value(line, self._value.ACTIVE if on else self._value.INACTIVE)


class BurstFireOutput:
    """Proportional power in whole mains cycles through a zero-cross SSR."""

    def __init__(self, lines: OutputLines, line: int, element_w: float, mains_hz: int) -> None:
        self.lines, self.line = lines, line
        self.element_w = element_w
        self.cycle_s = 1.0 / mains_hz
        self.duty = 0.0
        self._acc = 0.0
        self._on = False
        self.cycles = self.cycles_on = 0
        lines.set(line, False)

    def set_power_w(self, power_w: float) -> None:
        self.duty = min(1.0, max(0.0, power_w / self.element_w))

    def step(self) -> bool:
        """One mains cycle: on or off, keeping the delivered cycles within one of the
        duty's share (first-order sigma-delta)."""
        self._acc += self.duty
        on = self._acc >= 1.0 - 1e-9
        if on:
            self._acc -= 1.0
        if on != self._on:
            self.lines.set(self.line, on)
            self._on = on
        self.cycles += 1
        self.cycles_on += on
        return on

    @property
    def power_w(self) -> float:
        """The element's power as commanded (no current sensor on this output)."""
        return self.duty * self.element_w

    async def run(self) -> None:
        """Step once per mains cycle on the wall clock until cancelled; then off."""
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        try:
            while True:
                self.step()
                next_t += self.cycle_s
                delay = next_t - loop.time()
                if delay < -1.0:  # the process was stopped: do not catch up in a burst
                    next_t = loop.time()
                await asyncio.sleep(max(0.0, delay))
        finally:
            self.lines.set(self.line, False)
            self._on = False


class GpioSgRelays:
    def __init__(self, lines: OutputLines, relay1_line: int, relay2_line: int) -> None:
        self.lines, self.relay1, self.relay2 = lines, relay1_line, relay2_line
        self.contacts = (False, False)

    def set_contacts(self, contact1: bool, contact2: bool) -> None:
        self.lines.set(self.relay1, contact1)
        self.lines.set(self.relay2, contact2)
        self.contacts = (contact1, contact2)


class W1TankSensor:
    """A 1-Wire probe's sysfs file: `temperature` (millidegrees) or `w1_slave` (two lines,
    the first ending YES when the CRC is good, the second '... t=45312')."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.failures = 0
        self._last_problem: str | None = None

    def read_degc(self) -> float | None:
        try:
            text = self.path.read_text(encoding="ascii")
            if self.path.name == "w1_slave":
                first, _, second = text.partition("\n")
                if not first.strip().endswith("YES"):
                    raise ValueError("CRC check failed")
                text = second.rpartition("t=")[2]
            degc = int(text.strip()) / 1000.0
            # 85.000 is the DS18B20's power-on value, not a measurement.
            if not -30.0 <= degc <= 110.0 or degc == 85.0:
                raise ValueError(f"{degc:g} degC is implausible")
        except (OSError, ValueError) as exc:
            self.failures += 1
            problem = f"tank sensor {self.path}: {exc}"
            if problem != self._last_problem:
                log.warning("%s; tank temperature unknown", problem)
                self._last_problem = problem
            return None
        self._last_problem = None
        return degc


class MqttSatelliteDiverter:
    """A remote diverter over MQTT; see the module's docstring for its topics."""

    def __init__(self, cfg: MqttConfig, name: str, client_id: str, refresh_s: float = 5.0) -> None:
        self.refresh_s = refresh_s  # the command again after this long (s), changed or not
        self._sent_at: float | None = None  # time.monotonic() of the last command
        self._sent_ms = 0  # the last command's sent_ms (Unix time, ms)
        self.set_topic = f"{cfg.base_topic}/satellite/{name}/set"
        self.state_topic = f"{cfg.base_topic}/satellite/{name}/state"
        self.availability_topic = f"{cfg.base_topic}/satellite/{name}/availability"
        self.status: dict[str, Any] = {}  # the satellite's own report (STATUS_FIELDS)
        self.online: bool | None = None  # its availability; None: not heard
        self.commanded_w = 0.0
        self.reported_w: float | None = None
        self.tank_temp_degc: float | None = None
        self.rejected = 0
        self._reported_at: float | None = None  # time.monotonic()
        self._lock = threading.Lock()
        self._client = make_client(cfg, client_id)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.connect_async(cfg.host, cfg.port, keepalive=30)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe([(self.state_topic, 1), (self.availability_topic, 1)])

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.availability_topic:
            self._on_availability(bytes(msg.payload))
            return
        try:
            doc = json.loads(msg.payload)
            power = float(doc["power_w"])
            temp = doc.get("tank_temp_degc")
            temp = None if temp is None else float(temp)
            if not (math.isfinite(power) and 0.0 <= power <= 10000.0):
                raise ValueError(f"power_w = {power!r}")
            if temp is not None and not -30.0 <= temp <= 110.0:
                raise ValueError(f"tank_temp_degc = {temp!r}")
        except (ValueError, KeyError, TypeError) as exc:
            self.rejected += 1
            log.warning("diverter satellite: state on %s rejected: %s", self.state_topic, exc)
            return
        status = _status(doc)
        reason = status.get("reason")
        if reason is not None and reason != self.status.get("reason"):
            log.info("diverter satellite: %s", reason)
        with self._lock:
            self.reported_w, self.tank_temp_degc = power, temp
            self.status = status
            self._reported_at = time.monotonic()

    def _on_availability(self, payload: bytes) -> None:
        online = payload == b"online"
        if online != self.online:
            log.log(
                logging.INFO if online else logging.WARNING,
                "diverter satellite %s",
                "online" if online else "offline (its last will, or it said goodbye)",
            )
        with self._lock:
            self.online = online
            if not online:
                self._reported_at = None  # its last reading is no longer the element's

    def set_power_w(self, power_w: float) -> None:
        self.commanded_w = power_w
        self._sent_at = time.monotonic()
        now_s = time.time()
        # Strictly increasing: the satellite refuses a command not newer than the last.
        self._sent_ms = max(int(now_s * 1000), self._sent_ms + 1)
        payload = json.dumps(
            {"power_w": round(power_w, 1), "sent_s": round(now_s, 3), "sent_ms": self._sent_ms}
        )
        self._client.publish(self.set_topic, payload, qos=1, retain=False)

    def keep_alive(self) -> None:
        """The last command again once refresh_s has passed since it was sent."""
        if self._sent_at is None or time.monotonic() - self._sent_at >= self.refresh_s:
            self.set_power_w(self.commanded_w)

    def age_s(self) -> float:
        with self._lock:
            if self._reported_at is None:
                return math.inf
            return time.monotonic() - self._reported_at

    @property
    def power_w(self) -> float:
        with self._lock:
            return self.reported_w if self.reported_w is not None else 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.set_power_w(0.0)
        self._client.disconnect()
        self._client.loop_stop()


# The satellite's own fields in its state (besides power_w, tank_temp_degc): name ->
# (type, bound): strings up to that many characters, numbers within +/- that.
STATUS_FIELDS: dict[str, tuple[type, float]] = {
    "reason": (str, 64),
    "refused": (str, 64),
    "version": (str, 32),
    "uptime_s": (int, 2**40),
    "mem_free_b": (int, 2**32),
    "rssi_dbm": (int, 200),
}


def _status(doc: dict[str, Any]) -> dict[str, Any]:
    """The known fields of a satellite's state that have the right type and size; the
    rest are left out (an older firmware sends fewer)."""
    out: dict[str, Any] = {}
    for key, (kind, bound) in STATUS_FIELDS.items():
        value = doc.get(key)
        size = len(value) if isinstance(value, str) else abs(value) if type(value) is int else None
        if type(value) is kind and size is not None and size <= bound:
            out[key] = value
    return out


class HardwareLoads:
    """LoadOutputs on real hardware: a diverter output (burst fire or satellite), the
    SG-Ready relays (or none), and the tank's probe (or the satellite's)."""

    def __init__(
        self,
        diverter: BurstFireOutput | MqttSatelliteDiverter | None,
        relays: GpioSgRelays | None,
        tank: W1TankSensor | None,
        heat_pump_w: float,
    ) -> None:
        self.diverter, self.relays, self.tank = diverter, relays, tank
        self.heat_pump_w = heat_pump_w
        self._task: asyncio.Task[None] | None = None

    def set_diverter_w(self, power_w: float) -> None:
        if self.diverter is not None:
            self.diverter.set_power_w(power_w)
            if isinstance(self.diverter, BurstFireOutput) and self._task is None:
                with contextlib.suppress(RuntimeError):  # no loop: stepped by hand
                    self._task = asyncio.get_running_loop().create_task(self.diverter.run())

    def set_sg_contacts(self, contact1: bool, contact2: bool) -> None:
        if self.relays is not None:
            self.relays.set_contacts(contact1, contact2)

    def read(self) -> LoadsReading:
        heater_w = self.diverter.power_w if self.diverter is not None else 0.0
        # No meter on the heat pump: its rated power while boosted (SG 3 or 4), else 0.
        boosted = self.relays is not None and self.relays.contacts[1]
        tank = self.tank.read_degc() if self.tank is not None else None
        if isinstance(self.diverter, MqttSatelliteDiverter):
            self.diverter.keep_alive()  # read every tick: the satellite hears at least this
            if tank is None:
                tank = self.diverter.tank_temp_degc
        return LoadsReading(heater_w, self.heat_pump_w if boosted else 0.0, tank)

    def age_s(self) -> float:
        if isinstance(self.diverter, MqttSatelliteDiverter):
            return self.diverter.age_s()
        return 0.0

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if isinstance(self.diverter, BurstFireOutput):
            self.diverter.lines.set(self.diverter.line, False)
        elif isinstance(self.diverter, MqttSatelliteDiverter):
            self.diverter.close()


def hardware_loads(cfg: EdgeConfig, client_id: str) -> HardwareLoads | None:
    """The configured real backends, or None when every load output is emulated (those
    exist only in the simulated house)."""
    d, hp = cfg.loads.diverter, cfg.loads.heat_pump
    diverter: BurstFireOutput | MqttSatelliteDiverter | None = None
    if d.enabled and d.output == "burst_fire_gpio":
        lines = GpiodLines(d.gpio_chip, [d.gpio_line], "edge-diverter", "loads.diverter.output")
        diverter = BurstFireOutput(lines, d.gpio_line, d.element_w, d.mains_hz)
    elif d.enabled and d.output == "mqtt_satellite":
        diverter = MqttSatelliteDiverter(
            cfg.mqtt, d.satellite, f"{client_id}-{d.satellite}", d.satellite_refresh_s
        )
    relays = None
    if hp.enabled and hp.relays == "gpio":
        pins = [hp.relay1_line, hp.relay2_line]
        lines2 = GpiodLines(hp.gpio_chip, pins, "edge-sg-ready", "loads.heat_pump.relays")
        relays = GpioSgRelays(lines2, hp.relay1_line, hp.relay2_line)
    if diverter is None and relays is None:
        return None
    tank = W1TankSensor(cfg.loads.tank_sensor) if cfg.loads.tank_sensor else None
    return HardwareLoads(diverter, relays, tank, hp.power_w)
