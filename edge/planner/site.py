"""The planner's models of the site, from the site file: the battery, the tank (where the
diverter is enabled), the house the heat pump heats (where [planner.house] describes it)
and the heat pump's SG-Ready bands. Pure; the live planner and `edge plan` both use them."""

from __future__ import annotations

from edge.config import EdgeConfig
from edge.planner.actions import HeatPumpBands
from edge.planner.model import BatteryModel, HouseModel, TankModel

J_PER_KWH = 3.6e6


def battery_of(cfg: EdgeConfig) -> BatteryModel:
    return BatteryModel(
        capacity_wh=float(cfg.battery.capacity_wh),
        max_charge_w=float(cfg.inverter.max_charge_w),
        max_discharge_w=float(cfg.inverter.max_discharge_w),
        reserve_soc_pct=cfg.battery.reserve_soc_pct,
        max_soc_pct=cfg.battery.max_soc_pct,
        wear_gbp_per_kwh=cfg.planner.wear_p_per_kwh / 100.0,
    )


def tank_of(cfg: EdgeConfig) -> TankModel | None:
    d = cfg.loads.diverter
    return TankModel(element_w=d.element_w, max_degc=d.tank_max_degc) if d.enabled else None


def house_of(cfg: EdgeConfig) -> HouseModel | None:
    """The house the heat pump heats, from planner.house (None unless it and
    loads.heat_pump are enabled); its minimum run is loads.heat_pump.min_on_s."""
    h, hp = cfg.planner.house, cfg.loads.heat_pump
    if not (h.enabled and hp.enabled):
        return None
    return HouseModel(
        heat_w=h.heat_w,
        c_j_per_k=h.capacity_kwh_per_k * J_PER_KWH,
        ua_w_per_k=h.loss_w_per_k,
        internal_gain_w=h.internal_gain_w,
        floor_degc=h.floor_degc,
        ceiling_degc=h.ceiling_degc,
        min_on_s=hp.min_on_s,
        cop_at_7c=h.cop_at_7c_out,
        cop_per_k=h.cop_per_k,
    )


def bands_of(cfg: EdgeConfig) -> HeatPumpBands:
    """The heat pump's SG-Ready bands from its setpoint, hysteresis and RECOMMEND's raise
    (as the control benchmark builds them from the simulated heat pump's)."""
    h = cfg.planner.house
    return HeatPumpBands.of(h.setpoint_degc, h.hysteresis_k, h.recommend_raise_k)
