"""The hot-water tank as an S2 FRBC resource, pure: what it tells the CEM, and what an
instruction becomes. An FrbcDevice (edge/s2/frbc.py).

The fill level is the heat stored above the comfort minimum, in kWh (negative below it),
from the tank's probe: E = V * c_w * (T - T_comfort). Its range runs from a tank of cold
mains water (COLD_DEGC) to the tank's maximum (loads.diverter.tank_max_degc). The standing
loss is the leakage, constant over the range. The element is resistive: every W goes into
the water, so a fill rate is the element's power over 3.6 MW (kWh/s).

Two operation modes, on one actuator (the diverter's output):
- surplus: the core's own loop: the element takes what PV surplus the battery leaves, 0 to
  the element's power; nothing here sets a power;
- boost: the whole element for instruction_valid_s: the boost-hot-water request, which the
  core honours up to the tank's maximum (its thermostat also cuts the element).
There is no "off" mode: edge's only request that keeps the element off is the diverter
switch, a setting without an expiry, and a CEM's instruction must end by itself.

The usage forecast (FRBC.UsageForecast) is the site's own hot-water history: `draws`, where
given, returns the expected draw per slot (edge/sources/load_forecast.py
forecast_hot_water_wh, read from the history table by edge/s2/link.py), or None where there
is no history; usage_forecast() maps it to S2's usage rates.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from s2python.common import (
    Commodity,
    Duration,
    NumberRange,
    PowerMeasurement,
    PowerRange,
    PowerValue,
    Role,
    RoleType,
    Transition,
)
from s2python.frbc import (
    FRBCActuatorDescription,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCLeakageBehaviour,
    FRBCLeakageBehaviourElement,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCStorageStatus,
    FRBCSystemDescription,
    FRBCUsageForecast,
    FRBCUsageForecastElement,
)
from s2python.message import S2MessageWithID

from edge.core.model import CoreConfig, CoreState, ProcessImage, Requests
from edge.s2.frbc import INVALID, QUANTITY, TEMPORARY, Plan, Refusal, ResourceIds

# Water between 10 and 65 °C: specific heat 4.18 kJ/(kg K), density 0.99 kg/l (standard
# physical data, e.g. the CRC Handbook's tables), so 1 l warmed by 1 K stores:
WATER_KWH_PER_L_K = 4.18 * 0.99 / 3600.0
COLD_DEGC = 10.0  # mains water: the bottom of the fill level's range
W_TO_KWH_PER_S = 1.0 / 3.6e6
FORECAST_EVERY_S = 1800.0  # the usage forecast is sent again each half hour (its slot)


class TankMode(StrEnum):
    SURPLUS = "surplus"
    BOOST = "boost"


@dataclass(frozen=True)
class TankIds(ResourceIds[TankMode]):
    modes: type[TankMode] = TankMode


@dataclass(frozen=True)
class TankNow:
    temp_degc: float
    heater_w: float  # the element's draw now
    max_degc: float  # the core's live settings
    element_w: float
    slot: int = 0  # which half hour of the supervisor's clock: the usage forecast's period


@dataclass(frozen=True)
class DrawForecast:
    """The tank's expected draw from the site's history: heat per slot, Wh, from t0_s."""

    t0_s: float  # Unix seconds, UTC: the start of the slot now is in
    slot_s: float
    heat_wh: tuple[float, ...]


# The draw forecast for a wall time (Unix seconds), None where there is no history.
Draws = Callable[[float], DrawForecast | None]


def usage_forecast(f: DrawForecast, max_w: float) -> FRBCUsageForecast:
    """S2's usage forecast for a draw forecast: one element per slot, its usage rate the
    slot's mean draw in kWh/s (positive: the fill level falls). Each slot's draw is kept
    within 0 to max_w (the element's power: its history cannot show more) and a value that
    is not a number counts as no draw."""
    elements = []
    for wh in f.heat_wh:
        w = wh * 3600.0 / f.slot_s if math.isfinite(wh) else 0.0
        elements.append(
            FRBCUsageForecastElement(
                duration=Duration(root=round(f.slot_s * 1000.0)),
                usage_rate_expected=min(max_w, max(0.0, w)) * W_TO_KWH_PER_S,
            )
        )
    return FRBCUsageForecast(
        message_id=uuid.uuid4(),
        start_time=datetime.fromtimestamp(f.t0_s, UTC),
        elements=elements,
    )


@dataclass(frozen=True)
class Tank:
    ids: TankIds
    volume_l: float
    comfort_min_degc: float
    standing_loss_w: float
    draws: Draws | None = field(default=None, compare=False)  # the history's draw forecast
    label = "tank"
    control_type = "FRBC"
    role = Role(role=RoleType.ENERGY_CONSUMER, commodity=Commodity.ELECTRICITY)

    @property
    def resource_id(self) -> uuid.UUID:
        return self.ids.resource

    def heat_kwh(self, temp_degc: float) -> float:
        """The fill level at temp_degc: heat above the comfort minimum."""
        return self.volume_l * WATER_KWH_PER_L_K * (temp_degc - self.comfort_min_degc)

    def fill_range(self, now: TankNow) -> NumberRange:
        return NumberRange(
            start_of_range=self.heat_kwh(COLD_DEGC), end_of_range=self.heat_kwh(now.max_degc)
        )

    def snapshot(self, image: ProcessImage, cfg: CoreConfig, state: CoreState) -> TankNow | None:
        """None without a fresh reading of the loads with the tank's temperature."""
        loads = image.loads
        if loads is None or loads.age_s > cfg.loads_stale_after_s:
            return None
        if loads.value.tank_temp_degc is None:
            return None
        t = loads.value.tank_temp_degc
        slot = int(image.t_s // FORECAST_EVERY_S)
        return TankNow(t, loads.value.heater_w, cfg.tank_max_degc, cfg.diverter_element_w, slot)

    def changed(self, old: TankNow, new: TankNow) -> bool:
        """A new setting, or with a history to forecast from, a new half hour (so that the
        usage forecast moves on with the day)."""
        if self.draws is not None and old.slot != new.slot:
            return True
        return (old.max_degc, old.element_w) != (new.max_degc, new.element_w)

    def _element(self, now: TankNow, lo_w: float, hi_w: float) -> FRBCOperationModeElement:
        return FRBCOperationModeElement(
            fill_level_range=self.fill_range(now),
            fill_rate=NumberRange(
                start_of_range=lo_w * W_TO_KWH_PER_S, end_of_range=hi_w * W_TO_KWH_PER_S
            ),
            power_ranges=[
                PowerRange(start_of_range=lo_w, end_of_range=hi_w, commodity_quantity=QUANTITY)
            ],
        )

    def describe(self, now: TankNow, at: datetime) -> list[S2MessageWithID]:
        draws = self.draws(at.timestamp()) if self.draws is not None else None
        if draws is not None and not draws.heat_wh:
            draws = None
        surplus, boost = self.ids.mode(TankMode.SURPLUS), self.ids.mode(TankMode.BOOST)
        modes = [
            FRBCOperationMode(
                id=surplus,
                diagnostic_label="surplus (the core's own loop)",
                elements=[self._element(now, 0.0, now.element_w)],
                abnormal_condition_only=False,
            ),
            FRBCOperationMode(
                id=boost,
                diagnostic_label="boost (the whole element)",
                elements=[self._element(now, now.element_w, now.element_w)],
                abnormal_condition_only=False,
            ),
        ]
        transitions = [
            Transition(
                id=self.ids.of(f"transition/{a}/{b}"),
                from_=a,
                to=b,
                start_timers=[],
                blocking_timers=[],
                abnormal_condition_only=False,
            )
            for a, b in ((surplus, boost), (boost, surplus))
        ]
        actuator = FRBCActuatorDescription(
            id=self.ids.actuator,
            diagnostic_label="immersion element",
            supported_commodities=[Commodity.ELECTRICITY],
            operation_modes=modes,
            transitions=transitions,
            timers=[],
        )
        storage = FRBCStorageDescription(
            diagnostic_label="hot-water tank",
            fill_level_label=f"kWh above {self.comfort_min_degc:g} °C",
            provides_leakage_behaviour=True,
            provides_fill_level_target_profile=False,
            provides_usage_forecast=draws is not None,
            fill_level_range=self.fill_range(now),
        )
        leak = FRBCLeakageBehaviourElement(
            fill_level_range=self.fill_range(now),
            leakage_rate=self.standing_loss_w * W_TO_KWH_PER_S,
        )
        out: list[S2MessageWithID] = [
            FRBCSystemDescription(
                message_id=uuid.uuid4(), valid_from=at, actuators=[actuator], storage=storage
            ),
            FRBCLeakageBehaviour(message_id=uuid.uuid4(), valid_from=at, elements=[leak]),
        ]
        if draws is not None:
            out.append(usage_forecast(draws, now.element_w))
        return out

    def report(self, now: TankNow, at: datetime) -> list[S2MessageWithID]:
        r = self.fill_range(now)
        level = min(r.end_of_range, max(r.start_of_range, self.heat_kwh(now.temp_degc)))
        power = PowerValue(commodity_quantity=QUANTITY, value=now.heater_w)
        return [
            FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=level),
            PowerMeasurement(message_id=uuid.uuid4(), measurement_timestamp=at, values=[power]),
        ]

    def actuator_status(self, mode: str, factor: float) -> FRBCActuatorStatus:
        return FRBCActuatorStatus(
            message_id=uuid.uuid4(),
            actuator_id=self.ids.actuator,
            active_operation_mode_id=self.ids.mode(TankMode(mode)),
            operation_mode_factor=factor,
        )

    def active_mode(self, req: Requests, t_s: float) -> str:
        return TankMode.BOOST if t_s < req.boost_hot_water_until_s else TankMode.SURPLUS

    def plan(
        self,
        msg: FRBCInstruction,
        described: TankNow | None,
        now: TankNow | None,
        req: Requests,
        t_s: float,
        ours_until_s: float | None,
    ) -> Plan | Refusal:
        if msg.actuator_id != self.ids.actuator:
            return Refusal(INVALID, f"unknown actuator {msg.actuator_id}")
        mode = self.ids.mode_of(msg.operation_mode)
        if mode is None:
            return Refusal(INVALID, f"unknown operation mode {msg.operation_mode}")
        factor = msg.operation_mode_factor
        if not 0.0 <= factor <= 1.0:
            return Refusal(INVALID, f"operation_mode_factor {factor:g}: allowed 0 to 1")
        if now is None:
            return Refusal(TEMPORARY, "no fresh tank temperature: the tank is not described now")
        if req.emergency_stop:
            return Refusal(TEMPORARY, "emergency stop latched: everything idle until cleared")
        boosting_s = req.boost_hot_water_until_s - t_s
        if mode is TankMode.SURPLUS:
            if boosting_s > 0:
                return Refusal(
                    TEMPORARY,
                    f"a boost runs {boosting_s:.0f} s more; edge has no command to end one early",
                )
            return Plan(mode, factor, 0.0, ())
        if not req.diverter_enabled:
            return Refusal(TEMPORARY, "the user switched the diverter off")
        if now.temp_degc >= now.max_degc:
            return Refusal(
                TEMPORARY, f"tank at {now.temp_degc:.1f} °C, its maximum {now.max_degc:g} °C"
            )
        boost = (("boost_hot_water", "PRESS"),)
        return Plan(mode, factor, now.element_w, boost, holds="boost_hot_water_until_s")
