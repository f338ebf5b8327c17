"""The site file's settings as the running supervisor uses them: the core's CoreConfig
built from them, which of them apply live on a reload, and the reload's merge."""

from __future__ import annotations

from typing import Any

from edge.config import EdgeConfig
from edge.core import CoreConfig
from edge.core.model import LoadKind

# Settings a running supervisor takes at once (they feed the core's CoreConfig, or a
# driver's deadband); any other change needs a restart.
LIVE_PREFIXES = (
    "policy.",
    "battery.reserve_soc_pct",
    "battery.max_soc_pct",
    "battery.bms_stale_after_s",
    "inverter.max_charge_w",
    "inverter.max_discharge_w",
    "inverter.deadband_w",
    "inverter.stale_after_s",
    "dab.max_charge_current_a",
    "dab.stale_after_s",
    "loads.priority",
    "loads.stale_after_s",
    "loads.diverter.element_w",
    "loads.diverter.tank_max_degc",
    "loads.diverter.deadband_w",
    "loads.heat_pump.power_w",
    "loads.heat_pump.confirm_s",
    "loads.heat_pump.release_s",
    "loads.heat_pump.min_on_s",
    "loads.heat_pump.min_off_s",
    "loads.heat_pump.max_starts_per_h",
    "mqtt.command_max_age_s",
)


def core_config(cfg: EdgeConfig) -> CoreConfig:
    return CoreConfig(
        max_charge_w=cfg.inverter.max_charge_w,
        max_discharge_w=cfg.inverter.max_discharge_w,
        reserve_soc_pct=cfg.battery.reserve_soc_pct,
        max_soc_pct=cfg.battery.max_soc_pct,
        inverter_stale_after_s=cfg.inverter.stale_after_s,
        dab_enabled=cfg.dab.enabled,
        dab_max_charge_current_a=cfg.dab.max_charge_current_a,
        dab_stale_after_s=cfg.dab.stale_after_s,
        bms_required=cfg.battery.bms_port is not None,
        bms_stale_after_s=cfg.battery.bms_stale_after_s,
        loads_stale_after_s=cfg.loads.stale_after_s,
        hold_s=cfg.policy.hold_s,
        flip_threshold_w=cfg.policy.flip_threshold_w,
        tank_enabled=cfg.loads.diverter.enabled,
        diverter_element_w=cfg.loads.diverter.element_w,
        tank_max_degc=cfg.loads.diverter.tank_max_degc,
        loads_priority=tuple(map(LoadKind, cfg.loads.priority)),
        hp_enabled=cfg.loads.heat_pump.enabled,
        hp_power_w=cfg.loads.heat_pump.power_w,
        hp_confirm_s=cfg.loads.heat_pump.confirm_s,
        hp_release_s=cfg.loads.heat_pump.release_s,
        hp_min_on_s=cfg.loads.heat_pump.min_on_s,
        hp_min_off_s=cfg.loads.heat_pump.min_off_s,
        hp_max_starts_per_h=cfg.loads.heat_pump.max_starts_per_h,
    )


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested settings dict as {"section.key": value}."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def changed_keys(old: EdgeConfig, new: EdgeConfig) -> list[str]:
    a, b = flatten(old.model_dump()), flatten(new.model_dump())
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def is_live(key: str) -> bool:
    return any(key == p or (p.endswith(".") and key.startswith(p)) for p in LIVE_PREFIXES)


def merge_live(running: EdgeConfig, new: EdgeConfig) -> EdgeConfig:
    """running with new's live settings; every other setting keeps its running value."""
    merged = running.model_dump()
    for key, value in flatten(new.model_dump()).items():
        if is_live(key):
            *path, leaf = key.split(".")
            node = merged
            for part in path:
                node = node[part]
            node[leaf] = value
    return EdgeConfig.model_validate(merged)
