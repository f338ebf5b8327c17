"""Air-source heat pump behind SG-Ready contacts, heating a house (loads-baseline-s2.md
§2.1-2.3, §5.1).

SG-Ready's four states are requests the heat pump interprets itself: LOCK blocks it (at
most 2 h), NORMAL runs its own thermostat, RECOMMEND raises its setpoint by 2 K (use
surplus as heat), FORCE runs it (until the house is 3 K over its setpoint). The
compressor keeps its minimum on and off times and its starts per hour (defaults §2.3:
min ON 10 min, min OFF 5 min, <= 3 starts/h). COP falls with the outside temperature.
The house is one thermal node (1R1C): heat from the heat pump and a fixed internal gain
in, UA x (T_in - T_out) out; the outside temperature follows the season and the day.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum


class SgReady(Enum):
    LOCK = 1
    NORMAL = 2
    RECOMMEND = 3
    FORCE = 4


@dataclass(frozen=True)
class HeatPumpParams:
    heat_w: float = 5000.0  # thermal output when running
    min_on_s: float = 600.0
    min_off_s: float = 300.0
    max_starts_per_h: int = 3
    max_lock_s: float = 7200.0
    setpoint_degc: float = 20.0
    hysteresis_k: float = 0.5
    recommend_boost_k: float = 2.0
    force_limit_k: float = 3.0
    house_c_j_per_k: float = 20e6  # a well-insulated house: ~6 kWh/K
    house_ua_w_per_k: float = 150.0
    internal_gain_w: float = 300.0
    t_in0_degc: float = 20.0
    # Outside temperature: annual mean, seasonal and daily swing; day of year (1 = Jan 1)
    t_out_mean_degc: float = 10.0
    t_out_season_k: float = 7.0
    t_out_daily_k: float = 4.0
    day_of_year: int = 172  # the summer solstice: heat pumps mostly idle


def cop(t_out_degc: float) -> float:
    """Coefficient of performance of an air-source unit at 35 degC flow: ~3.5 at 7 degC."""
    return max(1.8, min(5.0, 3.5 + 0.08 * (t_out_degc - 7.0)))


class HeatPump:
    def __init__(self, params: HeatPumpParams, t_s: float) -> None:
        self.p = params
        self.state = SgReady.NORMAL
        self.running = False
        self.t_in_degc = params.t_in0_degc
        self.power_w = 0.0  # electrical
        self.starts = 0
        self._changed_s = t_s - max(params.min_on_s, params.min_off_s)
        self._lock_since_s: float | None = None
        self._starts: deque[float] = deque()

    def t_out_degc(self, t_s: float) -> float:
        p = self.p
        day = p.day_of_year + t_s / 86400.0
        season = -p.t_out_season_k * math.cos(2 * math.pi * (day - 15) / 365.0)
        daily = -p.t_out_daily_k * math.cos(2 * math.pi * ((t_s % 86400.0) / 86400.0 - 1 / 6))
        return p.t_out_mean_degc + season + daily

    def set_state(self, state: SgReady, t_s: float) -> None:
        if state is SgReady.LOCK and self.state is not SgReady.LOCK:
            self._lock_since_s = t_s
        self.state = state

    def _wants_heat(self, t_s: float) -> bool:
        p = self.p
        st = self.state
        if st is SgReady.LOCK and self._lock_since_s is not None:
            if t_s - self._lock_since_s < p.max_lock_s:
                return False
            st = SgReady.NORMAL  # a lock lasts at most 2 h
        if st is SgReady.FORCE:
            return self.t_in_degc < p.setpoint_degc + p.force_limit_k
        setpoint = p.setpoint_degc + (p.recommend_boost_k if st is SgReady.RECOMMEND else 0.0)
        if self.running:
            return self.t_in_degc < setpoint + p.hysteresis_k
        return self.t_in_degc < setpoint - p.hysteresis_k

    def step(self, t_s: float, dt_s: float) -> float:
        """Advance dt_s; returns the electrical power (W) during the step."""
        p = self.p
        want = self._wants_heat(t_s)
        since = t_s - self._changed_s
        while self._starts and t_s - self._starts[0] > 3600.0:
            self._starts.popleft()
        if (
            want
            and not self.running
            and since >= p.min_off_s
            and len(self._starts) < p.max_starts_per_h
        ):
            self.running, self._changed_s = True, t_s
            self._starts.append(t_s)
            self.starts += 1
        elif not want and self.running and since >= p.min_on_s:
            self.running, self._changed_s = False, t_s
        t_out = self.t_out_degc(t_s)
        heat = p.heat_w if self.running else 0.0
        self.power_w = heat / cop(t_out) if self.running else 0.0
        self.t_in_degc += (
            dt_s
            / p.house_c_j_per_k
            * (heat + p.internal_gain_w - p.house_ua_w_per_k * (self.t_in_degc - t_out))
        )
        return self.power_w
