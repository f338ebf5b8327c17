"""The tank satellite's modules under the real MicroPython Unix port (not CPython), with
micropython-lib's onewire and ds18x20 running over the DS18B20 bus emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.drivers.loads.hardware import BurstFireOutput
from tests.board.satellite.harness import REPO, mp_ok, run_mp

APP = REPO / "board" / "tank-satellite"

BUS = """
import ds18x20, onewire, fake_ds18b20
from tank_satellite.probe import Probe
import asyncio
probe = fake_ds18b20.Probe(temp_degc={temp})
bus = fake_ds18b20.Bus(probe)
sensor = ds18x20.DS18X20(onewire.OneWire(bus))
"""


def test_the_bus_emulators_crc_is_maxims_worked_example():
    # Maxim application note 27: ROM 02 1C B8 01 00 00 00 has CRC A2h.
    out = mp_ok("import _onewire; print(_onewire.crc8(bytes([2, 0x1C, 0xB8, 1, 0, 0, 0])))")
    assert int(out) == 0xA2


@pytest.mark.parametrize(
    ("temp_degc", "raw"),
    [(125.0, 0x07D0), (25.0625, 0x0191), (0.5, 0x0008), (-10.125, 0xFF5E), (-55.0, 0xFC90)],
)
def test_ds18x20_reads_the_datasheets_temperature_table_over_the_emulated_bus(temp_degc, raw):
    """DS18B20 datasheet, table 1 (temperature/data relationship)."""
    out = mp_ok(
        BUS.format(temp=temp_degc)
        + "rom = sensor.scan()[0]\nsensor.convert_temp()\n"
        + "print(sensor.read_temp(rom), sensor.buf[0] | sensor.buf[1] << 8)"
    )
    got_degc, got_raw = out.split()
    assert float(got_degc) == temp_degc and int(got_raw) == raw


def test_a_rom_search_finds_every_probe_on_the_bus():
    out = mp_ok(
        """
