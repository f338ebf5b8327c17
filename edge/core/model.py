"""The core's inputs and outputs as frozen data.

Signs, stated once for all of edge: grid power + = import from the grid;
battery power + = discharge (Home Assistant's convention); DAB current + = into the
second string (charging), as the firmware defines it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum, StrEnum
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Sample(Generic[T]):
    """A device reading and how old it is at the moment the image was frozen."""

    value: T
    age_s: float


@dataclass(frozen=True)
class InverterReading:
    grid_power_w: float  # + = import
    battery_power_w: float  # + = discharge (AC side)
    battery_soc_pct: float
    load_power_w: float  # everything the house draws, the DAB supply included
    pv_power_w: float


@dataclass(frozen=True)
class DabReading:
    charge_current_a: float  # + = into the string
    string_voltage_v: float
    tripped: bool


@dataclass(frozen=True)
class BmsReading:
    """What the battery's BMS allows now, converted to AC-side power (>= 0)."""

    charge_limit_w: float
    discharge_limit_w: float


@dataclass(frozen=True)
class LoadsReading:
    heater_w: float  # what the immersion element takes now
    heat_pump_w: float  # the heat pump's electrical power now
    tank_temp_degc: float | None = None


class SgState(Enum):
    """SG-Ready requests to the heat pump (loads-baseline-s2.md §2.1)."""

    LOCK = "lock"
    NORMAL = "normal"
    RECOMMEND = "recommend"
    FORCE = "force"


class RequestMode(StrEnum):
    """The mode the user asked for. A StrEnum: each member equals its string, as MQTT, the
    menu and the stored requests spell it."""

    AUTO = "auto"  # the core's own loop
    SELF_USE = "self_use"  # the inverter's own loop
    STANDBY = "standby"  # the battery idles (the export limit may still need it)


class LoadKind(StrEnum):
    """A flexible load that can take the surplus, as the config's loads priority names it."""

    TANK = "tank"  # the immersion element, through the diverter
    HEAT_PUMP = "heat_pump"  # the heat pump, through SG-Ready


@dataclass(frozen=True)
class Requests:
    """What the user asked for (MQTT, menu); each request acts only until its expiry, on
    the image's clock, so a retained or replayed command cannot act hours later."""

    mode: RequestMode = RequestMode.AUTO  # a plain string is turned into its RequestMode
    mode_until_s: float = float("inf")
    force_charge_w: float = 0.0
    force_charge_until_s: float = float("-inf")
    boost_hot_water_until_s: float = float("-inf")
    emergency_stop: bool = False
    diverter_enabled: bool = True
    allow_battery_to_heat_water: bool = False
    # Settings from Home Assistant's numbers, kept until changed (None: the config's).
    reserve_soc_pct: float | None = None
    max_charge_w: float | None = None  # the user's cap, below the configured limit
    export_limit_w: float | None = None  # kept by absorbing; PV itself cannot be curtailed
    # Timed requests (a CEM over S2, or MQTT): an SG-Ready state the heat pump is asked
    # for, within its minimum on/off times and starts per hour (over a planner's slot);
    # and an export cap that only tightens export_limit_w while it lasts.
    heat_pump_sg: str | None = None  # an SgState's value (kept as text: it is stored as JSON)
    heat_pump_sg_until_s: float = float("-inf")
    export_cap_w: float | None = None
    export_cap_until_s: float = float("-inf")

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", RequestMode(self.mode))
        if self.heat_pump_sg is not None:
            SgState(self.heat_pump_sg)  # ValueError: not an SG-Ready state


class PlanBattery(StrEnum):
    """What a planned slot lets the battery do (edge/planner narrows the core with it)."""

    SELF_CONSUMPTION = "self_consumption"  # discharge allowed, down to target_soc_pct
    HOLD = "hold"  # no discharge; surplus may still charge it
    GRID_CHARGE = "grid_charge"  # charge at power_w (more on surplus) up to target_soc_pct
    EXPORT = "export"  # discharge at power_w (more on deficit) down to target_soc_pct


@dataclass(frozen=True)
class PlannedSlot:
    """The planner's slot in force: it only narrows what the core may do; every safety
    rule, the BMS, the reserve and the user's requests still come first. Times on the
    image's clock (s); power_w >= 0 in the direction the battery action names."""

    start_s: float
    end_s: float
    made_s: float  # when the plan was made: older than CoreConfig.plan_max_age_s is stale
    battery: PlanBattery = PlanBattery.SELF_CONSUMPTION
    power_w: float = 0.0
    target_soc_pct: float = 0.0
    tank_from_grid: bool = False  # the element at full power, the battery held
    heat_pump: SgState | None = None  # RECOMMEND or FORCE to pre-heat; None: the core's rule

    def __post_init__(self) -> None:
        object.__setattr__(self, "battery", PlanBattery(self.battery))


