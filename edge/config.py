"""The site configuration: one TOML file validated into frozen, typed models.

Every setting is declared once, with `setting(...)`: its default, its help text, its unit
(also in its name), its range, whether a running supervisor takes it at once on a reload
(`live`), and the field of the core's CoreConfig it feeds (`core`). The same declaration
serves validation, the reload (edge/settings.py), the core's config and the on-device menu
(edge/menu/schema.py). A bad file raises ConfigError naming the key, the value and what is
allowed.

Types are strict (pydantic's strict mode): `slave_id = true`, `max_charge_w = "3000"` and
`enabled = "yes"` are refused rather than read as 1, 3000 and true; an integer is taken
where a float is wanted; nan and inf are refused. Every way a file can fail (unreadable,
over MAX_FILE_BYTES, not UTF-8, not TOML, invalid) is a ConfigError that starts with the
file's name, and its size is bounded: the first MAX_ERRORS_SHOWN bad keys, each in a line
of at most MAX_LINE_CHARS, then "and N more". `edge run` also needs the devices named
(require_devices); only the demo and the simulator run on the defaults.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo

from edge.errors import ConfigError, clip, shown

EXAMPLE_CONFIG = Path(__file__).resolve().parent / "examples" / "simulated-house.toml"


def setting(
    default: Any,
    help: str,
    *,
    unit: str | None = None,
    live: bool = False,
    core: str | None = None,
    **bounds: Any,
) -> Any:
    """A setting, declared once.

    help: the text the menu and the errors show; unit: its unit, as its name's suffix
    says ("s", "W", "%"); live: a running supervisor takes a new value at once on a reload
    (otherwise it needs a restart); core: the field of edge.core.CoreConfig it feeds;
    bounds: pydantic's ge, gt, le, lt, min_length, pattern.
    """
    extra: JsonDict = {"unit": unit, "live": live, "core": core}
    return Field(default, description=help, json_schema_extra=extra, **bounds)


@dataclass(frozen=True)
class SettingSpec:
    """What a setting declares, read back from the model."""

    key: str  # dotted, e.g. "policy.hold_s"
    field: FieldInfo  # its type, default and bounds
    unit: str | None
    live: bool
    core: str | None

    @property
    def help(self) -> str:
        return self.field.description or ""


def _spec(key: str, field: FieldInfo) -> SettingSpec:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    unit, core = extra.get("unit"), extra.get("core")
    return SettingSpec(
        key=key,
        field=field,
        unit=unit if isinstance(unit, str) else None,
        live=extra.get("live") is True,
        core=core if isinstance(core, str) else None,
    )


def setting_specs(model: type[BaseModel], prefix: str = "") -> list[SettingSpec]:
    """Every leaf setting of the model, in the model's order."""
    out: list[SettingSpec] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += setting_specs(annotation, f"{prefix}{name}.")
        else:
            out.append(_spec(f"{prefix}{name}", field))
    return out


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


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
    name: str = setting("My house", "Name shown in Home Assistant", min_length=1)
    state_db: str = setting(
        "~/.local/state/edge/state.sqlite",
        "SQLite file for what must survive a restart (write counts); :memory: for none",
        min_length=1,
    )
    api_socket: str = setting(
        "~/.local/state/edge/api.sock",
        "The local API's Unix socket (the on-device menu talks through it)",
        min_length=1,
    )
    api_group: str | None = setting(
        None, "Members of this group may act through the local API; others only look"
    )


