"""Replay a recorded trace (a bundle's trace.csv, edge/bundle.py) through the core: the
simulated house takes its PV and its household load from the recording instead of pvlib
and the load model, and the core decides on it tick by tick (edge/sim/closed_loop.py).

What the trace holds, a row a minute (edge/trace_log.py): the mean powers of the minute
ending at t_s. The replay holds each row over its minute (zero-order hold), so the
energies replayed are the energies recorded. The household load is what the inverter
measured as load less the tank's element and the heat pump, which the replayed house
runs itself under the core. Signs: grid + = import, battery + = discharge.

The rest of the house is the simulated one (its battery model starting at the recorded
SOC, its tank, its inverter's own dynamics); a row without inverter data (a silent
inverter) holds the row before it.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

from edge.core import CoreConfig
from edge.sim import closed_loop
from edge.sim.house import House, HouseParams


class TraceError(ValueError):
    """A trace that cannot be replayed; the message names the row and column."""


@dataclass(frozen=True)
class Trace:
    t_s: tuple[float, ...]  # the supervisor's clock at each minute's end
    pv_w: tuple[float, ...]
    household_w: tuple[float, ...]  # load less the element and the heat pump
    grid_w: tuple[float, ...]
    battery_w: tuple[float, ...]
    soc_pct: tuple[float, ...]
    reasons: tuple[str, ...]

    @classmethod
    def from_csv(cls, text: str, name: str = "trace.csv") -> Trace:
        rows: list[tuple[float, float, float, float, float, float, str]] = []
        for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            if not row.get("pv_w"):  # a minute without inverter data: hold the last
                continue
            try:
                household = float(row["load_w"]) - float(row["heater_w"] or 0.0)
                household -= float(row["heat_pump_w"] or 0.0)
                rows.append(
                    (
                        float(row["t_s"]),
                        float(row["pv_w"]),
                        max(household, 0.0),
                        float(row["grid_w"]),
                        float(row["battery_w"]),
                        float(row["soc_pct"]),
                        row["reason"],
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise TraceError(f"{name} line {n}: {exc}") from None
        if len(rows) < 2:
            raise TraceError(f"{name}: {len(rows)} rows with data; a replay needs two or more")
        if any(b[0] <= a[0] for a, b in itertools.pairwise(rows)):
            raise TraceError(f"{name}: the times (t_s) do not increase")
        cols = list(zip(*rows, strict=True))
        return cls(*(tuple(c) for c in cols))

    @classmethod
    def from_bundle(cls, bundle: Path) -> Trace:
        from edge.bundle import read_member

        return cls.from_csv(read_member(bundle, "trace.csv"), f"{bundle}: trace.csv")

    def _row(self, t_s: float) -> int:
        """The row whose minute holds t_s: (t[i-1], t[i]]; before the first, the first."""
        return min(bisect.bisect_left(self.t_s, t_s), len(self.t_s) - 1)

    def pv_at(self, t_s: float) -> float:
        return self.pv_w[self._row(t_s)]

    def household_at(self, t_s: float) -> float:
        return self.household_w[self._row(t_s)]

    @property
    def duration_s(self) -> float:
        return self.t_s[-1] - self.t_s[0]

    def energy_wh(self, values: tuple[float, ...]) -> float:
        """The recorded energy of a column over the replayed span (rows 1..n)."""
        return (
            sum(values[i] * (self.t_s[i] - self.t_s[i - 1]) for i in range(1, len(self.t_s)))
            / 3600.0
        )


class ReplayHouse(House):
    """The simulated house with the trace's PV and household load."""

    def __init__(self, trace: Trace, params: HouseParams | None = None) -> None:
        self.trace = trace
        p = dataclasses.replace(
            params or HouseParams(),
            pv=None,
            load=None,
            kettle_starts_s=(),
            load_noise_w=0.0,
            battery_soc0_pct=trace.soc_pct[0],
        )
        super().__init__(p, start_s=trace.t_s[0])

    def pv_w_at(self, t_s: float) -> float:
        return self.trace.pv_at(t_s)

    def load_w_at(self, t_s: float) -> float:
        return self.trace.household_at(t_s)


@dataclass(frozen=True)
class ReplayResult:
    energy_wh: dict[str, float]  # the house's ENERGY_KEYS over the replay
    soc_end_pct: float
    inverter_writes: int
    last_reason: str


def replay(trace: Trace, cfg: CoreConfig, params: HouseParams | None = None) -> ReplayResult:
    """Run the core over the trace, 1 s ticks, from its first row to its last."""
    house = ReplayHouse(trace, params)
    stats = closed_loop.run(house, cfg, trace.duration_s)
    return ReplayResult(
        energy_wh=dict(house.state.energy_wh),
        soc_end_pct=house.state.soc_pct,
        inverter_writes=stats.writes,
        last_reason=stats.state.reason,
    )
