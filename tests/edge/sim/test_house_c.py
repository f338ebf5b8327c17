"""The house's plant in C (firmware_c/sim/sim_house.c through edge/sim/house_c.py) against
the Python models it mirrors: the same state to the last bit, every field of every model,
after hours of steps across midnight, for every diverter and the heat pump's SG-Ready
states; its bounds fail with a message that names them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from edge.config import EdgeConfig
from edge.core import PlanBattery, PlannedSlot, SgState
from edge.settings import core_config
from edge.sim import closed_loop, house_c
from edge.sim.heatpump import HeatPumpParams, SgReady
from edge.sim.house import House, HouseParams
from edge.sim.inverter import InverterParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams

# A cool April day (the heat pump runs), a cloudy sky, surplus for the tank, a battery
# that fills and empties; from 09:00 to 03:00, across midnight, where the next day's
# traces are lent to C.
PARAMS = HouseParams(
    start_day_of_year=100,
    pv=PvParams(kwp=8.0, cloudiness=0.4),
    load=LoadParams(),
    battery_soc0_pct=30.0,
    heat_pump=HeatPumpParams(t_in0_degc=19.0),
)
START_S = 9 * 3600.0
HOURS = 18


def everything(h: House) -> dict[str, Any]:
    """Every attribute of the house's models (their state and their parameters)."""
    out: dict[str, Any] = {"state": dataclasses.asdict(h.state), "bms": h.bms_limits_ac_w}
    for name in ("pack", "inverter", "tank", "heat_pump"):
        out[name] = {k: v for k, v in vars(getattr(h, name)).items()}
    out["diverter"] = vars(h.diverter)
    out["in_check"] = h.inverter.in_check
    return out


def _sg_at(k: int) -> SgReady:
    """A schedule of SG-Ready states that visits each: locked, forced, boosted, normal."""
    return (SgReady.NORMAL, SgReady.LOCK, SgReady.FORCE, SgReady.RECOMMEND)[(k // 2400) % 4]


@pytest.mark.parametrize("diverter", ["eddi", "mk2", "mk2_1290"])
def test_the_status_quo_house_steps_the_same_in_c(diverter):
    params = dataclasses.replace(PARAMS, diverter=diverter)
    py, c_house = House(params, start_s=START_S), House(params, start_s=START_S)
    plant = house_c.CHouse(c_house)
    for k in range(HOURS * 3600):
        sg = _sg_at(k)
        if py.heat_pump.state is not sg:
            py.set_sg_ready(sg)
            plant.set_sg_ready(sg)
        py.step(1.0)
        plant.step(1.0)
        if k % 1800 == 0:  # a store in the middle changes nothing
            plant.store()
            assert everything(c_house) == everything(py)
    plant.store()
    assert everything(c_house) == everything(py)
    e = py.state.energy_wh
    assert e["heater"] > 0.0 and e["heat_pump"] > 0.0 and e["battery_discharge"] > 0.0
    assert py.heat_pump.starts > 0


def test_the_closed_loop_steps_the_same_in_c(monkeypatch):
    cfg = core_config(EdgeConfig.model_validate({"loads": {"heat_pump": {"enabled": True}}}))
    runs = {}
    for plant in ("python", "c"):
        monkeypatch.setenv("EDGE_SIM_PLANT", plant)
        h = House(PARAMS, start_s=START_S)
        trace: list[tuple[float, float, float]] = []

        def record(x: House, trace: list[tuple[float, float, float]] = trace) -> None:
            trace.append((x.state.grid_w, x.state.soc_pct, x.tank.temp_degc))

        stats = closed_loop.run(h, cfg, (HOURS - 1) * 3600, on_step=record)
        more = closed_loop.run(h, cfg, 3600, state=stats.state)  # on from the core's state
        runs[plant] = (everything(h), trace, stats.writes, more.writes, more.state)
    assert runs["c"] == runs["python"]
    assert runs["c"][2] > 10  # the core wrote commands: the loop was live


def test_a_planned_run_steps_the_same_in_c(monkeypatch):
    # The plan callback reads the house (brought up to date before each call in C).
    cfg = dataclasses.replace(
        core_config(EdgeConfig.model_validate({"loads": {"heat_pump": {"enabled": True}}})),
        planner_enabled=True,
    )

    def plan(h: House) -> PlannedSlot:
        t = h.state.t_s
        if h.state.soc_pct < 35.0:  # charge from the grid, and pre-heat when the tank is hot
            hp = SgState.FORCE if h.tank.temp_degc > 50.0 else None
            return PlannedSlot(
                t - 1.0, t + 60.0, t - 1.0, PlanBattery.GRID_CHARGE, 2000.0, 40.0, heat_pump=hp
            )
        return PlannedSlot(
            t - 1.0, t + 60.0, t - 1.0, PlanBattery.HOLD, tank_from_grid=h.heat_pump.running
        )

    runs = {}
    for plant in ("python", "c"):
        monkeypatch.setenv("EDGE_SIM_PLANT", plant)
        h = House(dataclasses.replace(PARAMS, battery_soc0_pct=34.0), start_s=START_S)
        stats = closed_loop.run(h, cfg, 4 * 3600, plan=plan)
        runs[plant] = (everything(h), stats.writes, stats.state)
    assert runs["c"] == runs["python"]
    assert runs["c"][0]["state"]["energy_wh"]["battery_charge"] > 0.0


def test_a_house_the_c_plant_does_not_model_runs_in_python():
    h = House(HouseParams(pv_kwp=2.0), start_s=12 * 3600.0)  # the scenario bell and kettles
    assert house_c.unsupported(h) == "PV and load are not the pvlib and richardsonpy day traces"
    with pytest.raises(ValueError, match="cannot step in C: PV and load"):
        house_c.CHouse(h)
    stats = closed_loop.run(h, core_config(EdgeConfig()), 60)
    assert stats.ticks == 60


def test_a_bound_of_the_c_plant_is_named():
    # A 200 s dead time at a 0.5 s meter period keeps 400 CT samples waiting: over the
    # C plant's 256. The Python models have no such bound.
    slow = dataclasses.replace(PARAMS, inverter=InverterParams(dead_time_s=200.0))
    plant = house_c.CHouse(House(slow, start_s=START_S))
    with pytest.raises(house_c.PlantError, match="dead time is too long"):
        for _ in range(400):
            plant.step(1.0)


def test_a_core_built_without_the_plant_leaves_runs_in_python(monkeypatch):
    monkeypatch.setattr(house_c, "BUILT", False)  # as an edge._core built before the plant
    h = House(PARAMS, start_s=START_S)
    assert "built without the plant" in (house_c.unsupported(h) or "")
    with pytest.raises(ValueError, match="rebuild it"):
        house_c.CHouse(h)
    assert closed_loop.run(h, core_config(EdgeConfig()), 30).ticks == 30
