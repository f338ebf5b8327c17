"""The site configuration: one TOML file validated into frozen, typed models.

Every field carries its unit in its name, its range and a help text (the description),
so the same model serves validation, documentation and, later, the on-device menu.
A bad file raises ConfigError naming the key, the value and what is allowed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edge.errors import ConfigError

EXAMPLE_CONFIG = Path(__file__).resolve().parent / "examples" / "simulated-house.toml"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Port = Annotated[
    str,
    Field(
        min_length=1,
        description="Where the device is: a serial device such as /dev/ttyUSB0, or "
        "tcp://HOST:PORT for Modbus RTU framing over TCP (an RS485 gateway or the emulator)",
    ),
]


def _check_port(v: str) -> str:
    if v.startswith("tcp://"):
        _host, sep, port = v[len("tcp://") :].rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected tcp://HOST:PORT with a port from 1 to 65535")
    elif not v.startswith("/"):
        raise ValueError("expected a serial device path (/dev/ttyUSB0) or tcp://HOST:PORT")
    return v


class SiteConfig(_Model):
    name: str = Field("My house", min_length=1, description="Name shown in Home Assistant")
    state_db: str = Field(
        "~/.local/state/edge/state.sqlite",
        min_length=1,
        description="SQLite file for what must survive a restart (write counts); :memory: for none",
    )
    api_socket: str = Field(
        "~/.local/state/edge/api.sock",
        min_length=1,
        description="The local API's Unix socket (the on-device menu talks through it)",
    )
    api_group: str | None = Field(
        None, description="Members of this group may act through the local API; others only look"
    )


class InverterConfig(_Model):
    family: Literal["sofar_me3000sp", "sofar_hyd_ep"] = Field(
        "sofar_me3000sp",
        description="Register family: ME3000SP/HYD-ES (0x42 passive) or HYD-EP (G3 registers)",
    )
    port: Port = "tcp://127.0.0.1:8899"
    slave_id: int = Field(1, ge=1, le=63, description="Modbus address set on the inverter LCD")
    baud: Literal[2400, 4800, 9600, 19200] = Field(9600, description="RS485 baud rate")
    timeout_s: float = Field(1.0, ge=0.05, le=10.0, description="Reply timeout per request")
    max_charge_w: int = Field(3000, ge=0, le=3000, description="Largest charge command")
    max_discharge_w: int = Field(3000, ge=0, le=3000, description="Largest discharge command")
    heartbeat_s: float = Field(
        10.0, ge=1.0, le=60.0, description="Heartbeat period (Sofar: at most 1/s, at least 1/min)"
    )
    refresh_s: float = Field(
        30.0, ge=5.0, le=300.0, description="Re-send the current passive command this often"
    )
    stale_after_s: float = Field(
        5.0, ge=1.0, le=300.0, description="Readings older than this put the system in safe state"
    )
    deadband_w: int = Field(
        50, ge=0, le=1000, description="Do not re-command the battery for a smaller change"
    )
    g3_passive_timeout_s: int = Field(
        60,
        ge=10,
        le=3600,
        description="HYD-EP: without a write for this long the inverter returns to self-use",
    )
    daily_write_budget: int = Field(
        20000,
        ge=10,
        le=1_000_000,
        description="Passive commands per day; past it, self-use until the next day",
    )
    full_read_s: float = Field(
        10.0,
        ge=0.0,
        le=300.0,
        description="Read the whole live block this often; the powers alone in between",
    )

    @field_validator("port")
    @classmethod
    def _port_form(cls, v: str) -> str:
        return _check_port(v)


class BatteryConfig(_Model):
    capacity_wh: int = Field(4800, ge=100, le=200_000, description="Usable capacity")
    reserve_soc_pct: float = Field(
        20.0, ge=0.0, le=100.0, description="Never discharge below this SOC (backup reserve)"
    )
    max_soc_pct: float = Field(100.0, ge=10.0, le=100.0, description="Never charge above this SOC")
    bms_port: str | None = Field(
        None,
        description="Pylontech RS485 link: a serial device (/dev/ttyUSB1) or tcp://HOST:PORT;"
        " none: no BMS data",
    )
    bms_baud: Literal[9600, 115200] = Field(
        115200, description="Pylontech RS485 baud rate (9600 with the master's DIP switch 1 up)"
    )
    bms_modules: int = Field(2, ge=1, le=16, description="Modules in the pack (ADR 2, 3, ...)")
    bms_stale_after_s: float = Field(
        10.0, ge=1.0, le=300.0, description="BMS data older than this puts the system in safe state"
    )

    @field_validator("bms_port")
    @classmethod
    def _bms_link(cls, v: str | None) -> str | None:
        return None if v is None else _check_port(v)

    @field_validator("max_soc_pct")
    @classmethod
    def _above_reserve(cls, v: float, info: Any) -> float:
        reserve = info.data.get("reserve_soc_pct")
        if reserve is not None and v <= reserve:
            raise ValueError(f"must be above battery.reserve_soc_pct ({reserve})")
        return v


class DabConfig(_Model):
    enabled: bool = Field(True, description="A DAB board with a second battery string is fitted")
    port: Port = "tcp://127.0.0.1:8900"
    slave_id: int = Field(1, ge=1, le=247, description="Modbus address of the board")
    baud: Literal[9600, 19200, 38400, 57600, 115200] = Field(115200, description="UART baud rate")
    timeout_s: float = Field(0.5, ge=0.05, le=10.0, description="Reply timeout per request")
    max_charge_current_a: float = Field(
        5.0, ge=0.0, le=10.0, description="Largest charge current into the second string"
    )
    chemistry: Literal["lifepo4", "lead_acid", "zinc"] = Field(
        "lifepo4", description="The second string's chemistry (its board's charge protocol)"
    )
    cells: int = Field(4, ge=1, le=32, description="Cells in series in the second string")
    capacity_ah: float = Field(25.0, gt=0, le=1000, description="The second string's capacity")
    stale_after_s: float = Field(
        5.0, ge=1.0, le=300.0, description="Board data older than this is stale"
    )
    bus_min_v: float = Field(
        21.0, ge=0.0, le=1000.0, description="Start-up: the DC bus counts as up above this"
    )
    bus_max_v: float = Field(
        27.0, ge=0.0, le=1000.0, description="Start-up: the DC bus counts as up below this"
    )
    bus_settle_s: float = Field(
        2.0, ge=0.0, le=60.0, description="Start-up: the bus must stay up this long"
    )
    daily_write_budget: int = Field(
        50000, ge=10, le=1_000_000, description="Setpoint writes to the board per day, at most"
    )

    @field_validator("port")
    @classmethod
    def _port_form(cls, v: str) -> str:
        return _check_port(v)

    @field_validator("bus_max_v")
    @classmethod
    def _bus_window(cls, v: float, info: Any) -> float:
        low = info.data.get("bus_min_v")
        if low is not None and v <= low:
            raise ValueError(f"must be above dab.bus_min_v ({low})")
        return v


class MqttConfig(_Model):
    enabled: bool = Field(True, description="Publish to an MQTT broker")
    host: str = Field("127.0.0.1", min_length=1, description="Broker host")
    port: int = Field(1883, ge=1, le=65535, description="Broker port")
    username: str | None = Field(None, description="Broker user name")
    password: str | None = Field(None, description="Broker password")
    tls: bool = Field(False, description="Connect with TLS (the broker's port is then often 8883)")
    ca_file: str | None = Field(
        None, description="TLS: the CA that signed the broker's certificate (none: the system's)"
    )
    client_cert_file: str | None = Field(None, description="TLS: a client certificate, if used")
    client_key_file: str | None = Field(None, description="TLS: that certificate's key")
    discovery_prefix: str = Field(
        "homeassistant", pattern=r"^[A-Za-z0-9_/-]+$", description="Home Assistant discovery prefix"
    )
    base_topic: str = Field("edge", pattern=r"^[A-Za-z0-9_/-]+$", description="Root of our topics")
    command_max_age_s: float = Field(
        30.0, ge=1.0, le=3600.0, description="A command sent longer ago than this is refused"
    )
    outbox_max_mb: float = Field(
        200.0,
        ge=1.0,
        le=10_000.0,
        description="Telemetry kept while the broker is away, at most (oldest thinned first)",
    )
    energy_period_s: float = Field(
        60.0, ge=1.0, le=3600.0, description="Energy totals are saved and published this often"
    )


class SimulationConfig(_Model):
    """The simulated house that `edge demo` and `edge sim` run (ignored by `edge run`)."""

    seed: int = Field(1, ge=0, description="Same seed, same day: weather, load, cells")
    start_day_of_year: int = Field(172, ge=1, le=366, description="Day the clock starts on")
    latitude_deg: float = Field(52.2, ge=-90, le=90, description="Site latitude")
    longitude_deg: float = Field(-1.5, ge=-180, le=180, description="Site longitude")
    pv_kwp: float = Field(5.0, gt=0, le=50, description="PV array peak power")
    pv_tilt_deg: float = Field(35.0, ge=0, le=90, description="PV tilt from horizontal")
    pv_azimuth_deg: float = Field(180.0, ge=0, lt=360, description="PV azimuth, 180 = south")
    pv_model: Literal["pvlib", "scenario"] = Field(
        "pvlib", description="pvlib at the site, or the scenario's bell curve"
    )
    cloudiness: float = Field(0.0, ge=0, le=0.95, description="Share of time under clouds")
    weather_csv: str | None = Field(None, description="CSV time,ghi,dni,dhi instead of clear sky")
    load_model: Literal["scenario", "richardsonpy"] = Field(
        "scenario", description="Kettle scenario (base + kettles), or richardsonpy at 1 s"
    )
    occupants: int = Field(3, ge=1, le=5, description="richardsonpy occupants")
    diverter: Literal["external", "eddi", "mk2", "mk2_1290"] = Field(
        "external", description="The immersion diverter: the supervisor's, or a status-quo one"
    )


class DiverterConfig(_Model):
    enabled: bool = Field(True, description="The supervisor drives the immersion element")
    output: Literal["emulated", "burst_fire_gpio", "mqtt_satellite"] = Field(
        "emulated",
        description="Where the proportional power goes: the simulated house's SSR, a"
        " zero-cross SSR on a GPIO line (whole mains cycles), or a satellite over MQTT",
    )
    gpio_chip: str = Field("/dev/gpiochip0", description="burst_fire_gpio: the GPIO chip")
    gpio_line: int = Field(17, ge=0, le=511, description="burst_fire_gpio: the SSR's line")
    mains_hz: Literal[50, 60] = Field(50, description="burst_fire_gpio: mains frequency")
    satellite: str = Field(
        "diverter",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="mqtt_satellite: its name, under <base_topic>/satellite/<name>/",
    )
    element_w: float = Field(3000.0, gt=0, le=6000, description="Immersion element rating")
    tank_max_degc: float = Field(
        60.0, ge=30, le=85, description="No surplus into the tank at or above this temperature"
    )
    deadband_w: float = Field(
        50.0, ge=0, le=1000, description="Do not re-set the output for a smaller change"
    )
    daily_write_budget: int = Field(
        100_000, ge=10, le=10_000_000, description="Output settings per day, at most"
    )


class HeatPumpConfig(_Model):
    enabled: bool = Field(False, description="Ask the heat pump to run on surplus (SG-Ready)")
    relays: Literal["emulated", "gpio"] = Field(
        "emulated", description="Where the SG-Ready contacts are: simulated, or two GPIO relays"
    )
    gpio_chip: str = Field("/dev/gpiochip0", description="gpio: the GPIO chip")
    relay1_line: int = Field(22, ge=0, le=511, description="gpio: SG-Ready contact 1's line")
    relay2_line: int = Field(27, ge=0, le=511, description="gpio: SG-Ready contact 2's line")
    power_w: float = Field(1400.0, gt=0, le=10000, description="Electrical power when running")
    confirm_s: float = Field(240.0, ge=0, le=3600, description="Surplus must last this long")
    release_s: float = Field(120.0, ge=0, le=3600, description="Deficit must last this long")
    min_on_s: float = Field(600.0, ge=0, le=7200, description="Shortest boost")
    min_off_s: float = Field(300.0, ge=0, le=7200, description="Shortest pause between boosts")
    max_starts_per_h: int = Field(3, ge=1, le=12, description="Boosts started per hour, at most")


class LoadsConfig(_Model):
    diverter: DiverterConfig = DiverterConfig()
    heat_pump: HeatPumpConfig = HeatPumpConfig()
    priority: list[Literal["tank", "heat_pump"]] = Field(
        ["tank", "heat_pump"], description="Who gets the surplus the battery cannot take first"
    )
    stale_after_s: float = Field(
        10.0, ge=1.0, le=300.0, description="Load readings older than this are not used"
    )
    tank_sensor: str | None = Field(
        None,
        description="Tank probe: a 1-Wire sensor's file such as"
        " /sys/bus/w1/devices/28-0316a2794aff/temperature (a satellite reports its own)",
    )

    @field_validator("priority")
    @classmethod
    def _each_once(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each load at most once, e.g. ['tank', 'heat_pump']")
        return v


class PolicyConfig(_Model):
    tick_s: float = Field(1.0, ge=0.1, le=10.0, description="Supervisor cycle period")
    request_s: float = Field(
        3600.0,
        ge=60.0,
        le=86400.0,
        description="How long a mode, force-charge or boost request lasts unless it says",
    )
    hold_s: float = Field(
        60.0, ge=0, le=3600, description="No charge/discharge reversal within this time..."
    )
    flip_threshold_w: float = Field(
        500.0, ge=0, le=10000, description="...unless the power needed exceeds this"
    )


class EdgeConfig(_Model):
    site: SiteConfig = SiteConfig()
    inverter: InverterConfig = InverterConfig()
    battery: BatteryConfig = BatteryConfig()
    dab: DabConfig = DabConfig()
    mqtt: MqttConfig = MqttConfig()
    policy: PolicyConfig = PolicyConfig()
    loads: LoadsConfig = LoadsConfig()
    simulation: SimulationConfig = SimulationConfig()


def _describe(err: Any) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    value = err.get("input")
    allowed = err["msg"]
    ctx = err.get("ctx") or {}
    if err["type"] == "extra_forbidden":
        return f"{key} = {value!r}: unknown key (check the spelling; see the example config)"
    if err["type"] == "literal_error" and "expected" in ctx:
        allowed = f"allowed: {ctx['expected']}"
    return f"{key} = {value!r}: {allowed}"


def parse_config(data: dict[str, Any], source: str = "<config>") -> EdgeConfig:
    """Validate a parsed TOML document; raise ConfigError naming every bad key."""
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e) for e in exc.errors()]
        raise ConfigError(f"{source}: invalid configuration\n  " + "\n  ".join(lines)) from None


def load_config(path: Path | str) -> EdgeConfig:
    """Read and validate a TOML site file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the configuration file: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse_config(data, str(p))
