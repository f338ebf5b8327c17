"""Scenarios of loads-baseline-s2.md §5.7 on the simulated clock, under a controller:

- "baseline": the uncoordinated status quo, the inverter's own self-use loop on the grid
  CT and an eddi-like diverter reacting to the same CT on its own (§5.2);
- "ours": the supervisor's core (edge.core.decide) commanding the inverter in passive
  mode and the diverter output, one balance for both (§5.3).

Pure functions of their parameters: seeded, no I/O, no wall clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from edge.core import CoreConfig
from edge.sim import closed_loop
from edge.sim.house import House, HouseParams
from edge.sim.tank import TankParams

Controller = Literal["baseline", "ours"]
NOON_S = 12 * 3600.0

# The kettle test (§5.7.1): a 3 kW, 150 s step on a sunny, flat-PV plateau with the tank
# not full. The battery is nearly full, so its BMS tapers the charge and the diverter is
# already taking the rest of the surplus when the kettle switches on: the forum's case.
KETTLE_HOUSE = HouseParams(
    pv_kwp=3.0,
    load_noise_w=0.0,
    base_load_w=350.0,
    kettle_power_w=3000.0,
    kettle_duration_s=150.0,
    kettle_starts_s=(NOON_S + 60.0,),
    battery_soc0_pct=97.0,
    tank=TankParams(t0_degc=45.0),
)
KETTLE_RUN_S = 60.0 + 150.0 + 600.0


@dataclass(frozen=True)
class KettleResult:
    leak_wh: float  # battery energy into the tank (§5.5)
    heater_wh: float  # all energy into the tank
    export_wh: float
    import_wh: float
    flips: int  # the inverter's charge/discharge reversals


def kettle(
    controller: Controller, core_cfg: CoreConfig, params: HouseParams = KETTLE_HOUSE
) -> KettleResult:
    """Run the kettle test under `controller`."""
    p = dataclasses.replace(params, diverter="eddi" if controller == "baseline" else "external")
    house = House(p, start_s=NOON_S)
    if controller == "baseline":
        for _ in range(round(KETTLE_RUN_S)):
            house.step(1.0)
    else:
        closed_loop.run(house, core_cfg, KETTLE_RUN_S)
    e = house.state.energy_wh
    return KettleResult(
        leak_wh=e["battery_to_heater"],
        heater_wh=e["heater"],
        export_wh=e["export"],
        import_wh=e["import"],
        flips=house.inverter.flips,
    )
