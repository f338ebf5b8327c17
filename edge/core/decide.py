"""The decision: policies in priority order, each narrowing the battery power window.

1. safety: stale or missing inverter data -> the inverter's own self-use (safe state);
2. BMS/SOC limits: no discharge at or below the reserve SOC, no charge at the maximum;
3. self-consumption: the battery takes the house's net power so the grid goes to zero;
4. surplus the battery cannot take goes to the DAB string, within its current limit.
Battery and DAB are decided together from one balance, so they never chase each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.core.model import (
    CoreConfig,
    CoreState,
    InverterCommand,
    InverterMode,
    ProcessImage,
    Setpoints,
)


@dataclass(frozen=True)
class Window:
    """Allowed battery power: lo_w <= p <= hi_w (+ = discharge)."""

    lo_w: float
    hi_w: float
    why: str

    def clamp(self, p_w: float) -> float:
        return max(self.lo_w, min(self.hi_w, p_w))


def _battery_window(soc_pct: float, cfg: CoreConfig) -> Window:
    lo, hi, why = -cfg.max_charge_w, cfg.max_discharge_w, ""
    if soc_pct <= cfg.reserve_soc_pct:
        hi, why = 0.0, f"reserve SOC {cfg.reserve_soc_pct:g} % reached: no discharge"
    if soc_pct >= cfg.max_soc_pct:
        lo, why = 0.0, f"battery at {cfg.max_soc_pct:g} %: no charge"
    return Window(lo, hi, why)


def decide(image: ProcessImage, cfg: CoreConfig, state: CoreState) -> tuple[Setpoints, CoreState]:
    inv = image.inverter
    dab = image.dab
    dab_ok = (
        cfg.dab_enabled
        and dab is not None
        and dab.age_s <= cfg.dab_stale_after_s
        and not dab.value.tripped
    )
    if inv is None or inv.age_s > cfg.inverter_stale_after_s:
        why = "no inverter data yet" if inv is None else f"inverter data {inv.age_s:.1f} s old"
        sp = Setpoints(InverterCommand(InverterMode.SELF_USE), 0.0, f"safe state: {why}")
        return sp, CoreState(reason=sp.reason)

    r = inv.value
    dab_now_w = (
        dab.value.charge_current_a * dab.value.string_voltage_v
        if dab is not None and dab_ok
        else 0.0
    )
    # Surplus available to storage, with the DAB's own draw taken back out: + = export.
    surplus_w = -(r.grid_power_w + r.battery_power_w - dab_now_w)
    window = _battery_window(r.battery_soc_pct, cfg)
    battery_w = window.clamp(-surplus_w)
    reason = window.why if battery_w != -surplus_w and window.why else "self-consumption"
    if battery_w != -surplus_w and not window.why:
        reason = "self-consumption, battery at its power limit"

    dab_a = 0.0
    left_w = surplus_w + battery_w  # what the battery could not absorb (+ = still exported)
    if dab_ok and dab is not None and left_w > 0 and dab.value.string_voltage_v > 0:
        dab_a = min(cfg.dab_max_charge_current_a, left_w / dab.value.string_voltage_v)
        reason += "; surplus to the DAB string"

    sp = Setpoints(InverterCommand(InverterMode.PASSIVE, battery_w), dab_a, reason)
    return sp, CoreState(reason=reason)
