"""bench control's traces (run_chunks) with the plant in C, whose step writes each row of
the trace itself (house_c.Recorder), against the Python models (EDGE_SIM_PLANT=python):
the same arrays to the last bit, chunk by chunk, for ours and each status-quo controller,
on a cloudy spring morning with the household's kettles, and on the kettle test (whose
flat PV the C plant does not model: both runs take the Python models there)."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from edge.sim import house_c
from edge.sim.heatpump import HeatPumpParams
from edge.sim.house import HouseParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams

# the module, not the function of the same name that the package exports
scenarios = importlib.import_module("host_tools.bench.control.scenarios")

# 09:30 to 12:45 of a cool, cloudy April day: the PV steps with the clouds, richardsonpy's
# day has its kettle and hob steps, the heat pump runs, the status quo's surplus crosses
# OpenEMS's 3 kW; 3 h 15 min in chunks of 1 h, the last one shorter.
CLOUDY = scenarios.Scenario(
    "cloudy_morning",
    HouseParams(
        start_day_of_year=100,
        pv=PvParams(kwp=8.0, cloudiness=0.5),
        load=LoadParams(),
        battery_soc0_pct=40.0,
        heat_pump=HeatPumpParams(t_in0_degc=19.5),
    ),
    9.5 * 3600.0,
    3.25 * 3600.0,
    60.0,
)
CHUNK_S = 3600
CONTROLLERS = ("ours", *scenarios.STATUS_QUO, scenarios.BEST_OFF_THE_SHELF)


def chunks(sc: scenarios.Scenario, controller: str, chunk_s: int) -> list[scenarios.Trace]:
    out: list[scenarios.Trace] = []
    scenarios.run_chunks(sc, controller, chunk_s, out.append)
    return out


def assert_same(c_run: list[scenarios.Trace], py_run: list[scenarios.Trace]) -> None:
    assert len(c_run) == len(py_run)
    for a, b in zip(c_run, py_run, strict=True):
        for field in dataclasses.fields(scenarios.Trace):
            x, y = getattr(a, field.name), getattr(b, field.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype, field.name
                assert np.array_equal(x, y), f"{field.name} differs"
            else:
                assert x == y, field.name


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_the_c_plant_records_the_python_plants_trace(controller, monkeypatch):
    house = scenarios._house(CLOUDY, controller)
    assert house_c.unsupported(house) is None  # this run steps in C by default
    c_run = chunks(CLOUDY, controller, CHUNK_S)
    monkeypatch.setenv("EDGE_SIM_PLANT", "python")
    py_run = chunks(CLOUDY, controller, CHUNK_S)
    assert [len(t.t_s) for t in c_run] == [3600, 3600, 3600, 900]
    assert_same(c_run, py_run)
    t_s = np.concatenate([t.t_s for t in c_run])
    assert np.array_equal(t_s, CLOUDY.start_s + np.arange(1, len(t_s) + 1))

    # a lively trace: clouds, a kettle, heating, the battery both ways and its reversals
    def whole(name: str) -> np.ndarray:
        return np.concatenate([getattr(t, name) for t in c_run])

    assert np.ptp(whole("pv_w")) > 2000.0
    assert whole("load_w").max() > 3000.0
    assert whole("battery_w").min() < 0.0 < whole("battery_w").max()
    assert whole("heater_w").max() > 0.0 and whole("hp_w").max() > 0.0
    assert whole("check").any()


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_the_kettle_test_falls_back_to_the_python_plant_the_same(controller, monkeypatch):
    kettle = scenarios.scenarios(quick=True)[0]
    assert kettle.name == "kettle"
    assert house_c.unsupported(scenarios._house(kettle, controller)) is not None
    c_run = chunks(kettle, controller, 300)
    monkeypatch.setenv("EDGE_SIM_PLANT", "python")
    assert_same(c_run, chunks(kettle, controller, 300))
    assert [len(t.t_s) for t in c_run] == [300, 300, 210]
    assert max(t.load_w.max() for t in c_run) >= 3000.0  # the kettle is in it


def test_a_recorder_of_no_rows_is_refused():
    with pytest.raises(ValueError, match="at least one step, not 0"):
        house_c.Recorder(0, lambda house: None)


def test_a_core_without_the_record_runs_the_trace_in_python(monkeypatch):
    """An edge._core built before edge_sim_record_t: the same trace, from the Python
    models, rather than a failure."""
    sc = dataclasses.replace(CLOUDY, seconds=900.0)
    c_run = chunks(sc, "eddi", 600)
    monkeypatch.setattr(house_c, "BUILT", False)
    assert "rebuild it" in (house_c.unsupported(scenarios._house(sc, "eddi")) or "")
    assert_same(chunks(sc, "eddi", 600), c_run)
    assert [len(t.t_s) for t in c_run] == [600, 300]


def test_a_planned_run_records_the_python_plants_trace(monkeypatch):
    """The planner reads the house each tick (the C plant copies it out just before) and
    its slots narrow the core: the same trace, and the same plans, with either plant."""
    from host_tools.bench.control.planned import PlannedController

    def planned() -> tuple[list[scenarios.Trace], PlannedController]:
        ctl = PlannedController(CLOUDY, "e7")
        out: list[scenarios.Trace] = []
        scenarios.run_chunks(CLOUDY, "planned", CHUNK_S, out.append, plan=ctl)
        return out, ctl

    c_run, c_ctl = planned()
    monkeypatch.setenv("EDGE_SIM_PLANT", "python")
    py_run, py_ctl = planned()
    assert_same(c_run, py_run)
    assert len(c_ctl.stats.slots) >= 13  # re-planned every 15 minutes, or more
    assert c_ctl.stats.slots == py_ctl.stats.slots
    assert c_ctl.plan is not None and py_ctl.plan is not None
    assert c_ctl.plan.battery_w == py_ctl.plan.battery_w
