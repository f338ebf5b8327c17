"""A guard on the simulated house's output, not its speed: simulated days of the realistic
house (pvlib PV with clouds, richardsonpy load, cells, tank, heat pump, the inverter's own
loop) give the figures the code gave before it was made faster.

The figures in data/regression_days.json were computed once by the code before the speed
work (commit 70fd196), with this file's own `figures()`:
    PYTHONPATH=<a checkout of 70fd196> python tests/edge/sim/test_sim_regression.py --write
Regenerate them only for a change that is meant to change the simulation, and say so in
the commit. Every figure must agree to 1e-9 (relative): the faster code does the same
arithmetic in the same order, so in practice they agree to the last bit.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.config import EdgeConfig
from edge.settings import core_config
from edge.sim import closed_loop, house_c
from edge.sim.house import House, HouseParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams

DATA = Path(__file__).resolve().parent / "data" / "regression_days.json"
DAY_S = 86400
# (day of year, controller, start hour): midsummer and midwinter, our core and the status
# quo's eddi; a day from noon to noon crosses midnight, where the next day's PV and load
# are computed.
CASES = ((172, "ours", 0), (355, "ours", 12), (172, "eddi", 12))
# Tariffs for the cost figures (£/kWh): a flat rate, and Economy 7's night 00:30-07:30.
FLAT, DAY, NIGHT, EXPORT = 0.245, 0.30, 0.13, 0.05


def _cost(grid_w: list[float], t0_s: float, e7: bool) -> float:
    total = 0.0
    for k, g in enumerate(grid_w):
        h = ((t0_s + k) % 86400.0) / 3600.0
        price = (NIGHT if 0.5 <= h < 7.5 else DAY) if e7 else FLAT
        total += (g * price if g > 0 else g * EXPORT) / 3.6e6
    return total


def figures(day_of_year: int, controller: str, start_h: int) -> dict[str, Any]:
    """A simulated day (1 s steps) from start_h of the realistic house under `controller`: "ours"
    (the core through the closed loop, the heat pump's SG-Ready contacts wired) or "eddi"
    (the inverter's self-use loop and an eddi-like diverter on the same CT)."""
    params = HouseParams(
        start_day_of_year=day_of_year,
        pv=PvParams(kwp=5.0, cloudiness=0.3),
        load=LoadParams(),
        battery_soc0_pct=50.0,
        diverter="external" if controller == "ours" else "eddi",
    )
    start_s = start_h * 3600.0
    house = House(params, start_s=start_s)
    soc: list[float] = []
    grid: list[float] = []

    def record(h: House) -> None:
        soc.append(h.state.soc_pct)
        grid.append(h.state.grid_w)

    writes = 0
    if controller == "ours":
        cfg = core_config(EdgeConfig.model_validate({"loads": {"heat_pump": {"enabled": True}}}))
        writes = closed_loop.run(house, cfg, DAY_S, on_step=record).writes
    elif house_c.wanted():  # the status quo's own loop, the plant in C
        plant = house_c.CHouse(house)
        for _ in range(DAY_S):
            plant.step(1.0)
            plant.store()
            record(house)
    else:
        for _ in range(DAY_S):
            house.step(1.0)
            record(house)
    return {
        "energy_wh": dict(house.state.energy_wh),
        "soc_sum_pct_s": math.fsum(soc),
        "soc_weighted": math.fsum(k * x for k, x in enumerate(soc)),
        "grid_sum_w_s": math.fsum(grid),
        "grid_abs_sum_w_s": math.fsum(map(abs, grid)),
        "soc_end_pct": house.state.soc_pct,
        "tank_end_degc": house.tank.temp_degc,
        "house_end_degc": house.heat_pump.t_in_degc,
        "comfort_misses": house.tank.comfort_misses,
        "hp_starts": house.heat_pump.starts,
        "flips": house.inverter.flips,
        "writes": writes,
        "cost_flat_gbp": _cost(grid, start_s, e7=False),
        "cost_e7_gbp": _cost(grid, start_s, e7=True),
    }


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = float(value)
    return out


@pytest.mark.parametrize("plant", ["python", "c"])
@pytest.mark.parametrize(("day_of_year", "controller", "start_h"), CASES)
def test_a_simulated_day_gives_the_figures_of_the_code_before(
    day_of_year, controller, start_h, plant, monkeypatch
):
    # The plant steps in C (edge/sim/house_c.py) or in the Python models it mirrors.
    monkeypatch.setenv("EDGE_SIM_PLANT", plant)
    want = _flat(json.loads(DATA.read_text())["cases"][f"{day_of_year}/{controller}/{start_h}"])
    got = _flat(figures(day_of_year, controller, start_h))
    assert got.keys() == want.keys()
    wrong = {k: (got[k], want[k]) for k in want if got[k] != pytest.approx(want[k], rel=1e-9)}
    assert not wrong, wrong
    # Figures that would hide a dead simulation: the day has sun, load, and a battery in use.
    assert got["energy_wh.pv"] > 1000.0
    assert got["energy_wh.load"] > 3000.0
    assert got["energy_wh.battery_charge"] > 0.0


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    DATA.parent.mkdir(exist_ok=True)
    doc = {
        "made_by": "python tests/edge/sim/test_sim_regression.py --write, on commit 70fd196",
        "cases": {f"{d}/{c}/{h}": figures(d, c, h) for d, c, h in CASES},
    }
    DATA.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA}")