@dataclass(frozen=True)
class ProcessImage:
    t_s: float
    inverter: Sample[InverterReading] | None
    dab: Sample[DabReading] | None
    bms: Sample[BmsReading] | None = None
    loads: Sample[LoadsReading] | None = None
    requests: Requests = Requests()
    plan: PlannedSlot | None = None  # the planner's slot for now, if a planner runs


class InverterMode(Enum):
    SELF_USE = "self_use"  # the inverter's own loop: the safe state
    PASSIVE = "passive"  # follows our battery power command


@dataclass(frozen=True)
class InverterCommand:
    mode: InverterMode
    battery_power_w: float = 0.0  # + = discharge; used in PASSIVE only


@dataclass(frozen=True)
class Setpoints:
    inverter: InverterCommand
    dab_charge_current_a: float
    reason: str  # why, in words, for the log line and MQTT
    diverter_w: float = 0.0  # offered to the immersion element
    sg_ready: SgState = SgState.NORMAL
    export_over_limit_w: float = 0.0  # export nothing here could absorb, above the limit


@dataclass(frozen=True)
class CoreConfig:
    max_charge_w: float
    max_discharge_w: float
    reserve_soc_pct: float
    max_soc_pct: float
    inverter_stale_after_s: float
    dab_enabled: bool
    dab_max_charge_current_a: float
    dab_stale_after_s: float
    bms_required: bool = False  # the site reads the BMS: no data from it -> safe state
    bms_stale_after_s: float = 10.0
    loads_stale_after_s: float = 10.0
    # No charge/discharge reversal within hold_s of the last, unless the error exceeds
    # flip_threshold_w (loads-baseline-s2.md §5.3).
    hold_s: float = 60.0
    flip_threshold_w: float = 500.0
    tank_enabled: bool = True  # the site has a diverter the core may drive
    diverter_element_w: float = 3000.0
    tank_max_degc: float = 60.0
    # An element that draws under a tenth of its setpoint for tank_refuse_s has its
    # thermostat open (the tank is full whatever the probe says): its surplus goes on to
    # the next load, and the tank is offered it again after tank_retry_s.
    tank_refuse_s: float = 10.0
    tank_retry_s: float = 900.0
    loads_priority: tuple[LoadKind, ...] = (LoadKind.TANK, LoadKind.HEAT_PUMP)
    # Heat pump (loads-baseline-s2.md §2.3): what it draws when running, and how it may be
    # asked to run on surplus.
    hp_enabled: bool = False
    hp_power_w: float = 1400.0
    hp_confirm_s: float = 240.0
    hp_release_s: float = 120.0
    hp_min_on_s: float = 600.0
    hp_min_off_s: float = 300.0
    hp_max_starts_per_h: int = 3
    # The planner (edge/planner): with it on, no plan, or one older than plan_max_age_s,
    # is today's self-consumption, and the reason says so.
    planner_enabled: bool = False
    plan_max_age_s: float = 3600.0

    def __post_init__(self) -> None:
        # Plain strings, as the config spells the loads, become their LoadKind.
        object.__setattr__(self, "loads_priority", tuple(map(LoadKind, self.loads_priority)))


@dataclass(frozen=True)
class CoreState:
    """What the core carries from one cycle to the next."""

    reason: str = ""
    battery_sign: int = 0  # -1 charging, 0 idle, +1 discharging (the last command)
    last_flip_s: float = float("-inf")
    hp_state: SgState = SgState.NORMAL
    hp_changed_s: float = float("-inf")
    hp_starts_s: tuple[float, ...] = ()  # the last hour's boost starts
    hp_surplus_since_s: float | None = None
    hp_deficit_since_s: float | None = None
    diverter_w: float = 0.0  # the last setpoint
    tank_refused_since_s: float | None = None
    tank_full_until_s: float = float("-inf")


_STATE_FIELDS = frozenset(f.name for f in fields(CoreState))


def evolve(state: CoreState, **changes: Any) -> CoreState:
    """dataclasses.replace(state, **changes), about four times faster: the core calls it
    every cycle, and replace() looks up every field and calls __init__ by keyword. The new
    state is the old one's fields with the changes; a name that is not a field is an error,
    as it is for replace()."""
    unknown = changes.keys() - _STATE_FIELDS
    if unknown:
        raise TypeError(f"CoreState has no field {', '.join(sorted(unknown))}")
    new = object.__new__(CoreState)
    values = new.__dict__
    values.update(state.__dict__)
    values.update(changes)
    return new
