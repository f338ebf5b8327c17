"""Benchmark of the simulated house: simulated seconds per wall-clock second at
1 s resolution, for the plant alone and for the plant plus the pure core (the simulated
clock, no sockets). Target: one simulated year in <= 15 minutes on one core, i.e.
>= 35,000 simulated seconds per second, so annual studies are one command away."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from edge.config import EdgeConfig
from edge.settings import core_config
from edge.sim import closed_loop
from edge.sim.house import House, HouseParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams

TARGET = 35_000.0
DAY_S = 86400


def _rate(fn: Any, seconds: int) -> float:
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        fn(seconds)
        best = max(best, seconds / (time.perf_counter() - t0))
    return best


def main(json_path: Path | None, quick: bool = False) -> int:
    seconds = 6 * 3600 if quick else DAY_S
    # The house annual studies run: pvlib PV with clouds, richardsonpy load at 1 s, the tank,
    # the heat pump, the cell-level pack; the diverter is the supervisor's (external).
    params = HouseParams(pv=PvParams(cloudiness=0.3), load=LoadParams(), diverter="external")

    def plant(n: int) -> None:
        h = House(params, start_s=0.0)
        for _ in range(n):
            h.step(1.0)

    plant(1)  # the year of household load is generated (or read from its cache) once

    cfg = core_config(EdgeConfig())

    def closed(n: int) -> None:
        closed_loop.run(House(params, start_s=0.0), cfg, n)

    results: dict[str, Any] = {
        "plant_sim_seconds_per_second": round(_rate(plant, seconds)),
        "closed_loop_sim_seconds_per_second": round(_rate(closed, seconds)),
        "simulated_seconds_per_run": seconds,
    }
    results["year_minutes_closed_loop"] = round(
        365 * DAY_S / results["closed_loop_sim_seconds_per_second"] / 60, 1
    )
    results["targets"] = {
        "plant_sim_seconds_per_second": f">= {TARGET:g}",
        "closed_loop_sim_seconds_per_second": f">= {TARGET:g}",
    }
    for key, value in results.items():
        if key == "targets":
            continue
        note = ""
        if key in results["targets"]:
            note = f"  ({'meets' if value >= TARGET else 'MISSES'} >= {TARGET:,.0f})"
        print(f"{key:<40} {value:>12,}{note}")
    if json_path is not None:
        json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {json_path}")
    return 0
