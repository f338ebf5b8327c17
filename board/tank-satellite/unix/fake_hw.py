"""The rest of the board, for the Unix port: an output pin, a zero-cross source, a
watchdog stand-in, and the hw bundle app.App takes."""

import asyncio
import time


class Pin:
    """An output pin: its level and how many times it changed."""

    def __init__(self, level=0):
        self.level = level
        self.changes = 0

    def value(self, level=None):
        if level is None:
            return self.level
        if level != self.level:
            self.changes += 1
        self.level = level


class ZeroCross:
    """One full mains cycle per cycle(): timed (a real detector's interrupt sets a flag
    on the board); period_ms 0 steps as fast as the loop runs."""

    def __init__(self, period_ms):
        self.period_ms = period_ms
        self.cycles = 0

    async def cycle(self):
        await asyncio.sleep_ms(self.period_ms)
        self.cycles += 1


class Wdt:
    """machine.WDT's feed(); remembers the last feed so a test can see it stop."""

    def __init__(self):
        self.feeds = 0
        self.fed_ms = None

    def feed(self):
        self.feeds += 1
        self.fed_ms = time.ticks_ms()


class Hw:
    def __init__(self, sensor, mqtt_client, zero_cross, log=print):
        self.ssr_pin = Pin()
        self.relay_pin = Pin()
        self.sensor = sensor
        self.zero_cross = zero_cross
        self.wdt = Wdt()
        self.mqtt_client = mqtt_client
        self.log = log

    def network_up(self):
        return True

    def rssi_dbm(self):
        return None
