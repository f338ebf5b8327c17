"""The ME3000SP's own behaviour, not only its registers (loads-baseline-s2.md §5.2, §5.6).

Self-use loop: the inverter samples its grid CT every meter period; a sample acts after
the dead time; outside the deadband it sets the battery target that would bring the grid
to zero given the battery power at sampling time; the output follows the target at the
ramp rate; a change of direction passes through a CHECK state of t_flip during which the
battery power is 0 (the ME3000SP's CHECK CHARGE / CHECK DISCHARGE states). Passive mode
overrides the target with the commanded power (the ramp and CHECK state still apply:
they are the power stage's). Without a heartbeat for the timeout, passive falls back to
self-use. Self-use keeps the EPS reserve; every command is clipped to the 3 kW AC limit
and the BMS limits. Sign: + = discharge, on the AC side.

The dead time, ramp, deadband and t_flip of a real ME3000SP are not published (§3.3,
§5.8): the defaults are the reference's assumptions, meant to be swept.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum


class InverterMode(Enum):
    AUTO = "auto"  # the inverter's own self-use loop on its grid CT
    PASSIVE = "passive"  # follows 0x42 commands


@dataclass(frozen=True)
class InverterParams:
    ac_limit_w: float = 3000.0  # ME3000SP nameplate
    efficiency: float = 0.95  # one way, AC <-> DC (§5.6)
    meter_period_s: float = 0.5  # T_m
    dead_time_s: float = 5.0  # tau_b, "X" (assumption, sweep 1-20 s)
    ramp_w_per_s: float = 1000.0  # r_b, "Y" (sweep 0.3-3 kW/s)
    deadband_w: float = 50.0  # db_b
    flip_check_s: float = 2.0  # t_flip (sweep 0-10 s)
    heartbeat_timeout_s: float = 60.0  # passive without heartbeat falls back (assumption)
    timeout_standby: bool = False  # on that timeout: standby at 0 W (HYD-EP 0x1185 = 0)
    eps_reserve_soc_pct: float = 10.0  # self-use does not discharge below this


class InverterModel:
    def __init__(self, params: InverterParams, t_s: float) -> None:
        self.p = params
        self.mode = InverterMode.AUTO
        self.passive_w = 0.0
        self.last_heartbeat_s = t_s
        self.output_w = 0.0  # AC battery power now, + = discharge
        self.target_w = 0.0
        self.in_check_until_s = -1.0
        self._t_s = t_s  # the latest step's time
        self.flips = 0
        self._next_sample_s = t_s
        self._pending: deque[tuple[float, float]] = deque()  # (acts at, target)

    def command_passive(self, battery_w: float, t_s: float) -> None:
        self.mode = InverterMode.PASSIVE
        self.passive_w = battery_w
        self.last_heartbeat_s = t_s

    def command_auto(self) -> None:
        if self.mode is InverterMode.PASSIVE:
            self._pending.clear()
            self.target_w = self.output_w
        self.mode = InverterMode.AUTO

    def heartbeat(self, t_s: float) -> None:
        self.last_heartbeat_s = t_s

    @property
    def in_check(self) -> bool:
        """In the CHECK state of a reversal at the latest step (the power stage off)."""
        return self._t_s < self.in_check_until_s

    def step(
        self,
        t_s: float,
        dt_s: float,
        grid_w: float,
        soc_pct: float,
        max_charge_w: float,
        max_discharge_w: float,
    ) -> float:
        """Advance to t_s + dt_s seeing grid_w at the CT; returns the new AC battery power.

        max_charge_w / max_discharge_w: the BMS limits, already on the AC side (>= 0).
        """
        p = self.p
        self._t_s = t_s
        if (
            self.mode is InverterMode.PASSIVE
            and t_s - self.last_heartbeat_s > p.heartbeat_timeout_s
        ):
            if p.timeout_standby:
                self.passive_w = 0.0  # heartbeat lost: standby, still in passive mode
            else:
                self.command_auto()  # heartbeat lost: back to its own self-use
        if self.mode is InverterMode.AUTO:
            while self._next_sample_s <= t_s:
                # What would zero the grid, given the battery at sampling time.
                if abs(grid_w) > p.deadband_w:
                    self._pending.append(
                        (self._next_sample_s + p.dead_time_s, self.output_w + grid_w)
                    )
                self._next_sample_s += p.meter_period_s
            while self._pending and self._pending[0][0] <= t_s:
                self.target_w = self._pending.popleft()[1]
            target = self.target_w
            if target > 0 and soc_pct <= p.eps_reserve_soc_pct:
                target = 0.0
        else:
            self._next_sample_s = t_s
            target = self.passive_w
        # The AC limit and the BMS's, as a window (+ = discharge): computed once a step.
        lo_w = -min(p.ac_limit_w, max_charge_w)
        hi_w = min(p.ac_limit_w, max_discharge_w)
        target = max(lo_w, min(hi_w, target))
        out = self.output_w
        if t_s < self.in_check_until_s:
            self.output_w = 0.0
            return 0.0
        if out != 0.0 and target != 0.0 and (out > 0) != (target > 0):
            # Reversal: ramp down is skipped; the power stage stops and checks first.
            self.output_w = 0.0
            self.in_check_until_s = t_s + p.flip_check_s
            self.flips += 1
            return 0.0
        step = p.ramp_w_per_s * dt_s
        out += max(-step, min(step, target - out))
        # Limits can shrink faster than the ramp (BMS taper): clip at once.
        self.output_w = out = max(lo_w, min(hi_w, out))
        return out
