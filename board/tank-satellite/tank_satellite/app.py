"""The satellite's tasks on MicroPython's asyncio, with every part injected.

hw (built by hw.py on a board, by the test harness under the Unix port) gives:
  ssr_pin        value(level): the SSR's input
  relay_pin      value(level): a relay in series with the SSR, or None (burst.py)
  sensor         ds18x20.DS18X20 over onewire.OneWire
  zero_cross     async cycle(): returns once per mains cycle
  wdt            feed(): machine.WDT, or a stand-in
  mqtt_client    umqtt.simple.MQTTClient
  network_up()   True when the board has an IP link (Wi-Fi associated)
  rssi_dbm()     Wi-Fi signal, or None
  log(line)      one line per event

Tasks: fire (one burst-fire step per mains cycle), probe (a reading every
probe_period_s), network (connect, receive setpoints, publish state), guard (the safety
rules every GUARD_MS, and the watchdog). The watchdog is fed only while the guard runs
and the fire task has stepped within FIRE_STALL_MS, so a hung task or loop resets the
board, and a reset board starts with the SSR off.
"""

import asyncio
import gc
import json
import time

from . import VERSION
from .burst import BurstFire
from .link import Link
from .probe import Probe
from .safety import Safety
from .setpoint import Setpoints

GUARD_MS = 100  # the safety rules' period
FIRE_STALL_MS = 1000  # no burst-fire step for this long: stop feeding the watchdog
POLL_MS = 50  # the MQTT socket's polling period


class Clock:
    """Monotonic whole ms from time.ticks_ms(), which wraps; an int never loses a ms."""

    def __init__(self):
        self.last = time.ticks_ms()
        self.ms = 0

    def now_ms(self):
        t = time.ticks_ms()
        self.ms += time.ticks_diff(t, self.last)
        self.last = t
        return self.ms


class App:
    def __init__(self, cfg, hw):
        self.cfg, self.hw = cfg, hw
        self.limits = cfg["limits"]
        self.clock = Clock()
        board = cfg["board"]
        relay = getattr(hw, "relay_pin", None)
        self.burst = BurstFire(hw.ssr_pin, cfg["element_w"], board["ssr_on_level"], relay)
        self.probe = Probe(hw.sensor, cfg["probe_rom"])
        self.safety = Safety(self.limits)
        self.setpoints = Setpoints(cfg["element_w"], int(self.limits["setpoint_timeout_s"] * 1000))
        self.link = Link(hw.mqtt_client, cfg["mqtt"], cfg["name"], self._on_message)
        self.setpoint_w = 0.0
        self.setpoint_at_ms = None
        self.temp_degc = None
        self.temp_at_ms = None
        self.fault = None
        self.reason = None
        self.refused = None  # the last refused setpoint's reason
        self.refusals = 0
        self.fired_at_ms = 0
        self.dirty = True  # state to publish now
        self.running = True

    # -- setpoints in ----------------------------------------------------------------
    def _on_message(self, topic, payload, retained):
        power_w, why = self.setpoints.accept(payload, retained, self.clock.now_ms())
        if why is not None:
            self.refused = why
            self.refusals += 1
            self.hw.log("setpoint refused: %s: %r" % (why, payload[:60]))
        else:
            self.setpoint_w = power_w
            self.setpoint_at_ms = self.clock.now_ms()
        self.dirty = True
        self.apply()

    # -- the safety rules ------------------------------------------------------------
    def apply(self):
        now_ms = self.clock.now_ms()
        power_w, reason = self.safety.decide(
            now_ms,
            self.link.up,
            self.setpoint_w,
            self.setpoint_at_ms,
            self.temp_degc,
            self.temp_at_ms,
            self.fault,
        )
        if power_w <= 0.0:
            self.burst.off()
        elif power_w != self.burst.power_w:
            self.burst.set_power_w(power_w)
            self.dirty = True
        if reason != self.reason:
            self.hw.log(
                "element %s: %s" % ("on %.0f W" % power_w if power_w > 0 else "off", reason)
            )
            self.reason = reason
            self.dirty = True
        return power_w, reason

    def state(self):
        """The state document (units in the names; temperature None when unknown)."""
        return {
            "power_w": round(self.burst.power_w, 1),
            "setpoint_w": round(self.setpoint_w, 1),
            "tank_temp_degc": self.temp_degc,
            "reason": self.reason,
            "refused": self.refused,
            "refusals": self.refusals,
            "probe_faults": self.probe.faults,
            "version": VERSION,
            "uptime_s": self.clock.now_ms() // 1000,
            "mem_free_b": gc.mem_free(),
            "rssi_dbm": self.hw.rssi_dbm(),
        }

    # -- tasks -----------------------------------------------------------------------
    async def fire(self):
        while self.running:
            await self.hw.zero_cross.cycle()
            self.burst.step()
            self.fired_at_ms = self.clock.now_ms()

    async def read_probe(self):
        period_ms = int(self.limits["probe_period_s"] * 1000)
        while self.running:
            started_ms = self.clock.now_ms()
            degc, fault = await self.probe.read()
            if fault != self.fault:
                self.hw.log("probe: %s" % (fault or "ok"))
                self.dirty = True
            self.fault = fault
            self.temp_degc = degc
            if fault is None:
                self.temp_at_ms = self.clock.now_ms()
                self.temp_degc = round(degc, 2)
            self.apply()
            wait_ms = period_ms - (self.clock.now_ms() - started_ms)
            await asyncio.sleep_ms(wait_ms if wait_ms > 0 else 0)

    async def network(self):
        lim = self.limits
        published_ms = 0
        while self.running:
            if not self.link.up:
                self.apply()  # off before a blocking attempt: the link is down
                if self.hw.network_up() and self.link.connect(lim["connect_timeout_s"]):
                    self.hw.log("broker connected (%d)" % self.link.connects)
                    self.dirty = True
                else:
                    await asyncio.sleep_ms(int(lim["retry_s"] * 1000))
                    continue
            if not self.link.poll():
                self.hw.log("broker lost: %s" % self.link.last_error)
                continue
            self.apply()
            now_ms = self.clock.now_ms()
            if self.dirty or now_ms - published_ms >= lim["state_period_s"] * 1000:
                self.dirty = False
                gc.collect()  # so mem_free_b is what is really free
                if self.link.publish(self.link.state_topic, json.dumps(self.state())):
                    published_ms = now_ms
            await asyncio.sleep_ms(POLL_MS)

    async def guard(self):
        while self.running:
            self.apply()
            if self.clock.now_ms() - self.fired_at_ms < FIRE_STALL_MS:
                self.hw.wdt.feed()
            await asyncio.sleep_ms(GUARD_MS)

    async def run(self):
        self.hw.log("tank satellite %s, %s: starting, element off" % (VERSION, self.cfg["name"]))
        tasks = [
            asyncio.create_task(t()) for t in (self.fire, self.read_probe, self.network, self.guard)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.stop()

    def stop(self):
        self.running = False
        self.burst.off()
        self.link.close(clean=True)
