"""Status-quo immersion diverters: each chases the same grid CT on its own
(loads-baseline-s2.md §1.2, §1.4, §5.2). They decide every plant step; a real Mk2 decides
every mains cycle (20 ms) and an eddi acts with no added delay by default (its Response
Delay is 0 s, §1.2); one plant step of up to a second keeps both at least as fast as an
inverter's self-use loop.

grid_w is the power at the CT (+ = import) including the heater's present power;
battery_w is the battery inverter's AC power (+ = discharge), which only a diverter with a
battery CT sees (the eddi's "Avoid Drain"). Every model returns the power it offers the
element. Sign of the offer: >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Diverter(Protocol):
    def offer_w(
        self, grid_w: float, heater_w: float, dt_s: float, battery_w: float = 0.0
    ) -> float: ...


@dataclass(frozen=True)
class DiverterParams:
    """The status-quo diverter's settings swept in loads-baseline-s2.md §5.6; the defaults
    are the devices' own. response_delay_s is Z: export (eddi) or a bucket over its start
    level (Mk2) must last that long before the element starts. export_margin_w is m, the
    export an eddi keeps while diverting. bucket_j is the Mk2 bucket's size (None: the
    model's own); a bucket larger than the standard 3600 J starts 0.5 Wh below full and
    stops 0.5 Wh below that, as the _1290 variant does. avoid_drain is the eddi's battery
    CT setting (§1.4): it never takes what the battery discharges."""

    response_delay_s: float = 0.0
    export_margin_w: float = 0.0
    bucket_j: float | None = None
    avoid_drain: bool = False


@dataclass
class EddiLike:
    """Diverts all surplus minus the export margin once export exceeded the threshold for
    the response delay; releases on import (eddi manual §13.1.6-13.1.7: defaults 0)."""

    export_threshold_w: float = 0.0
    export_margin_w: float = 0.0
    response_delay_s: float = 0.0
    element_w: float = 3000.0
    avoid_drain: bool = False
    diverting: bool = False
    _export_for_s: float = 0.0

    def offer_w(self, grid_w: float, heater_w: float, dt_s: float, battery_w: float = 0.0) -> float:
        drain_w = max(battery_w, 0.0) if self.avoid_drain else 0.0
        if not self.diverting:
            self._export_for_s = (
                self._export_for_s + dt_s if -grid_w > self.export_threshold_w else 0.0
            )
            if self._export_for_s >= self.response_delay_s and -grid_w > self.export_threshold_w:
                self.diverting = True
            else:
                return 0.0
        # Hold the grid at -margin: the element takes the surplus beyond the margin.
        # With Avoid Drain, what the battery discharges is not surplus.
        offer = max(0.0, min(self.element_w, heater_w - grid_w - self.export_margin_w - drain_w))
        if offer == 0.0 and (grid_w > 0.0 or drain_w > 0.0):
            self.diverting = False
        return offer


@dataclass
class Mk2Bucket:
    """Robin Emley's energy bucket: export fills it, import empties it; the element is on
    above the start level and off below the stop level; while on it tracks the grid to 0
    (burst-fire averages to that within a plant step). Standard: 3600 J, both levels at
    0.5 Wh (1800 J). The battery variant _1290: 8 Wh, start at 7.5 Wh, stop 0.5 Wh lower."""

    capacity_j: float = 3600.0
    start_j: float = 1800.0
    stop_j: float = 1800.0
    element_w: float = 3000.0
    start_delay_s: float = 0.0  # Z: the bucket must stay over the start level this long
    on: bool = False
    bucket_j: float = 0.0
    _over_for_s: float = 0.0

    @classmethod
    def standard(cls) -> Mk2Bucket:
        return cls()

    @classmethod
    def delayed_1290(cls) -> Mk2Bucket:
        return cls.sized(28800.0)

    @classmethod
    def sized(cls, capacity_j: float) -> Mk2Bucket:
        """A bucket of capacity_j: the standard one at 3600 J, else started 0.5 Wh below
        full and stopped 0.5 Wh below that (the _1290 rule)."""
        if capacity_j <= 3600.0:
            return cls(capacity_j=capacity_j, start_j=capacity_j / 2, stop_j=capacity_j / 2)
        return cls(capacity_j=capacity_j, start_j=capacity_j - 1800.0, stop_j=capacity_j - 3600.0)

    def offer_w(self, grid_w: float, heater_w: float, dt_s: float, battery_w: float = 0.0) -> float:
        self.bucket_j = max(0.0, min(self.capacity_j, self.bucket_j - grid_w * dt_s))
        self._over_for_s = self._over_for_s + dt_s if self.bucket_j >= self.start_j else 0.0
        if not self.on and self._over_for_s >= max(dt_s, self.start_delay_s):
            self.on = True
        elif self.on and self.bucket_j < self.stop_j:
            self.on = False
        if not self.on:
            return 0.0
        return max(0.0, min(self.element_w, heater_w - grid_w))


@dataclass
class External:
    """No diverter logic of its own: the element takes what the supervisor sets."""

    setpoint_w: float = 0.0

    def offer_w(self, grid_w: float, heater_w: float, dt_s: float, battery_w: float = 0.0) -> float:
        return max(0.0, self.setpoint_w)
