"""The board's real parts, built from its board file and the config, and the boot entry.

Nothing runs before the config is checked: a bad or missing satellite.json leaves the
SSR pin low (off) and prints why, without starting the watchdog, so the board does not
reset in a loop and the installer can read the message over USB (mpremote repl).
"""

import asyncio
import time

from . import config
from .boards import BOARDS

WIFI_TIMEOUT_MS = 5000  # a wait for Wi-Fi; the watchdog is fed in between


class ZeroCross:
    """Mains cycles from a zero-cross detector's output (one pulse per half-cycle, e.g. an
    H11AA1 optocoupler); when the pulses stop, whole cycles by the clock, as the SSR
    still switches at the zero crossing by itself."""

    def __init__(self, pin, mains_hz):
        self.period_ms = 1000 // mains_hz
        self.flag = asyncio.ThreadSafeFlag()
        self.crossings = 0
        self.missing = 0  # cycles timed because no pulse came
        if pin is not None:
            from machine import Pin

            pin.irq(trigger=Pin.IRQ_RISING, handler=self._edge)
        self.pin = pin

    def _edge(self, _pin):
        self.crossings += 1
        if self.crossings % 2 == 0:
            self.flag.set()

    async def cycle(self):
        if self.pin is None:
            await asyncio.sleep_ms(self.period_ms)
            return
        try:
            await asyncio.wait_for_ms(self.flag.wait(), 2 * self.period_ms)
        except asyncio.TimeoutError:
            self.missing += 1


class Hw:
    def __init__(self, cfg):
        import ds18x20
        import machine
        import network
        import onewire
        from umqtt.simple import MQTTClient

        board = cfg["board"]
        self.ssr_pin = machine.Pin(
            board["ssr_pin"], machine.Pin.OUT, value=1 - board["ssr_on_level"]
        )
        self.sensor = ds18x20.DS18X20(onewire.OneWire(machine.Pin(board["probe_pin"])))
        relay = board["relay_pin"]
        self.relay_pin = None if relay is None else machine.Pin(relay, machine.Pin.OUT, value=0)
        zc = board["zero_cross_pin"]
        zc_pin = None if zc is None else machine.Pin(zc, machine.Pin.IN)
        self.zero_cross = ZeroCross(zc_pin, cfg["mains_hz"])
        self.mqtt_client = MQTTClient
        self.wlan = network.WLAN(network.STA_IF)
        self.wifi = cfg["wifi"]
        self.joined_ms = None
        self.wdt = machine.WDT(timeout=config.WDT_TIMEOUT_MS)
        self.wlan.active(True)
        if self.wifi is not None:
            self.wlan.connect(self.wifi["ssid"], self.wifi["password"])
            self.joined_ms = time.ticks_ms()

    def network_up(self):
        if self.wlan.isconnected():
            return True
        # Ask again now and then; connect() returns at once, the radio works on its own.
        if (
            self.wifi is not None
            and time.ticks_diff(time.ticks_ms(), self.joined_ms) > WIFI_TIMEOUT_MS
        ):
            self.wlan.connect(self.wifi["ssid"], self.wifi["password"])
            self.joined_ms = time.ticks_ms()
        return False

    def rssi_dbm(self):
        try:
            return self.wlan.status("rssi")
        except Exception:
            return None

    def log(self, line):
        print(line)


def main():
    from .app import App

    try:
        cfg = config.load(BOARDS)
    except config.ConfigError as exc:
        print("tank satellite: not started:", exc)
        return
    asyncio.run(App(cfg, Hw(cfg)).run())