class InverterConfig(_Model):
    family: Literal["sofar_me3000sp", "sofar_hyd_ep"] = setting(
        "sofar_me3000sp",
        "Register family: ME3000SP/HYD-ES (0x42 passive) or HYD-EP (G3 registers)",
    )
    port: Port = "tcp://127.0.0.1:8899"
    slave_id: int = setting(1, "Modbus address set on the inverter LCD", ge=1, le=63)
    baud: Literal[2400, 4800, 9600, 19200] = setting(9600, "RS485 baud rate")
    timeout_s: float = setting(1.0, "Reply timeout per request", unit="s", ge=0.05, le=10.0)
    max_charge_w: int = setting(
        3000, "Largest charge command", unit="W", live=True, core="max_charge_w", ge=0, le=3000
    )
    max_discharge_w: int = setting(
        3000,
        "Largest discharge command",
        unit="W",
        live=True,
        core="max_discharge_w",
        ge=0,
        le=3000,
    )
    heartbeat_s: float = setting(
        10.0, "Heartbeat period (Sofar: at most 1/s, at least 1/min)", unit="s", ge=1.0, le=60.0
    )
    refresh_s: float = setting(
        30.0, "Re-send the current passive command this often", unit="s", ge=5.0, le=300.0
    )
    stale_after_s: float = setting(
        5.0,
        "Readings older than this put the system in safe state",
        unit="s",
        live=True,
        core="inverter_stale_after_s",
        ge=1.0,
        le=300.0,
    )
    deadband_w: int = setting(
        50,
        "Do not re-command the battery for a smaller change",
        unit="W",
        live=True,
        ge=0,
        le=1000,
    )
    g3_passive_timeout_s: int = setting(
        60,
        "HYD-EP: without a write for this long the inverter returns to self-use",
        unit="s",
        ge=10,
        le=3600,
    )
    daily_write_budget: int = setting(
        20000,
        "Passive commands per day; past it, self-use until the next day",
        ge=10,
        le=1_000_000,
    )
    full_read_s: float = setting(
        10.0,
        "Read the whole live block this often; the powers alone in between",
        unit="s",
        ge=0.0,
        le=300.0,
    )

    @field_validator("port")
    @classmethod
    def _port_form(cls, v: str) -> str:
        return _check_port(v)


