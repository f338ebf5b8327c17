"""The satellite application under MicroPython's Unix port, with the board's parts
emulated (the files beside this one), for the tests and the benchmark:
    micropython -m run_satellite CONFIG.json [CONTROL.json]
CONFIG is the file `edge satellite deploy` writes to a board. CONTROL (optional) is read
every CONTROL_MS so a test can change the probe while the app runs:
    {"temp_degc": 45.0, "fault": null | "crc" | "power_on" | "stuck_low",
     "connected": true}
Each log line goes to stdout as "<ms since start> <line>"."""

import asyncio
import gc
import json
import sys
import time

import ds18x20
import fake_ds18b20
import fake_hw
import onewire
from tank_satellite import app
from umqtt.simple import MQTTClient

CONTROL_MS = 100
HEAP_MS = 1000
T0 = time.ticks_ms()


def log(line):
    try:
        print("%d %s" % (time.ticks_diff(time.ticks_ms(), T0), line))
    except OSError:
        pass  # the reader went away; the app runs on, as a board with no USB host does


async def follow(path, probe, bus):
    seen = None
    while True:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            text = None
        if text and text != seen:
            seen = text
            doc = json.loads(text)
            probe.temp_degc = doc.get("temp_degc", probe.temp_degc)
            probe.fault = doc.get("fault")
            if probe.fault == "power_on":  # it lost power and came back: the reset value
                probe.raw = fake_ds18b20.POWER_ON_RAW
            bus.connected = doc.get("connected", True)
        await asyncio.sleep_ms(CONTROL_MS)


def load_config(path):
    """As a board does: the checks and the board table are needed once, then freed."""
    from tank_satellite import config
    from tank_satellite.boards import BOARDS

    try:
        return config.load(BOARDS, path)
    except config.ConfigError as exc:
        log("config: %s" % exc)
        sys.exit(2)
    finally:
        import tank_satellite

        for name in ("config", "boards"):
            sys.modules.pop("tank_satellite." + name, None)
            delattr(tank_satellite, name)


async def report_heap():
    """Every HEAP_MS: the heap in use just before a collection, and after it (B)."""
    while True:
        await asyncio.sleep_ms(HEAP_MS)
        before = gc.mem_alloc()
        gc.collect()
        log("heap used %d live %d" % (before, gc.mem_alloc()))


async def main(argv):
    cfg = load_config(argv[1])
    probe = fake_ds18b20.Probe()
    bus = fake_ds18b20.Bus(probe)
    sensor = ds18x20.DS18X20(onewire.OneWire(bus))
    zc = fake_hw.ZeroCross(1000 // cfg["mains_hz"])
    hw = fake_hw.Hw(sensor, MQTTClient, zc, log)
    a = app.App(cfg, hw)
    asyncio.create_task(report_heap())
    if len(argv) > 2:
        asyncio.create_task(follow(argv[2], probe, bus))
    await a.run()


asyncio.run(main(sys.argv))
