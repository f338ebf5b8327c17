"""Hot-water tank with a 3 kW immersion element: one fully mixed node, a thermostat
cut-out, standing loss, and hot-water draws from a daily profile (loads-baseline-s2.md
§5.1: 3 kW element, 150-200 l, thermostat, standing loss as a constant leakage, draws).
Draws are mixed down to 40 degC at the tap; below 40 degC in the tank a draw is a comfort
miss. Water: 4186 J/(kg K), 1 kg/l."""

from __future__ import annotations

from dataclasses import dataclass

J_PER_L_K = 4186.0
TAP_DEGC = 40.0


@dataclass(frozen=True)
class TankParams:
    volume_l: float = 180.0
    element_w: float = 3000.0
    thermostat_degc: float = 60.0  # the element's cut-out
    thermostat_hysteresis_k: float = 4.0  # it closes again this far below
    cold_water_degc: float = 10.0
    ambient_degc: float = 18.0
    loss_w_per_k: float = 2.0  # standing loss, ~2 kWh/day at 60 degC
    t0_degc: float = 45.0
    # (hour of day, litres at 40 degC, minutes): showers and sinks
    draws: tuple[tuple[float, float, float], ...] = (
        (7.0, 45.0, 6.0),
        (7.5, 35.0, 5.0),
        (12.5, 10.0, 2.0),
        (19.0, 15.0, 3.0),
        (21.0, 50.0, 7.0),
    )


class Tank:
    def __init__(self, params: TankParams) -> None:
        self.p = params
        self.temp_degc = params.t0_degc
        self.thermostat_closed = params.t0_degc < params.thermostat_degc
        self.heater_w = 0.0  # what the element takes now
        self.comfort_misses = 0  # draw-seconds with the tank below the tap temperature
        self._c_j_per_k = params.volume_l * J_PER_L_K
        # Where the draws start and end (s of the day), and the stretch without a draw
        # last found (draw_l_per_s): inside it, no look-up.
        self._edges_s = [
            x
            for start_h, _, minutes in params.draws
            for x in (start_h * 3600.0, (start_h + minutes / 60.0) * 3600.0)
        ]
        self._quiet_from_s = self._quiet_to_s = 0.0

    def draw_l_per_s(self, t_s: float) -> float:
        sod = t_s % 86400.0
        if self._quiet_from_s <= sod < self._quiet_to_s:
            return 0.0  # between draws, as last found
        h = sod / 3600.0
        for start_h, litres, minutes in self.p.draws:
            if start_h <= h < start_h + minutes / 60.0:
                return litres / (minutes * 60.0)
        # No draw here: none in the stretch between the draws' edges around sod either.
        # Kept a second clear of both edges, where the test in hours above and one in
        # seconds could round differently; found from a point inside it, so it is exact.
        lo = max((e for e in self._edges_s if e <= sod), default=-1.0) + 1.0
        hi = min((e for e in self._edges_s if e > sod), default=86401.0) - 1.0
        if lo <= sod < hi:
            self._quiet_from_s, self._quiet_to_s = lo, hi
        return 0.0

    def accept(self, offered_w: float) -> float:
        """The element takes what it is offered up to its rating, unless the thermostat is open."""
        if self.temp_degc >= self.p.thermostat_degc:
            self.thermostat_closed = False
        elif self.temp_degc <= self.p.thermostat_degc - self.p.thermostat_hysteresis_k:
            self.thermostat_closed = True
        self.heater_w = (
            max(0.0, min(self.p.element_w, offered_w)) if self.thermostat_closed else 0.0
        )
        return self.heater_w

    def step(self, t_s: float, dt_s: float) -> float:
        """Advance dt_s with the present heater power; returns the heat drawn at the tap (J)."""
        p = self.p
        q_loss = p.loss_w_per_k * (self.temp_degc - p.ambient_degc) * dt_s
        draw = self.draw_l_per_s(t_s) * dt_s
        q_draw = 0.0
        if draw > 0.0:
            if self.temp_degc < TAP_DEGC:
                self.comfort_misses += 1
            # Tank water mixed to 40 degC: the heat leaving is fixed by the tap temperature.
            q_draw = draw * J_PER_L_K * (min(self.temp_degc, TAP_DEGC) - p.cold_water_degc)
        self.temp_degc += (self.heater_w * dt_s - q_loss - q_draw) / self._c_j_per_k
        return q_draw
