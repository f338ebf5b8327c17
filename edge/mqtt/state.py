"""The state document published on <base>/state every tick (and shown by the local API):
the process image, the decision, and what the drivers last read, under the keys the Home
Assistant entities (edge/mqtt/entities.py) read. Signs: grid + = import, battery + =
discharge, DAB current + = into the string."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.ccore import fault_names
from edge.config import EdgeConfig
from edge.core import ProcessImage, Setpoints
from edge.core.model import InverterMode, Requests
from edge.drivers.ports import BmsPort, DabPort, InverterPort, LoadsPort
from edge.mqtt.commands import requests_state


def _on(flag: bool) -> str:
    return "ON" if flag else "OFF"


@dataclass(frozen=True)
class Devices:
    """The devices a supervisor drives (None where not fitted)."""

    inverter: InverterPort
    dab: DabPort | None = None
    bms: BmsPort | None = None
    loads: LoadsPort | None = None


def _bms(bms: BmsPort, t_s: float) -> dict[str, Any]:
    b = bms.sample(t_s)
    if b is None:
        return {}
    v = b.value
    return {
        "bms_charge_limit_a": round(v.charge_limit_a, 1),
        "bms_discharge_limit_a": round(v.discharge_limit_a, 1),
        "bms_cell_min_v": v.cell_min_v,
        "bms_cell_max_v": v.cell_max_v,
        "bms_cell_spread_mv": round(v.cell_spread_mv, 1) if v.cell_spread_mv is not None else None,
        "bms_temp_max_degc": v.temp_max_degc,
        "bms_soc_pct": round(v.soc_pct, 1) if v.soc_pct is not None else None,
        "bms_alarm": _on(bool(v.alarms)),
        "bms_alarms": "; ".join(v.alarms) or "none",
    }


def _inverter(inverter: InverterPort, image: ProcessImage) -> dict[str, Any]:
    live = inverter.last_live
    if image.inverter is None or live is None:
        return {}
    r = image.inverter.value
    return {
        "grid_power_w": r.grid_power_w,
        "battery_power_w": r.battery_power_w,
        "load_power_w": r.load_power_w,
        "pv_power_w": r.pv_power_w,
        "battery_soc_pct": r.battery_soc_pct,
        "battery_voltage_v": round(live.battery_voltage_v, 2),
        "battery_temp_degc": live.battery_temp_degc,
        "inverter_state": live.running_state,
        "inverter_fault": _on(any(live.fault_words)),
        "import_today_kwh": round(live.import_today_kwh, 2),
        "export_today_kwh": round(live.export_today_kwh, 2),
        "pv_today_kwh": round(live.pv_today_kwh, 2),
        "battery_charge_today_kwh": round(live.battery_charge_today_kwh, 2),
        "battery_discharge_today_kwh": round(live.battery_discharge_today_kwh, 2),
    }


def _dab(dab: DabPort | None, image: ProcessImage) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if image.dab is not None:
        d = image.dab.value
        doc.update(
            dab_charge_current_a=round(d.charge_current_a, 3),
            dab_string_voltage_v=round(d.string_voltage_v, 3),
            dab_power_w=round(d.charge_current_a * d.string_voltage_v, 1),
        )
    if dab is not None:
        doc.update(dab_startup=dab.startup.value, dab_writes=dab.writes)
        t = dab.telemetry
        if t is not None:
            doc.update(
                dab_tripped=_on(bool(t.faults_latched)),
                dab_faults=fault_names(t.faults_latched) or "none",
            )
    return doc


def state_doc(
    image: ProcessImage, sp: Setpoints, devices: Devices, requests: Requests, cfg: EdgeConfig
) -> dict[str, Any]:
    safe = sp.inverter.mode is InverterMode.SELF_USE
    doc: dict[str, Any] = {
        "t_s": round(image.t_s, 3),  # the supervisor's clock: when this was true
        "mode": sp.inverter.mode.value,
        "reason": sp.reason,
        "inverter_writes": devices.inverter.writes.total,
        "safe_state": _on(safe),
        **requests_state(requests, image.t_s, cfg),
        "export_over_limit_w": round(sp.export_over_limit_w, 1),
        "export_over_limit": _on(sp.export_over_limit_w > 0),
    }
    if devices.bms is not None:
        doc.update(_bms(devices.bms, image.t_s))
    if devices.loads is not None and image.loads is not None:
        ld = image.loads.value
        doc.update(
            diverter_setpoint_w=round(sp.diverter_w, 1),
            heater_power_w=round(ld.heater_w, 1),
            heat_pump_power_w=round(ld.heat_pump_w, 1),
            heat_pump_sg_ready=sp.sg_ready.value,
            tank_temp_degc=ld.tank_temp_degc,
            diverter_writes=devices.loads.writes.diverter,
        )
    doc.update(_inverter(devices.inverter, image))
    doc.update(_dab(devices.dab, image))
    return doc