class BatteryConfig(_Model):
    capacity_wh: int = setting(4800, "Usable capacity", unit="Wh", ge=100, le=200_000)
    reserve_soc_pct: float = setting(
        20.0,
        "Never discharge below this SOC (backup reserve)",
        unit="%",
        live=True,
        core="reserve_soc_pct",
        ge=0.0,
        le=100.0,
    )
    max_soc_pct: float = setting(
        100.0,
        "Never charge above this SOC",
        unit="%",
        live=True,
        core="max_soc_pct",
        ge=10.0,
        le=100.0,
    )
    # The core's bms_required follows from this (edge/settings.py).
    bms_port: str | None = setting(
        None,
        "Pylontech RS485 link: a serial device (/dev/ttyUSB1) or tcp://HOST:PORT;"
        " none: no BMS data",
    )
    bms_baud: Literal[9600, 115200] = setting(
        115200, "Pylontech RS485 baud rate (9600 with the master's DIP switch 1 up)"
    )
    bms_modules: int = setting(2, "Modules in the pack (ADR 2, 3, ...)", ge=1, le=16)
    bms_stale_after_s: float = setting(
        10.0,
        "BMS data older than this puts the system in safe state",
        unit="s",
        live=True,
        core="bms_stale_after_s",
        ge=1.0,
        le=300.0,
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
    enabled: bool = setting(
        True, "A DAB board with a second battery string is fitted", core="dab_enabled"
    )
    port: Port = "tcp://127.0.0.1:8900"
    slave_id: int = setting(1, "Modbus address of the board", ge=1, le=247)
    baud: Literal[9600, 19200, 38400, 57600, 115200] = setting(115200, "UART baud rate")
    timeout_s: float = setting(0.5, "Reply timeout per request", unit="s", ge=0.05, le=10.0)
    max_charge_current_a: float = setting(
        5.0,
        "Largest charge current into the second string",
        unit="A",
        live=True,
        core="dab_max_charge_current_a",
        ge=0.0,
        le=10.0,
    )
    chemistry: Literal["lifepo4", "lead_acid", "zinc"] = setting(
        "lifepo4", "The second string's chemistry (its board's charge protocol)"
    )
    cells: int = setting(4, "Cells in series in the second string", ge=1, le=32)
    capacity_ah: float = setting(25.0, "The second string's capacity", unit="Ah", gt=0, le=1000)
    stale_after_s: float = setting(
        5.0,
        "Board data older than this is stale",
        unit="s",
        live=True,
        core="dab_stale_after_s",
        ge=1.0,
        le=300.0,
    )
    bus_min_v: float = setting(
        21.0, "Start-up: the DC bus counts as up above this", unit="V", ge=0.0, le=1000.0
    )
    bus_max_v: float = setting(
        27.0, "Start-up: the DC bus counts as up below this", unit="V", ge=0.0, le=1000.0
    )
    bus_settle_s: float = setting(
        2.0, "Start-up: the bus must stay up this long", unit="s", ge=0.0, le=60.0
    )
    daily_write_budget: int = setting(
        50000, "Setpoint writes to the board per day, at most", ge=10, le=1_000_000
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
    enabled: bool = setting(True, "Publish to an MQTT broker")
    host: str = setting("127.0.0.1", "Broker host", min_length=1)
    port: int = setting(1883, "Broker port", ge=1, le=65535)
    username: str | None = setting(None, "Broker user name")
    password: str | None = setting(None, "Broker password")
    tls: bool = setting(False, "Connect with TLS (the broker's port is then often 8883)")
    ca_file: str | None = setting(
        None, "TLS: the CA that signed the broker's certificate (none: the system's)"
    )
    client_cert_file: str | None = setting(None, "TLS: a client certificate, if used")
    client_key_file: str | None = setting(None, "TLS: that certificate's key")
    discovery_prefix: str = setting(
        "homeassistant", "Home Assistant discovery prefix", pattern=r"^[A-Za-z0-9_/-]+$"
    )
    base_topic: str = setting("edge", "Root of our topics", pattern=r"^[A-Za-z0-9_/-]+$")
    command_max_age_s: float = setting(
        30.0,
        "A command sent longer ago than this is refused",
        unit="s",
        live=True,
        ge=1.0,
        le=3600.0,
    )
    outbox_max_mb: float = setting(
        200.0,
        "Telemetry kept while the broker is away, at most (oldest thinned first)",
        unit="MB",
        ge=1.0,
        le=10_000.0,
    )
    energy_period_s: float = setting(
        60.0, "Energy totals are saved and published this often", unit="s", ge=1.0, le=3600.0
    )
    support_url: str | None = setting(
        None,
        "Where Home Assistant's MQTT info sends the user for help (discovery's origin)",
        pattern=r"^https?://\S+$",
        max_length=200,
    )


class SimulationConfig(_Model):
    """The simulated house that `edge demo` and `edge sim` run (ignored by `edge run`)."""

    seed: int = setting(1, "Same seed, same day: weather, load, cells", ge=0)
    start_day_of_year: int = setting(172, "Day the clock starts on", ge=1, le=366)
    latitude_deg: float = setting(52.2, "Site latitude", unit="°", ge=-90, le=90)
    longitude_deg: float = setting(-1.5, "Site longitude", unit="°", ge=-180, le=180)
    pv_kwp: float = setting(5.0, "PV array peak power", unit="kWp", gt=0, le=50)
    pv_tilt_deg: float = setting(35.0, "PV tilt from horizontal", unit="°", ge=0, le=90)
    pv_azimuth_deg: float = setting(180.0, "PV azimuth, 180 = south", unit="°", ge=0, lt=360)
    pv_model: Literal["pvlib", "scenario"] = setting(
        "pvlib", "pvlib at the site, or the scenario's bell curve"
    )
    cloudiness: float = setting(0.0, "Share of time under clouds", ge=0, le=0.95)
    weather_csv: str | None = setting(None, "CSV time,ghi,dni,dhi instead of clear sky")
    load_model: Literal["scenario", "richardsonpy"] = setting(
        "scenario", "Kettle scenario (base + kettles), or richardsonpy at 1 s"
    )
    occupants: int = setting(3, "richardsonpy occupants", ge=1, le=5)
    diverter: Literal["external", "eddi", "mk2", "mk2_1290"] = setting(
        "external", "The immersion diverter: the supervisor's, or a status-quo one"
    )


class DiverterConfig(_Model):
    enabled: bool = setting(
        True, "The supervisor drives the immersion element", core="tank_enabled"
    )
    output: Literal["emulated", "burst_fire_gpio", "mqtt_satellite"] = setting(
        "emulated",
        "Where the proportional power goes: the simulated house's SSR, a"
        " zero-cross SSR on a GPIO line (whole mains cycles), or a satellite over MQTT",
    )
    gpio_chip: str = setting("/dev/gpiochip0", "burst_fire_gpio: the GPIO chip")
    gpio_line: int = setting(17, "burst_fire_gpio: the SSR's line", ge=0, le=511)
    mains_hz: Literal[50, 60] = setting(50, "burst_fire_gpio: mains frequency", unit="Hz")
    satellite: str = setting(
        "diverter",
        "mqtt_satellite: its name, under <base_topic>/satellite/<name>/",
        pattern=r"^[A-Za-z0-9_-]+$",
    )
    satellite_refresh_s: float = setting(
        5.0,
        "mqtt_satellite: the command is sent again this often, changed or not (keep it"
        " well under the satellite's setpoint_timeout_s, 15 s by default)",
        unit="s",
        ge=0.2,
        le=60.0,
    )
    element_w: float = setting(
        3000.0,
        "Immersion element rating",
        unit="W",
        live=True,
        core="diverter_element_w",
        gt=0,
        le=6000,
    )
    tank_max_degc: float = setting(
        60.0,
        "No surplus into the tank at or above this temperature",
        unit="°C",
        live=True,
        core="tank_max_degc",
        ge=30,
        le=85,
    )
    deadband_w: float = setting(
        50.0,
        "Do not re-set the output for a smaller change",
        unit="W",
        live=True,
        ge=0,
        le=1000,
    )
    daily_write_budget: int = setting(
        100_000, "Output settings per day, at most", ge=10, le=10_000_000
    )


class HeatPumpConfig(_Model):
    enabled: bool = setting(
        False, "Ask the heat pump to run on surplus (SG-Ready)", core="hp_enabled"
    )
    relays: Literal["emulated", "gpio"] = setting(
        "emulated", "Where the SG-Ready contacts are: simulated, or two GPIO relays"
    )
    gpio_chip: str = setting("/dev/gpiochip0", "gpio: the GPIO chip")
    relay1_line: int = setting(22, "gpio: SG-Ready contact 1's line", ge=0, le=511)
    relay2_line: int = setting(27, "gpio: SG-Ready contact 2's line", ge=0, le=511)
    power_w: float = setting(
        1400.0,
        "Electrical power when running",
        unit="W",
        live=True,
        core="hp_power_w",
        gt=0,
        le=10000,
    )
    confirm_s: float = setting(
        240.0,
        "Surplus must last this long",
        unit="s",
        live=True,
        core="hp_confirm_s",
        ge=0,
        le=3600,
    )
    release_s: float = setting(
        120.0,
        "Deficit must last this long",
        unit="s",
        live=True,
        core="hp_release_s",
        ge=0,
        le=3600,
    )
    min_on_s: float = setting(
        600.0, "Shortest boost", unit="s", live=True, core="hp_min_on_s", ge=0, le=7200
    )
    min_off_s: float = setting(
        300.0,
        "Shortest pause between boosts",
        unit="s",
        live=True,
        core="hp_min_off_s",
        ge=0,
        le=7200,
    )
    max_starts_per_h: int = setting(
        3,
        "Boosts started per hour, at most",
        unit="per hour",
        live=True,
        core="hp_max_starts_per_h",
        ge=1,
        le=12,
    )


class LoadsConfig(_Model):
    diverter: DiverterConfig = DiverterConfig()
    heat_pump: HeatPumpConfig = HeatPumpConfig()
    priority: list[Literal["tank", "heat_pump"]] = setting(
        ["tank", "heat_pump"],
        "Who gets the surplus the battery cannot take first",
        live=True,
        core="loads_priority",
    )
    stale_after_s: float = setting(
        10.0,
        "Load readings older than this are not used",
        unit="s",
        live=True,
        core="loads_stale_after_s",
        ge=1.0,
        le=300.0,
    )
    tank_sensor: str | None = setting(
        None,
        "Tank probe: a 1-Wire sensor's file such as"
        " /sys/bus/w1/devices/28-0316a2794aff/temperature (a satellite reports its own)",
    )

    @field_validator("priority")
    @classmethod
    def _each_once(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each load at most once, e.g. ['tank', 'heat_pump']")
        return v


class PolicyConfig(_Model):
    tick_s: float = setting(1.0, "Supervisor cycle period", unit="s", live=True, ge=0.1, le=10.0)
    request_s: float = setting(
        3600.0,
        "How long a mode, force-charge or boost request lasts unless it says",
        unit="s",
        live=True,
        ge=60.0,
        le=86400.0,
    )
    hold_s: float = setting(
        60.0,
        "No charge/discharge reversal within this time...",
        unit="s",
        live=True,
        core="hold_s",
        ge=0,
        le=3600,
    )
    flip_threshold_w: float = setting(
        500.0,
        "...unless the power needed exceeds this",
        unit="W",
        live=True,
        core="flip_threshold_w",
        ge=0,
        le=10000,
    )


class SourcesConfig(_Model):
    """The planner's prices and forecasts (docs/sources.md): where each comes from, how
    often it is asked, and how old it may get before the planner stops using it."""

    prices: Literal["fixed", "csv", "octopus", "mqtt"] = setting(
        "fixed", "Where half-hourly prices come from (fixed: the tariff's own rates only)"
    )
    prices_csv: str | None = setting(
        None, "csv: the file (start, import_p_per_kwh, export_p_per_kwh; docs/sources.md)"
    )
    octopus_product: str | None = setting(
        None, "octopus: the import product code, e.g. AGILE-24-10-01", pattern=r"^[A-Z0-9-]+$"
    )
    octopus_tariff: str | None = setting(
        None,
        "octopus: the import tariff code (your region's), e.g. E-1R-AGILE-24-10-01-C",
        pattern=r"^[A-Z0-9-]+$",
    )
    octopus_export_product: str | None = setting(
        None, "octopus: the export product code (Agile Outgoing)", pattern=r"^[A-Z0-9-]+$"
    )
    octopus_export_tariff: str | None = setting(
        None, "octopus: the export tariff code", pattern=r"^[A-Z0-9-]+$"
    )
    octopus_url: str = setting(
        "https://api.octopus.energy", "octopus: the API's base URL", pattern=r"^https?://\S+$"
    )
    prices_topic: str | None = setting(
        None,
        "mqtt: the topic of the price messages (default <mqtt.base_topic>/prices)",
        pattern=r"^[^#+]+$",
    )
    prices_period_s: float = setting(
        1800.0, "Read the prices this often", unit="s", ge=60.0, le=86400.0
    )
    prices_stale_after_s: float = setting(
        86400.0,
        "Prices fetched longer ago than this are dropped: the tariff's fixed rates",
        unit="s",
        ge=600.0,
        le=7 * 86400.0,
    )
    pv: Literal["none", "open_meteo", "forecast_solar", "solcast"] = setting(
        "none", "Where the PV forecast comes from"
    )
    latitude_deg: float = setting(52.2, "Site latitude", unit="°", ge=-90, le=90)
    longitude_deg: float = setting(-1.5, "Site longitude", unit="°", ge=-180, le=180)
    pv_kwp: float = setting(5.0, "PV array peak power", unit="kWp", gt=0, le=50)
    pv_tilt_deg: float = setting(35.0, "PV tilt from horizontal", unit="°", ge=0, le=90)
    pv_azimuth_deg: float = setting(180.0, "PV azimuth, 180 = south", unit="°", ge=0, lt=360)
    pv_losses_pct: float = setting(
        14.0, "open_meteo: system losses (PVWatts' default)", unit="%", ge=0, le=50
    )
    solcast_site: str | None = setting(
        None, "solcast: the rooftop site's resource id", pattern=r"^[A-Za-z0-9-]+$"
    )
    solcast_api_key: str | None = setting(None, "solcast: your API key", min_length=8)
    open_meteo_url: str = setting(
        "https://api.open-meteo.com", "open_meteo: the API's base URL", pattern=r"^https?://\S+$"
    )
    forecast_solar_url: str = setting(
        "https://api.forecast.solar",
        "forecast_solar: the API's base URL",
        pattern=r"^https?://\S+$",
    )
    solcast_url: str = setting(
        "https://api.solcast.com.au", "solcast: the API's base URL", pattern=r"^https?://\S+$"
    )
    pv_period_s: float = setting(
        3600.0,
        "Read the PV forecast this often (solcast: at least every 9000 s, its free plan)",
        unit="s",
        ge=600.0,
        le=86400.0,
    )
    pv_stale_after_s: float = setting(
        6 * 3600.0,
        "A PV forecast fetched longer ago than this is dropped",
        unit="s",
        ge=1800.0,
        le=3 * 86400.0,
    )
    http_timeout_s: float = setting(10.0, "Each web request's timeout", unit="s", ge=1.0, le=120.0)
    http_attempts: int = setting(
        3, "Tries of a web request before it counts as failed", ge=1, le=10
    )
    calibration_days: float = setting(
        14.0, "PV calibration: measured over forecast across this many days", unit="d", ge=1, le=60
    )
    history_days: float = setting(
        28.0, "Load history kept in the state database", unit="d", ge=7, le=366
    )
    indoor_temp_topic: str | None = setting(
        None,
        "The house's indoor temperature on MQTT (a number, or JSON with indoor_temp_field),"
        " for planner.house",
        pattern=r"^[^#+]+$",
        max_length=200,
    )
    indoor_temp_field: str | None = setting(
        None,
        "A JSON payload's field holding the temperature, dotted for nested (e.g. temperature)",
        pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$",
        max_length=100,
    )
    indoor_temp_stale_after_s: float = setting(
        7200.0,
        "An indoor temperature older than this is dropped: the plan leaves the heat pump out",
        unit="s",
        ge=60.0,
        le=86400.0,
    )
    load_blend_s: float = setting(
        3600.0,
        "Load forecast: the live reading's pull on the next slots fades over this",
        unit="s",
        ge=0.0,
        le=86400.0,
    )
    pv_nowcast_s: float = setting(
        7200.0,
        "PV forecast: the last half hour's measured/forecast ratio pulls the next slots,"
        " fading over this (0: off)",
        unit="s",
        ge=0.0,
        le=86400.0,
    )

    @model_validator(mode="after")
    def _each_source_named(self) -> SourcesConfig:
        need = {
            "csv": ("prices_csv",),
            "octopus": ("octopus_product", "octopus_tariff"),
            "solcast": ("solcast_site", "solcast_api_key"),
        }
        for choice in (self.prices, self.pv):
            missing = [f"sources.{k}" for k in need.get(choice, ()) if getattr(self, k) is None]
            if missing:
                raise ValueError(f"{choice!r} needs {' and '.join(missing)}")
        pair = (self.octopus_export_product, self.octopus_export_tariff)
        if (pair[0] is None) != (pair[1] is None):
            raise ValueError("sources.octopus_export_product and _tariff go together")
        return self


class S2Config(_Model):
    """S2 (EN 50491-12-2): a customer energy manager (CEM) steers the battery through a
    resource manager over a WebSocket (docs/s2.md). Needs the `s2` extra."""

    enabled: bool = setting(False, "Offer the battery to an S2 CEM (needs edge[s2])")
    url: str = setting(
        "ws://127.0.0.1:8080/s2",
        "The CEM's WebSocket URL (wss:// for TLS)",
        pattern=r"^wss?://\S+$",
        max_length=300,
    )
    token: str | None = setting(
        None, "Bearer token sent in the Authorization header (none: no header)", max_length=4096
    )
    ca_file: str | None = setting(
        None, "wss://: the CA that signed the CEM's certificate (none: the system's)"
    )
    instruction_valid_s: float = setting(
        300.0,
        "An instruction acts this long; a CEM that sends none for longer loses its authority",
        unit="s",
        ge=60.0,
        le=3600.0,
    )
    status_period_s: float = setting(
        5.0, "Fill level and power measurement sent this often", unit="s", ge=1.0, le=300.0
    )
    round_trip_efficiency_pct: float = setting(
        90.0,
        "The battery's AC-to-AC round-trip efficiency, for the fill rates",
        unit="%",
        ge=50.0,
        le=100.0,
    )
    reconnect_max_s: float = setting(
        60.0, "Longest wait between reconnection attempts", unit="s", ge=1.0, le=3600.0
    )
    tank: bool = setting(
        True, "Offer the hot-water tank too, where the diverter is enabled (its own session)"
    )
    tank_volume_l: float = setting(150.0, "The tank's volume", unit="l", ge=10.0, le=2000.0)
    tank_comfort_min_degc: float = setting(
        45.0,
        "Hot enough for use: the tank's fill level counts the heat above this",
        unit="°C",
        ge=20.0,
        le=70.0,
    )
    tank_standing_loss_w: float = setting(
        60.0, "Heat the tank loses standing (its leakage)", unit="W", ge=0.0, le=1000.0
    )
    heat_pump: bool = setting(
        True, "Offer the SG-Ready heat pump too (OMBC), where loads.heat_pump is enabled"
    )
    export_limit: bool = setting(
        True, "Offer the export limit as a power envelope (PEBC) the CEM may tighten"
    )
    leads: Literal["cem", "planner"] = setting(
        "cem",
        "Who leads with the planner on: cem (its requests beat a plan) or planner (the CEM"
        " may only hand back)",
    )


class HouseConfig(_Model):
    """The house the heat pump heats, for the planner's model of it (docs/planner.md, "The
    house"). Used only where loads.heat_pump.enabled and an indoor temperature comes in
    (sources.indoor_temp_topic); the defaults are a well-insulated house of about 100 m2."""

    enabled: bool = setting(
        False, "Plan the heat pump too (needs loads.heat_pump and sources.indoor_temp_topic)"
    )
    heat_w: float = setting(
        5000.0, "The heat pump's heat output when running", unit="W", gt=0, le=30000
    )
    loss_w_per_k: float = setting(
        150.0, "The house's heat loss per K inside over outside", unit="W/K", gt=0, le=2000
    )
    capacity_kwh_per_k: float = setting(
        5.5, "The house's thermal capacity: heat to warm it by 1 K", unit="kWh/K", gt=0, le=100
    )
    internal_gain_w: float = setting(
        300.0, "Heat from people, appliances and the sun, on average", unit="W", ge=0, le=5000
    )
    floor_degc: float = setting(
        19.5, "Comfort: the plan keeps the house at least this warm", unit="°C", ge=5, le=30
    )
    ceiling_degc: float = setting(
        23.0, "Comfort: the plan heats the house to at most this", unit="°C", ge=5, le=30
    )
    cop_at_7c_out: float = setting(3.5, "The heat pump's COP at 7 °C outside", ge=1.0, le=8.0)
    cop_per_k: float = setting(
        0.08, "The COP's rise per K warmer outside", unit="per K", ge=0.0, le=0.5
    )
    setpoint_degc: float = setting(
        20.0, "The heat pump's own room setpoint (its thermostat)", unit="°C", ge=5, le=30
    )
    hysteresis_k: float = setting(
        0.5,
        "Its thermostat's hysteresis: on below and off above the setpoint by this",
        unit="K",
        ge=0.0,
        le=5.0,
    )
    recommend_raise_k: float = setting(
        2.0, "How far SG-Ready RECOMMEND raises its setpoint", unit="K", ge=0.0, le=10.0
    )

    @model_validator(mode="after")
    def _band_in_order(self) -> HouseConfig:
        if not self.floor_degc < self.ceiling_degc:
            raise ValueError(
                f"planner.house.floor_degc ({self.floor_degc:g}) must be below"
                f" planner.house.ceiling_degc ({self.ceiling_degc:g})"
            )
        if not self.floor_degc <= self.setpoint_degc <= self.ceiling_degc:
            raise ValueError(
                f"planner.house.setpoint_degc ({self.setpoint_degc:g}) must be between"
                f" floor_degc ({self.floor_degc:g}) and ceiling_degc ({self.ceiling_degc:g})"
            )
        return self


class PlannerConfig(_Model):
    """The planner above the core (docs/planner.md)."""

    enabled: bool = setting(
        False, "Plan battery, tank and heat pump against the tariff", core="planner_enabled"
    )
    plan_max_age_s: float = setting(
        3600.0,
        "An older plan is dropped: plain self-consumption",
        unit="s",
        live=True,
        core="plan_max_age_s",
        ge=300,
        le=86400,
    )
    replan_s: float = setting(900.0, "Re-plan this often", unit="s", live=True, ge=60, le=3600)
    horizon_h: float = setting(36.0, "How far ahead to plan", unit="h", live=True, ge=12, le=48)
    wear_p_per_kwh: float = setting(
        1.0, "Battery wear per kWh in or out", unit="p/kWh", live=True, ge=0, le=100
    )
    hysteresis_p_per_kwh: float = setting(
        0.5,
        "A new plan changes a slot only for a gain over this",
        unit="p/kWh",
        live=True,
        ge=0,
        le=100,
    )
    house: HouseConfig = HouseConfig()


class TariffConfig(_Model):
    """The planner's tariff (edge/planner/tariffs.py: the windows and their sources). A
    price left unset is the structure's illustrative default; set them from the bill."""

    kind: Literal["flat", "economy7", "go", "intelligent_go", "cosy", "flux", "agile"] = setting(
        "flat", "Tariff structure: its windows are published (docs/planner.md)"
    )
    day_p_per_kwh: float | None = setting(
        None, "Import: the day (standard) rate", unit="p/kWh", ge=-100, le=1000
    )
    night_p_per_kwh: float | None = setting(
        None, "Import: the cheap (night) rate", unit="p/kWh", ge=-100, le=1000
    )
    peak_p_per_kwh: float | None = setting(
        None, "Import: the 16:00-19:00 peak rate (Cosy, Flux)", unit="p/kWh", ge=-100, le=1000
    )
    export_p_per_kwh: float | None = setting(
        None, "Export: the fixed (or Flux day) rate", unit="p/kWh", ge=-100, le=1000
    )
    prices_csv: str | None = setting(
        None, "Half-hourly import prices: CSV start,price_p_per_kwh (Agile)"
    )
    export_prices_csv: str | None = setting(
        None, "Half-hourly export prices: CSV start,price_p_per_kwh (Agile Outgoing)"
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
    sources: SourcesConfig = SourcesConfig()
    s2: S2Config = S2Config()
    planner: PlannerConfig = PlannerConfig()
    tariff: TariffConfig = TariffConfig()


MAX_FILE_BYTES = 2**20  # a site file is a few kB; a larger one is refused unread
MAX_ERRORS_SHOWN = 20  # a message names this many bad keys, then "and N more"
MAX_LINE_CHARS = 200  # each of them in one line of at most this many characters


def _describe(err: Any) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    value = shown(err.get("input"))
    allowed = err["msg"]
    ctx = err.get("ctx") or {}
    if err["type"] == "extra_forbidden":
        return f"{key} = {value}: unknown key (check the spelling; see the example config)"
    if err["type"] == "literal_error" and "expected" in ctx:
        allowed = f"allowed: {ctx['expected']}"
    return clip(f"{key} = {value}: {allowed}", MAX_LINE_CHARS)


def parse_config(data: dict[str, Any], source: str = "<config>") -> EdgeConfig:
    """Validate a parsed TOML document; raise ConfigError naming the bad keys (the first
    MAX_ERRORS_SHOWN, then how many more)."""
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        lines = [clip(_describe(e), MAX_LINE_CHARS) for e in errors[:MAX_ERRORS_SHOWN]]
        if len(errors) > MAX_ERRORS_SHOWN:
            lines.append(f"and {len(errors) - MAX_ERRORS_SHOWN} more")
        raise ConfigError(f"{source}: invalid configuration\n  " + "\n  ".join(lines)) from None


def load_config(path: Path | str) -> EdgeConfig:
    """Read and validate a TOML site file. Every way it can fail is a ConfigError that
    starts with the file's name: unreadable, too large, not UTF-8, not TOML, or invalid."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
            size = len(raw) if len(raw) <= MAX_FILE_BYTES else os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the configuration file: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ConfigError(f"{p}: {size} bytes; a site file is at most {MAX_FILE_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{p}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start});"
            " a site file is TOML text"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(clip(f"{p}: not valid TOML: {exc}", MAX_LINE_CHARS * 2)) from None
    except RecursionError:
        raise ConfigError(f"{p}: not valid TOML: nested too deeply") from None
    except ValueError:  # an integer past Python's digit limit (sys.int_info)
        raise ConfigError(
            f"{p}: not valid TOML: an integer of more than {sys.get_int_max_str_digits()} digits"
        ) from None
    return parse_config(data, str(p))


def require_devices(cfg: EdgeConfig, path: Path | str) -> None:
    """`edge run` drives real devices, so the site file must name them: the inverter's
    family and port, and the DAB board's port unless dab.enabled = false. (The defaults
    point at the simulated house on 127.0.0.1, which only `edge demo` and `edge sim` use.)
    Raises ConfigError naming every missing key."""
    # A key the file gave is in its model's model_fields_set; a default is not.
    missing = [
        f"inverter.{k}" for k in ("family", "port") if k not in cfg.inverter.model_fields_set
    ]
    if cfg.dab.enabled and "port" not in cfg.dab.model_fields_set:
        missing.append("dab.port (or dab.enabled = false)")
    if missing:
        raise ConfigError(
            f"{path}: `edge run` needs the devices named; missing {', '.join(missing)}"
            f" (see {EXAMPLE_CONFIG.name})"
        )
