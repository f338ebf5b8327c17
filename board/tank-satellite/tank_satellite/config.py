"""The board's config file (satellite.json, written by `edge satellite deploy`) and the
safety limits, checked before anything runs. An error names the key and what is allowed.

Credentials (Wi-Fi, broker) live only in this file on the board, never in the code.
"""

import binascii
import json

PATH = "satellite.json"

# name: (default, min, max, why). Units in the names.
LIMITS = {
    # The supervisor resends its command every 5 s (MqttSatelliteDiverter.refresh_s).
    "setpoint_timeout_s": (15.0, 1.0, 300.0, "three missed resends, then off"),
    # A DS18B20 converts in 0.75 s; reads every probe_period_s.
    "probe_period_s": (2.0, 1.0, 60.0, "how often the probe is read"),
    "probe_timeout_s": (10.0, 2.0, 120.0, "a reading older than this counts as a fault"),
    # Domestic cylinders: stored water at 60 C or more against legionella, and no more
    # than about 80 C, where the element's own thermostat and cut-out sit (BS EN 60335-2-73).
    "tank_max_degc": (75.0, 30.0, 90.0, "off at or above this"),
    "tank_resume_degc": (70.0, 20.0, 88.0, "on again at or below this (hysteresis)"),
    "max_on_s": (14400.0, 5.0, 86400.0, "longest time on without a break"),
    "rest_s": (600.0, 1.0, 7200.0, "off this long after max_on_s"),
    "state_period_s": (5.0, 0.5, 60.0, "state published at least this often"),
    # Each blocking step of a connection (connect, CONNACK, SUBACK) waits at most this;
    # two of them must fit in the watchdog's 8 s.
    "connect_timeout_s": (3.0, 1.0, 3.5, "one broker connection attempt; under the watchdog"),
    "retry_s": (2.0, 0.5, 60.0, "wait between connection attempts"),
}
WDT_TIMEOUT_MS = 8000  # RP2040's watchdog allows at most 8388 ms; an ESP32's far more


class ConfigError(Exception):
    pass


def _need(doc, key, kind, where=""):
    if key not in doc:
        raise ConfigError("%s%s: missing" % (where, key))
    value = doc[key]
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) is not kind:
        raise ConfigError("%s%s: %r is not a %s" % (where, key, value, kind.__name__))
    return value


def check(doc, boards):
    """doc: the parsed file; boards: {board name: its facts}. Returns the checked config."""
    if type(doc) is not dict:
        raise ConfigError("the config is not a JSON object")
    cfg = {}
    name = _need(doc, "name", str)
    if not name or len(name) > 32 or not all(c.isalpha() or c.isdigit() or c in "_-" for c in name):
        raise ConfigError("name: %r: 1 to 32 letters, digits, _ or -" % name)
    cfg["name"] = name
    board = _need(doc, "board", str)
    if board not in boards:
        raise ConfigError("board: %r: one of %s" % (board, ", ".join(sorted(boards))))
    cfg["board"] = dict(boards[board])
    mqtt = _need(doc, "mqtt", dict)
    cfg["mqtt"] = {
        "host": _need(mqtt, "host", str, "mqtt."),
        "port": mqtt.get("port", 1883),
        "user": mqtt.get("user"),
        "password": mqtt.get("password"),
        "base_topic": mqtt.get("base_topic", "edge"),
    }
    if type(cfg["mqtt"]["port"]) is not int or not 1 <= cfg["mqtt"]["port"] <= 65535:
        raise ConfigError("mqtt.port: %r: 1 to 65535" % (cfg["mqtt"]["port"],))
    cfg["wifi"] = doc.get("wifi")  # None where the network is already up (the Unix port)
    if cfg["wifi"] is not None:
        _need(cfg["wifi"], "ssid", str, "wifi.")
        _need(cfg["wifi"], "password", str, "wifi.")
    element_w = doc.get("element_w", cfg["board"]["element_w"])
    if type(element_w) not in (int, float) or not 100 <= element_w <= 6000:
        raise ConfigError("element_w: %r: 100 to 6000 W" % (element_w,))
    cfg["element_w"] = float(element_w)
    mains_hz = doc.get("mains_hz", cfg["board"]["mains_hz"])
    if mains_hz not in (50, 60):
        raise ConfigError("mains_hz: %r: 50 or 60" % (mains_hz,))
    cfg["mains_hz"] = mains_hz
    rom = doc.get("probe_rom", cfg["board"].get("probe_rom"))
    if rom is not None:
        try:
            rom = binascii.unhexlify(rom)
        except (ValueError, TypeError):
            rom = b""
        if len(rom) != 8 or rom[0] != 0x28:
            raise ConfigError(
                "probe_rom: %r: 16 hex digits of a DS18B20 (family 28)" % doc.get("probe_rom")
            )
    cfg["probe_rom"] = rom
    given = doc.get("limits", {})
    for key in given:
        if key not in LIMITS:
            raise ConfigError("limits.%s: unknown; known: %s" % (key, ", ".join(sorted(LIMITS))))
    limits = {}
    for key, (default, lo, hi, _why) in LIMITS.items():
        value = given.get(key, default)
        if type(value) not in (int, float) or not lo <= value <= hi:
            raise ConfigError("limits.%s: %r: %g to %g" % (key, value, lo, hi))
        limits[key] = float(value)
    if limits["tank_resume_degc"] >= limits["tank_max_degc"]:
        raise ConfigError("limits.tank_resume_degc: must be below limits.tank_max_degc")
    cfg["limits"] = limits
    return cfg


def load(boards, path=PATH):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError:
        raise ConfigError("%s: cannot be read; run `edge satellite deploy`" % path)
    except ValueError:
        raise ConfigError("%s: not valid JSON" % path)
    return check(doc, boards)
