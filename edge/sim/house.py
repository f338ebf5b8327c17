"""A first simulated house: PV, household load with a kettle, and a battery behind an
ME3000SP-like AC-coupled inverter. Pure state stepped by the caller's clock; no I/O.

Sign convention (edge): grid + = import, battery + = discharge (AC side).
Energy balance every step: pv + grid = load + dab + battery_charge_ac - battery_discharge_ac.
Parameters: shared/reference/loads-baseline-s2.md (kettle 3 kW for 150 s on a sunny
plateau) and sofar-modbus.md (3 kW AC limit, passive commands, heartbeat).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from enum import Enum


class InverterMode(Enum):
    AUTO = "auto"  # the inverter's own self-use loop on its grid CT
    PASSIVE = "passive"  # follows 0x42 commands


@dataclass(frozen=True)
class HouseParams:
    seed: int = 1
    pv_kwp: float = 5.0
    sunrise_h: float = 6.0
    sunset_h: float = 20.0
    base_load_w: float = 350.0
    load_noise_w: float = 40.0
    kettle_power_w: float = 3000.0
    kettle_duration_s: float = 150.0
    kettle_starts_s: tuple[float, ...] = (12 * 3600 + 120.0, 12 * 3600 + 1500.0)
    battery_capacity_wh: float = 4800.0
    battery_soc0_pct: float = 50.0
    battery_max_charge_w: float = 3000.0  # inverter AC limit (ME3000SP)
    battery_max_discharge_w: float = 3000.0
    battery_efficiency: float = 0.95  # each way, AC <-> DC
    battery_min_soc_pct: float = 5.0  # BMS cut-off below which discharge is refused
    heartbeat_timeout_s: float = 60.0  # passive mode without heartbeat falls back to auto


@dataclass
class HouseState:
    t_s: float
    soc_pct: float
    mode: InverterMode = InverterMode.AUTO
    passive_battery_w: float = 0.0  # commanded AC battery power, + = discharge
    last_heartbeat_s: float = -1e9
    pv_w: float = 0.0
    load_w: float = 0.0
    dab_w: float = 0.0  # DC power into the DAB board's string, drawn from the house
    battery_w: float = 0.0  # AC, + = discharge
    grid_w: float = 0.0  # + = import
    energy_wh: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(
            ("import", "export", "pv", "load", "battery_charge", "battery_discharge", "dab"), 0.0
        )
    )


class House:
    def __init__(self, params: HouseParams, start_s: float) -> None:
        self.p = params
        self.state = HouseState(t_s=start_s, soc_pct=params.battery_soc0_pct)
        self._rng = random.Random(params.seed)
        self._noise_w = 0.0
        self._settle(start_s)

    # ---- environment ------------------------------------------------------------
    def pv_w_at(self, t_s: float) -> float:
        """Clear-sky bell between sunrise and sunset; a sunny plateau around noon."""
        h = (t_s % 86400) / 3600.0
        if not self.p.sunrise_h < h < self.p.sunset_h:
            return 0.0
        x = (h - self.p.sunrise_h) / (self.p.sunset_h - self.p.sunrise_h)
        return float(self.p.pv_kwp * 1000.0 * 0.85 * math.sin(math.pi * x) ** 1.2)

    def load_w_at(self, t_s: float) -> float:
        kettle = any(s <= t_s < s + self.p.kettle_duration_s for s in self.p.kettle_starts_s)
        return self.p.base_load_w + self._noise_w + (self.p.kettle_power_w if kettle else 0.0)

    # ---- commands from the emulator ------------------------------------------------
    # Every input re-settles the power flows at once, so the balance holds between steps.
    def command_passive(self, battery_w: float) -> None:
        self.state.mode = InverterMode.PASSIVE
        self.state.passive_battery_w = battery_w
        self.state.last_heartbeat_s = self.state.t_s
        self._settle(self.state.t_s)

    def command_auto(self) -> None:
        self.state.mode = InverterMode.AUTO
        self._settle(self.state.t_s)

    def heartbeat(self) -> None:
        self.state.last_heartbeat_s = self.state.t_s

    def set_dab_power(self, dab_w: float) -> None:
        self.state.dab_w = dab_w
        self._settle(self.state.t_s)

    @property
    def battery_full(self) -> bool:
        return self.state.soc_pct >= 100.0

    @property
    def battery_empty(self) -> bool:
        return self.state.soc_pct <= self.p.battery_min_soc_pct

    # ---- stepping ---------------------------------------------------------------
    def _battery_target_w(self, s: HouseState) -> float:
        if (
            s.mode is InverterMode.PASSIVE
            and s.t_s - s.last_heartbeat_s > self.p.heartbeat_timeout_s
        ):
            s.mode = InverterMode.AUTO  # heartbeat lost: back to its own self-use
        if s.mode is InverterMode.PASSIVE:
            target = s.passive_battery_w
        else:
            # Self-use on the grid CT: cover the net load, absorb the surplus.
            target = s.load_w + s.dab_w - s.pv_w
        target = max(-self.p.battery_max_charge_w, min(self.p.battery_max_discharge_w, target))
        if target > 0 and self.battery_empty:
            target = 0.0
        if target < 0 and self.battery_full:
            target = 0.0
        return target

    def _settle(self, t_s: float) -> None:
        s = self.state
        s.pv_w = self.pv_w_at(t_s)
        s.load_w = self.load_w_at(t_s)
        s.battery_w = self._battery_target_w(s)
        s.grid_w = s.load_w + s.dab_w - s.pv_w - s.battery_w

    def step(self, dt_s: float) -> None:
        """Advance dt_s: integrate energy over the step at the current powers, then move on."""
        if dt_s <= 0:
            return
        s = self.state
        h = dt_s / 3600.0
        e = s.energy_wh
        e["import"] += max(s.grid_w, 0.0) * h
        e["export"] += max(-s.grid_w, 0.0) * h
        e["pv"] += s.pv_w * h
        e["load"] += s.load_w * h
        e["dab"] += s.dab_w * h
        cap = self.p.battery_capacity_wh
        if s.battery_w >= 0:
            e["battery_discharge"] += s.battery_w * h
            dc_wh = s.battery_w * h / self.p.battery_efficiency
            s.soc_pct -= 100.0 * dc_wh / cap
        else:
            e["battery_charge"] += -s.battery_w * h
            dc_wh = -s.battery_w * h * self.p.battery_efficiency
            s.soc_pct += 100.0 * dc_wh / cap
        s.soc_pct = min(100.0, max(0.0, s.soc_pct))
        s.t_s += dt_s
        self._noise_w = self._rng.uniform(-1.0, 1.0) * self.p.load_noise_w
        self._settle(s.t_s)
