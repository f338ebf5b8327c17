"""The simulated clock: the pure core stepped directly against the plant, no sockets,
for benchmarks and annual studies. The real-time clock (ScaledClock, edge/sim/world.py)
puts the same house behind real sockets instead.

Each tick freezes a process image from the house, as the drivers would report it (the
inverter's readings are ideal here: no register rounding, no staleness), calls
core.decide, and applies the setpoints: the inverter command as a 0x42 passive command
would, the DAB current as a power drawn from the house.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.core import (
    CoreConfig,
    CoreState,
    InverterMode,
    InverterReading,
    ProcessImage,
    Sample,
    decide,
)
from edge.sim.house import House


@dataclass
class LoopStats:
    ticks: int = 0
    writes: int = 0


def image_of(house: House) -> ProcessImage:
    s = house.state
    reading = InverterReading(
        grid_power_w=s.grid_w,
        battery_power_w=s.battery_w,
        battery_soc_pct=s.soc_pct,
        load_power_w=s.load_w + s.dab_w + s.heater_w + s.heat_pump_w,
        pv_power_w=s.pv_w,
    )
    return ProcessImage(t_s=s.t_s, inverter=Sample(reading, 0.0), dab=None)


def run(
    house: House, cfg: CoreConfig, seconds: float, tick_s: float = 1.0, plant_dt_s: float = 1.0
) -> LoopStats:
    """Run the closed loop for `seconds` of simulated time."""
    stats = LoopStats()
    state = CoreState()
    per_tick = max(1, round(tick_s / plant_dt_s))
    last = None
    for _ in range(round(seconds / (per_tick * plant_dt_s))):
        sp, state = decide(image_of(house), cfg, state)
        cmd = sp.inverter
        if cmd != last:
            if cmd.mode is InverterMode.SELF_USE:
                house.command_auto()
            else:
                house.command_passive(cmd.battery_power_w)
            stats.writes += 1
            last = cmd
        else:
            house.heartbeat()
        for _ in range(per_tick):
            house.step(plant_dt_s)
        stats.ticks += 1
    return stats