import ds18x20, onewire, fake_ds18b20
a = fake_ds18b20.Probe(b"\\x01\\x02\\x03\\x04\\x05\\x06", 20.0)
b = fake_ds18b20.Probe(b"\\x01\\x02\\x03\\x04\\x05\\x86", 60.0)
c = fake_ds18b20.Probe(b"\\xff\\x00\\x00\\x00\\x00\\x00", -5.0)
s = ds18x20.DS18X20(onewire.OneWire(fake_ds18b20.Bus(a, b, c)))
roms = s.scan()
s.convert_temp()
print(sorted(r.hex() for r in roms) == sorted(p.rom.hex() for p in (a, b, c)))
print(sorted(s.read_temp(r) for r in roms))
"""
    )
    assert out.split("\n")[:2] == ["True", "[-5.0, 20.0, 60.0]"]


PROBE_CASES = {
    "none": (None, "45.0 None"),
    "crc": ("probe.fault = 'crc'", "None crc error"),
    "power_on": ("probe.fault = 'power_on'; probe.raw = 0x0550", "None power-on value"),
    "disconnected": ("bus.connected = False", "None disconnected"),
    "stuck_low": ("probe.fault = 'stuck_low'", "None bus stuck low"),
    "implausible": ("probe.temp_degc = 120.0", "None implausible"),
}


@pytest.mark.parametrize("case", sorted(PROBE_CASES))
def test_the_probe_names_each_fault_and_never_turns_one_into_a_temperature(case):
    setup, expected = PROBE_CASES[case]
    out = mp_ok(
        BUS.format(temp=45.0)
        + "p = Probe(sensor)\n"
        + "print(*asyncio.run(p.read()))\n"  # a good read first: the ROM is known
        + (setup or "")
        + "\nt, f = asyncio.run(p.read())\nprint(t, f, p.faults)"
    )
    first, second = out.strip().split("\n")
    assert first == "45.0 None"
    assert second == expected + (" 0" if case == "none" else " 1")


def test_without_a_probe_on_the_bus_the_search_reports_disconnected():
    out = mp_ok(
        "import ds18x20, onewire, fake_ds18b20, asyncio\nfrom tank_satellite.probe import Probe\n"
        "s = ds18x20.DS18X20(onewire.OneWire(fake_ds18b20.Bus()))\n"
        "print(*asyncio.run(Probe(s).read()))"
    )
    assert out.strip() == "None disconnected"


def test_burst_fire_matches_the_pis_gpio_backend_cycle_for_cycle():
    """The same power steps through BurstFireOutput (CPython, the Pi's backend) and the
    board's BurstFire (MicroPython) give the same on/off cycles, each prefix within one
    cycle of duty x cycles."""
    steps = [(3000.0, 0.0, 20), (3000.0, 900.0, 200), (3000.0, 1234.0, 300), (3000.0, 2999.0, 50)]
    steps += [(3000.0, 3000.0, 20), (3000.0, 450.0, 333), (3000.0, 0.0, 7)]
    steps += [(3000.0, 1700.0, 101), (3000.0, 4000.0, 5), (3000.0, -50.0, 3)]

    class Lines:
        def set(self, line: int, on: bool) -> None:
            pass

    pi = BurstFireOutput(Lines(), 17, 3000.0, 50)
    expected = []
    for _element_w, power_w, n in steps:
        pi.set_power_w(power_w)
        expected += [pi.step() for _ in range(n)]
    out = mp_ok(
        "import fake_hw\nfrom tank_satellite.burst import BurstFire\n"
        "pin = fake_hw.Pin()\nb = BurstFire(pin, 3000.0)\nout = []\n"
        f"for _, power_w, n in {steps!r}:\n"
        "    b.set_power_w(power_w)\n"
        "    for _ in range(n):\n"
        "        out.append(b.step())\n"
        "        assert pin.value() == (1 if out[-1] else 0)\n"
        "print(''.join('1' if o else '0' for o in out))"
    )
    got = [c == "1" for c in out.strip()]
    assert got == expected
    i = on = 0
    duty_sum = 0.0
    for _element_w, power_w, n in steps:
        for _ in range(n):
            duty_sum += max(0.0, min(1.0, power_w / 3000.0))
            on += got[i]
            i += 1
            assert abs(on - duty_sum) <= 1.0 + 1e-6


def test_burst_fire_off_drives_the_pin_off_at_once_with_either_firing_level():
    out = mp_ok(
        "import fake_hw\nfrom tank_satellite.burst import BurstFire\n"
        "for level in (1, 0):\n"
        "    pin = fake_hw.Pin(level)\n"
        "    b = BurstFire(pin, 3000.0, on_level=level)\n"
        "    idle = pin.value()\n"
        "    b.set_power_w(3000.0); b.step(); fired = pin.value()\n"
        "    b.off(); print(idle, fired, pin.value(), b.power_w)"
    )
    assert out.split("\n")[:2] == ["0 1 0 0.0", "1 0 1 0.0"]


def test_the_series_relay_closes_only_while_the_element_may_run():
    out = mp_ok(
        "import fake_hw\nfrom tank_satellite.burst import BurstFire\n"
        "pin, relay = fake_hw.Pin(), fake_hw.Pin()\n"
        "b = BurstFire(pin, 3000.0, relay=relay)\nseen = [relay.value()]\n"
        "for w in (1000.0, 2000.0, 0.0, 500.0):\n"
        "    b.set_power_w(w); b.step(); seen.append(relay.value())\n"
        "b.off(); seen.append(relay.value()); print(seen, relay.changes)"
    )
    assert out.strip() == "[0, 1, 1, 0, 1, 0] 4"  # never per cycle: 4 changes in all


LIMITS = {
    "setpoint_timeout_s": 15.0,
    "probe_timeout_s": 10.0,
    "tank_max_degc": 75.0,
    "tank_resume_degc": 70.0,
    "max_on_s": 100.0,
    "rest_s": 20.0,
}
# (now_ms, link_up, setpoint_w, setpoint_at_ms, temp_degc, temp_at_ms, fault) -> (W, reason)
SAFETY_TABLE = [
    ((1000, False, 2000.0, 900, 50.0, 900, None), (0.0, "broker unreachable")),
    ((1000, True, 2000.0, None, 50.0, 900, None), (0.0, "no setpoint")),
    ((20000, True, 2000.0, 4999, 50.0, 19000, None), (0.0, "setpoint stale")),
    ((20000, True, 2000.0, 5000, 50.0, 19000, None), (2000.0, "ok")),
    ((20000, True, 2000.0, 19000, None, 19000, "crc error"), (0.0, "probe: crc error")),
    ((20000, True, 2000.0, 19000, 50.0, 9999, None), (0.0, "probe: no recent reading")),
    ((20000, True, 2000.0, 19000, 75.0, 19000, None), (0.0, "over temperature")),
    ((21000, True, 2000.0, 20000, 72.0, 21000, None), (0.0, "over temperature")),  # hysteresis
    ((22000, True, 2000.0, 21000, 70.0, 22000, None), (2000.0, "ok")),
    ((23000, True, 0.0, 22000, 60.0, 23000, None), (0.0, "idle")),
    ((24000, True, 1500.0, 23000, 60.0, 24000, None), (1500.0, "ok")),  # on since 24 s
    ((123000, True, 1500.0, 122000, 60.0, 123000, None), (1500.0, "ok")),
    ((124000, True, 1500.0, 123000, 60.0, 124000, None), (0.0, "max on-time")),
    ((143000, True, 1500.0, 142000, 60.0, 143000, None), (0.0, "max on-time")),  # resting
    ((144000, True, 1500.0, 143000, 60.0, 144000, None), (1500.0, "ok")),
]


def test_the_safety_rules_cycle_by_cycle():
    """One Safety through the table in order: each row's refusal and its reason."""
    out = mp_ok(
        "import json\nfrom tank_satellite.safety import Safety\n"
        f"s = Safety({LIMITS!r})\n"
        f"for row in json.loads({json.dumps(json.dumps([r for r, _ in SAFETY_TABLE]))}):\n"
        "    print(json.dumps(s.decide(*row)))"
    )
    got = [tuple(json.loads(line)) for line in out.strip().split("\n")]
    assert got == [expected for _, expected in SAFETY_TABLE]


SETPOINTS = [
    # (payload, retained, now_ms) -> (power_w or None, reason or None)
    (b"{garbage", False, 0, None, "garbled"),
    (b"[1, 2]", False, 0, None, "garbled"),
    (b'{"power_w": "1000", "sent_ms": 1}', False, 0, None, "garbled"),
    (b'{"power_w": true, "sent_ms": 1}', False, 0, None, "garbled"),
    (b'{"power_w": 1000}', False, 0, None, "garbled"),
    (b'{"power_w": 1e999, "sent_ms": 1}', False, 0, None, "garbled"),
    (b'{"power_w": -1, "sent_ms": 1000000}', False, 0, None, "power out of range"),
    (b'{"power_w": 3000.5, "sent_ms": 1000000}', False, 0, None, "power out of range"),
    (b'{"power_w": 1000, "sent_ms": 1000000}', True, 0, None, "retained"),
    (b'{"power_w": 1000, "sent_ms": 1000000}', False, 10, 1000.0, None),
    (b'{"power_w": 1200, "sent_ms": 1000000}', False, 20, None, "replayed"),
    (b'{"power_w": 1200, "sent_ms": 999000}', False, 30, None, "replayed"),
    (b'{"power_w": 1200, "sent_s": 1005.0}', False, 5010, 1200.0, None),  # s where no ms
    # sent 6 s ago by the link's best delay: stale past the 5 s limit
    (b'{"power_w": 800, "sent_ms": 1010000}', False, 16010, None, "stale"),
    (b'{"power_w": 800, "sent_ms": 1012000}', False, 16010, 800.0, None),  # 4 s: late, not stale
    (b'{"power_w": 900, "sent_ms": 1011000}', False, 19000, None, "replayed"),
    # a supervisor back with its clock stepped back an hour: replays for 4 x 5 s ...
    (b'{"power_w": 600, "sent_ms": 1000}', False, 36010, None, "replayed"),
    # ... then, 20 s after the last accepted command, heard afresh
    (b'{"power_w": 600, "sent_ms": 2000}', False, 36011, 600.0, None),
    (b'{"power_w": 650, "sent_ms": 3000}', False, 37011, 650.0, None),
]


def test_setpoints_garbled_out_of_range_retained_replayed_or_stale_are_refused():
    rows = [(p.decode(), r, t) for p, r, t, _, _ in SETPOINTS]
    out = mp_ok(
        "import json\nfrom tank_satellite.setpoint import Setpoints\n"
        "s = Setpoints(3000.0, 5000)\n"
        f"for p, r, t in json.loads({json.dumps(json.dumps(rows))}):\n"
        "    print(json.dumps(s.accept(p.encode(), r, t)))"
    )
    got = [tuple(json.loads(line)) for line in out.strip().split("\n")]
    assert got == [(w, why) for *_, w, why in SETPOINTS]


def test_a_days_commands_stay_fresh_on_a_board_clock_500_ppm_fast():
    """A command every 4 s for a day, each 10..60 ms in transit, while the board's clock
    runs 500 ppm fast: the delay baseline's decay keeps every one fresh (5 s limit)."""
    out = mp_ok(
        "from tank_satellite.setpoint import Setpoints\n"
        "s = Setpoints(3000.0, 5000)\nrefused = 0\n"
        "for i in range(21600):\n"
        "    sent_ms = 1_700_000_000_000 + i * 4000\n"
        "    now_ms = (i * 4000 + 10 + (i * 7) % 50) * 10005 // 10000\n"
        '    p, why = s.accept(b\'{"power_w": 100, "sent_ms": %d}\' % sent_ms, False, now_ms)\n'
        "    refused += why is not None\n"
        "print(refused)",
        timeout_s=60,
    )
    assert out.strip() == "0"


def _check(doc: dict) -> str:
    proc = run_mp(
        "import json\nfrom tank_satellite import config\nfrom tank_satellite.boards import BOARDS\n"
        "try:\n"
        f"    c = config.check(json.loads({json.dumps(json.dumps(doc))}), BOARDS)\n"
        "    print('ok', json.dumps(c))\n"
        "except config.ConfigError as e:\n"
        "    print('error', e)"
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


GOOD = {"name": "tank", "board": "pico_w", "mqtt": {"host": "192.168.1.2"}}


def test_a_good_config_takes_the_boards_facts_and_the_default_limits():
    out = _check(GOOD)
    assert out.startswith("ok ")
    cfg = json.loads(out[3:])
    assert cfg["board"]["ssr_pin"] == 21 and cfg["element_w"] == 3000.0 and cfg["mains_hz"] == 50
    assert cfg["limits"]["setpoint_timeout_s"] == 15.0 and cfg["mqtt"]["port"] == 1883
    esp = json.loads(_check({**GOOD, "board": "esp32_devkitc", "mains_hz": 60})[3:])
    assert esp["board"]["ssr_pin"] == 16 and esp["mains_hz"] == 60


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "a b"}, "name: 'a b': 1 to 32 letters"),
        ({"board": "uno"}, "board: 'uno': one of esp32_devkitc, pico_w"),
        ({"mqtt": {}}, "mqtt.host: missing"),
        ({"mqtt": {"host": "h", "port": 0}}, "mqtt.port: 0: 1 to 65535"),
        ({"wifi": {"ssid": "x"}}, "wifi.password: missing"),
        ({"element_w": 50}, "element_w: 50: 100 to 6000 W"),
        ({"element_w": "3kW"}, "element_w: '3kW': 100 to 6000 W"),
        ({"mains_hz": 55}, "mains_hz: 55: 50 or 60"),
        ({"probe_rom": "1234"}, "probe_rom: '1234': 16 hex digits"),
        ({"limits": {"max_on": 5}}, "limits.max_on: unknown"),
        ({"limits": {"tank_max_degc": 99}}, "limits.tank_max_degc: 99: 30 to 90"),
        ({"limits": {"tank_resume_degc": 80}}, "limits.tank_resume_degc: must be below"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(change, message):
    out = _check({**GOOD, **change})
    assert out.startswith("error " + message), out


def test_package_json_and_manifest_list_every_module():
    """mip installs what package.json lists: a module left out would be missing on the
    board at boot."""
    doc = json.loads((APP / "package.json").read_text())
    listed = {dest for dest, _src in doc["urls"]}
    on_disk = {p.relative_to(APP).as_posix() for p in (APP / "tank_satellite").rglob("*.py")}
    assert listed == on_disk
    assert {d for d, _ in doc["deps"]} == {"umqtt.simple", "onewire", "ds18x20"}
    manifest = (APP / "manifest.py").read_text()
    assert 'package("tank_satellite")' in manifest and doc["version"] in manifest
    init = (APP / "tank_satellite" / "__init__.py").read_text()
    assert f'VERSION = "{doc["version"]}"' in init


def test_the_watchdog_is_fed_only_while_the_burst_fire_task_steps(tmp_path: Path):
    """A stalled fire task (here its zero-cross source stops) stops the feeding, so the
    hardware watchdog resets the board; the rules keep running and hold the element off."""
    out = mp_ok(
        """
import asyncio, time, fake_hw, fake_ds18b20, ds18x20, onewire
from umqtt.simple import MQTTClient
from tank_satellite import app, config
from tank_satellite.boards import BOARDS

class Stalling(fake_hw.ZeroCross):
    async def cycle(self):
        if self.cycles >= 20:
            await asyncio.Event().wait()  # never set: the task hangs
        await super().cycle()

doc = {"name": "t", "board": "pico_w", "mqtt": {"host": "127.0.0.1", "port": 9}}
cfg = config.check(doc, BOARDS)
sensor = ds18x20.DS18X20(onewire.OneWire(fake_ds18b20.Bus(fake_ds18b20.Probe())))
lines = []
hw = fake_hw.Hw(sensor, MQTTClient, Stalling(20), lines.append)
a = app.App(cfg, hw)

async def watch():
    t = asyncio.create_task(a.run())
    await asyncio.sleep_ms(300)
    fed_early = hw.wdt.feeds
    await asyncio.sleep_ms(1600)
    fed_mid = hw.wdt.feeds
    await asyncio.sleep_ms(500)
    print(fed_early > 0, hw.zero_cross.cycles, fed_mid == hw.wdt.feeds, hw.ssr_pin.value())
    print(lines[1])
    t.cancel()

asyncio.run(watch())
""",
        timeout_s=20,
    )
    first, second = out.strip().split("\n")[:2]
    assert first == "True 20 True 0"
    assert second == "element off: broker unreachable"


def test_the_boot_path_builds_the_boards_parts_from_its_file():
    """hw.py with stand-ins for machine and network: the pins from the board file, the SSR
    and the relay off from the start, the watchdog at 8 s, Wi-Fi joined, zero-cross
    pulses counted two per cycle, and timed cycles when they stop."""
    out = mp_ok(
        """
import sys, asyncio, fake_machine
sys.modules["machine"] = fake_machine
sys.modules["network"] = fake_machine
from tank_satellite import hw, config
from tank_satellite.boards import BOARDS
doc = {"name": "t", "board": "esp32_devkitc", "mqtt": {"host": "192.168.1.2"},
       "wifi": {"ssid": "house", "password": "pw"}}
cfg = config.check(doc, BOARDS)
cfg["board"]["relay_pin"] = 18
h = hw.Hw(cfg)
pins = {p.id: p for p in fake_machine.made if isinstance(p, fake_machine.Pin)}
wdt = [w for w in fake_machine.made if isinstance(w, fake_machine.WDT)][0]
print(pins[16].mode, pins[16].level, pins[18].level, pins[4].mode, pins[17].trigger)
print(wdt.timeout, h.wlan.joins, h.network_up(), h.rssi_dbm())
zc = h.zero_cross
async def pulses():
    await asyncio.sleep_ms(5)
    for _ in range(4):
        zc._edge(None)  # as the pin's interrupt calls it
async def cycles():
    asyncio.create_task(pulses())
    await zc.cycle()
    await zc.cycle()  # no more pulses: one timed cycle
    print(zc.crossings, zc.missing, zc.period_ms)
asyncio.run(cycles())
"""
    )
    lines = out.strip().split("\n")
    assert lines[0] == "1 0 0 2 4"  # SSR out and off, relay off, probe open-drain, rising edge
    assert lines[1] == "8000 ['house'] False -61"
    assert lines[2] == "4 1 20"


def test_without_a_config_file_the_board_stays_off_and_says_why(tmp_path: Path):
    out = mp_ok(
        "import sys, os, fake_machine\n"
        "sys.modules['machine'] = fake_machine\nsys.modules['network'] = fake_machine\n"
        f"os.chdir({str(tmp_path)!r})\n"
        "from tank_satellite import hw\nhw.main()\nprint(len(fake_machine.made))"
    )
    assert out.strip().split("\n") == [
        "tank satellite: not started: satellite.json: cannot be read; run `edge satellite deploy`",
        "0",  # no pin touched and no watchdog started: no reset loop
    ]
