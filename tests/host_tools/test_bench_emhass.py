"""EMHASS in the control benchmark, our side only (no EMHASS, no venv): the request built
from our planner's inputs (contents, units, nothing from the actual trace ahead of now),
the schedule-to-slot translation, the answer's checks, and the clear errors when EMHASS
cannot be installed or started."""

from __future__ import annotations

import dataclasses
import importlib
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.core.model import PlanBattery
from edge.planner.model import (
    BatteryModel,
    Forecast,
    HouseModel,
    PlanInputs,
    PlanState,
)
from host_tools.bench.control import compare, emhass, emhass_report, planned

scenarios = importlib.import_module("host_tools.bench.control.scenarios")

HOUR = 3600.0
BATTERY = BatteryModel(
    capacity_wh=9600.0,
    max_charge_w=3000.0,
    max_discharge_w=3000.0,
    efficiency=0.95,
    reserve_soc_pct=20.0,
    max_soc_pct=95.0,
    wear_gbp_per_kwh=0.01,
)


def inputs(house: HouseModel | None = None) -> PlanInputs:
    fc = Forecast(
        t0_s=5 * 1800.0,
        slot_s=1800.0,
        pv_w=(0.0, 1200.0, -3.0),  # a negative forecast is clipped, as our planner does
        load_w=(400.0, 500.0, 600.0),
        t_out_degc=(19.5, 7.0, -40.0),
        draw_wh=(0.0, 0.0, 0.0),
    )
    return PlanInputs(
        fc,
        (0.13, 0.30, 0.30),
        (0.05, 0.05, 0.05),
        PlanState(soc_pct=47.5, tank_degc=50.0, house_degc=20.0),
        BATTERY,
        house=house,
    )


def test_the_request_is_our_planners_inputs_with_the_heat_pump_added_to_the_load():
    house = HouseModel()
    req = emhass.request(inputs(house))
    assert req["t0_s"] == 9000.0 and req["slot_s"] == 1800.0
    assert req["pv_w"] == [0.0, 1200.0, 0.0]
    # At 19.5 degC outside the internal gain is enough; at 7 degC the heat pump makes
    # 150 x 12.5 - 300 = 1575 W of heat at a COP of 3.5 (450 W); at -40 degC it runs
    # flat out, 5000 W of heat at its lowest COP, 1.8.
    assert req["load_w"] == pytest.approx([400.0, 500.0 + 450.0, 600.0 + 5000.0 / 1.8])
    assert req["import_gbp_per_kwh"] == [0.13, 0.30, 0.30]
    assert req["export_gbp_per_kwh"] == [0.05, 0.05, 0.05]
    assert req["soc_pct"] == 47.5
    assert req["battery"] == {
        "capacity_wh": 9600.0,
        "max_charge_w": 3000.0,
        "max_discharge_w": 3000.0,
        "efficiency": 0.95,
        "reserve_soc_pct": 20.0,
        "max_soc_pct": 95.0,
        "wear_gbp_per_kwh": 0.01,
    }
    assert emhass.request(inputs(None))["load_w"] == [400.0, 500.0, 600.0]


class Recorder:
    """Stands where the EMHASS worker would: keeps each request and answers with an
    idle battery in the worker's answer format (the adapter is under test, not EMHASS)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def plan(self, req: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(req)
        n = len(req["pv_w"])
        return {
            "status": "Optimal",
            "battery_w": [0.0] * n,
            "soc_pct": [req["soc_pct"]] * n,
            "grid_w": [lo - pv for lo, pv in zip(req["load_w"], req["pv_w"], strict=True)],
            "solve_ms": 1.0,
        }


def _run(tamper_after_s: float | None = None) -> emhass.EmhassController:
    sc = dataclasses.replace(compare.days_scenario("shoulder", 80, 1), seconds=10 * HOUR)
    ctl = emhass.EmhassController(sc, "e7", Recorder(), keep=True)  # type: ignore[arg-type]
    real_house = scenarios._house

    def house(sc_: Any, controller: str) -> Any:
        h = real_house(sc_, controller)
        if tamper_after_s is not None:
            pv, load = h.pv_model, h.load_model

            class Pv:
                def power_w(self, t_s: float) -> float:
                    return float(pv.power_w(t_s)) * (0.1 if t_s > tamper_after_s else 1.0)

            class Load:
                def power_w(self, t_s: float) -> float:
                    return float(load.power_w(t_s)) + (2500.0 if t_s > tamper_after_s else 0.0)

            h.pv_model, h.load_model = Pv(), Load()
        return h

    scenarios._house = house
    try:
        scenarios.run_chunks(sc, "planned", 86400, lambda tr: None, plan=ctl)
    finally:
        scenarios._house = real_house
    return ctl


def test_no_request_reads_the_actual_trace_beyond_now():
    """The house's PV and load after 08:00 are changed: every request made up to 08:00
    is the same as without the change; later ones see it (the load history reads the
    house as it happens, so the check has teeth). Every slot in force is a hold, as the
    idle answers ask."""
    cut = 8 * HOUR
    base, tampered = _run(), _run(tamper_after_s=cut)
    made = base.made_s  # a request made mid-slot starts at its slot (t0_s): go by when
    plans = round(10 * HOUR / planned.REPLAN_S)  # on the clock; EMHASS's plans set no SOC band
    assert made == tampered.made_s and len(made) == plans
    assert all(len(r["pv_w"]) == 96 for r in base.requests)  # 48 h of half hours on E7
    for k, t in enumerate(made):
        if t <= cut:
            assert base.requests[k] == tampered.requests[k], t
    after = [k for k, t in enumerate(made) if t > cut]
    assert any(base.requests[k]["load_w"] != tampered.requests[k]["load_w"] for k in after)
    assert {s.battery for s in base.slots} == {PlanBattery.HOLD}
    assert base.summary()["statuses"] == {"Optimal": plans}


def _answer(battery_w: float, grid_w: float, soc_pct: float = 60.0) -> dict[str, Any]:
    return {
        "status": "Optimal",
        "battery_w": [battery_w] * 5,
        "soc_pct": [soc_pct] * 5,
        "grid_w": [grid_w] * 5,
    }


def _req(pv_w: float, load_w: float) -> dict[str, Any]:
    return {
        "t0_s": 3600.0,
        "slot_s": 1800.0,
        "pv_w": [pv_w] * 5,
        "load_w": [load_w] * 5,
        "battery": emhass.request(inputs())["battery"],
    }


@pytest.mark.parametrize(
    ("pv_w", "load_w", "battery_w", "grid_w", "action", "power_w", "target_pct"),
    [
        # charging 2500 W with 200 W of surplus, importing 2300 W: from the grid
        (1000.0, 800.0, -2500.0, 2300.0, PlanBattery.GRID_CHARGE, 2500.0, 60.0),
        # charging from the surplus only: no discharge, the surplus still charges it
        (3000.0, 800.0, -2200.0, 0.0, PlanBattery.HOLD, 0.0, 60.0),
        # discharging 2000 W into a 500 W deficit, exporting 1500 W: to the grid
        (0.0, 500.0, 2000.0, -1500.0, PlanBattery.EXPORT, 2000.0, 60.0),
        # discharging into the deficit: discharge allowed, to the end SOC less 2 points
        (0.0, 900.0, 900.0, 0.0, PlanBattery.SELF_CONSUMPTION, 0.0, 58.0),
        # a part of the deficit (the rest imported) is still a discharge slot
        (0.0, 900.0, 300.0, 600.0, PlanBattery.SELF_CONSUMPTION, 0.0, 58.0),
        # idle in a deficit: the energy is kept for later
        (0.0, 900.0, 0.0, 900.0, PlanBattery.HOLD, 0.0, 60.0),
        # solver noise is idle
        (0.0, 900.0, 5.0, 895.0, PlanBattery.HOLD, 0.0, 60.0),
    ],
)
def test_each_planned_battery_power_becomes_the_slot_a_user_would_set(
    pv_w, load_w, battery_w, grid_w, action, power_w, target_pct
):
    slots = emhass.slot_actions(_req(pv_w, load_w), _answer(battery_w, grid_w), made_s=3000.0)
    assert len(slots) == 5
    s = slots[2]
    assert (s.start_s, s.end_s, s.made_s) == (3600.0 + 3600.0, 3600.0 + 5400.0, 3000.0)
    assert s.battery is action
    assert s.power_w == pytest.approx(power_w)
    assert s.target_soc_pct == pytest.approx(target_pct)
    assert not s.tank_from_grid and s.heat_pump is None  # EMHASS plans the battery only


def test_a_target_soc_stays_within_0_to_100():
    s = emhass.slot_actions(_req(0.0, 900.0), _answer(900.0, 0.0, soc_pct=1.0), 0.0)[0]
    assert s.target_soc_pct == 0.0


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"error": "ValueError: boom"}, "EMHASS: ValueError: boom"),
        ({"status": "Infeasible"}, "status 'Infeasible'"),
        ({"battery_w": [0.0] * 4}, "battery_w: not 5 values"),
        ({"soc_pct": [math.nan] * 5}, "soc_pct: not finite"),
        ({"battery_w": [3500.0] * 5}, "battery from 3500 to 3500 W, past its limits"),
        ({"battery_w": [-3002.0] * 5}, "battery from -3002 to -3002 W, past its limits"),
        ({"soc_pct": [101.0] * 5}, "SOC from 101.0 to 101.0 %"),
    ],
)
def test_an_unusable_answer_is_named_and_dropped(change, why):
    req = _req(0.0, 500.0)
    assert emhass.problems(req, _answer(500.0, 0.0)) == []
    assert why in emhass.problems(req, {**_answer(500.0, 0.0), **change})


def test_a_dropped_answer_leaves_the_last_schedule_in_force():
    class Failing(Recorder):
        def plan(self, req: dict[str, Any]) -> dict[str, Any]:
            super().plan(req)
            return {"status": "Error", "error": "RuntimeError: solver crashed"}

    sc = compare.days_scenario("shoulder", 80, 1)
    ctl = emhass.EmhassController(sc, "flat", Failing())  # type: ignore[arg-type]
    house = scenarios._house(sc, "planned")
    assert ctl(house) is None  # no schedule yet: the core does self-consumption
    summary = ctl.summary()
    assert summary["solver_failed"] == 1 and summary["plans"] == 0
    assert summary["first_problem"] == "EMHASS: RuntimeError: solver crashed"


def test_a_failed_install_says_which_step_failed(tmp_path: Path):
    said: list[str] = []
    with pytest.raises(emhass.EmhassError, match=r"install failed: /bin/false -m venv .* exited 1"):
        emhass.ensure_venv(tmp_path / "venv", say=said.append, maker="/bin/false")
    assert said and "creating the virtual environment" in said[0]
    with pytest.raises(emhass.EmhassError, match="cannot run /nonexistent/python"):
        emhass.ensure_venv(tmp_path / "venv2", say=said.append, maker="/nonexistent/python")
    assert emhass.installed_version(tmp_path / "venv") is None


def test_a_worker_without_emhass_stops_with_a_clear_error(tmp_path: Path):
    """Our own interpreter has no emhass: the worker cannot start, and the error names
    the log and what went wrong in it."""
    log = tmp_path / "worker.log"
    with pytest.raises(emhass.EmhassError, match=r"worker stopped \(exit 1\).*No module named"):
        emhass.Worker(Path(sys.executable), log=log)


def test_the_goal_line_says_whether_ours_planned_beat_emhass():
    planner = {"solver_failed": 0}
    results = {
        "spring_1d": {
            "e7": {
                "planned": 0.5,
                "emhass": 0.7,
                "planned_vs_emhass_gbp": -0.2,
                "emhass_planner": planner,
            },
            "go": {
                "planned": 0.9,
                "emhass": 0.8,
                "planned_vs_emhass_gbp": 0.1,
                "emhass_planner": {"solver_failed": 2},
            },
            "flat": {"planned": 1.0},  # run without EMHASS: no line
        }
    }
    lines = emhass_report.goal_lines(results)
    assert len(lines) == 2
    assert lines[0].endswith(": met") and "EMHASS £0.700 (-0.200)" in lines[0]
    assert lines[1].endswith("2 EMHASS plans unusable: MISSED by £0.100")


def test_the_worker_imports_only_the_standard_library_and_emhass():
    """It runs in EMHASS's venv, where edge is not installed: pandas comes with emhass
    (EMHASS's API takes DataFrames)."""
    import ast

    tree = ast.parse(emhass.WORKER.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    assert "emhass" in names
    assert names - set(sys.stdlib_module_names) - {"__future__"} == {"emhass", "pandas"}


def test_compare_runs_emhass_beside_ours_and_the_optimum_bounds_it_too():
    """The hook in compare.compare, with the recorder in EMHASS's place: EMHASS's fields
    join the tariff's, its day starts are among the optimum's, so it is bounded."""

    class Closing(Recorder):
        closed = False

        def close(self) -> None:
            self.closed = True

    sc = dataclasses.replace(compare.days_scenario("shoulder", 80, 1), seconds=6 * HOUR)
    worker = Closing()
    with emhass.Session(worker=worker) as session:
        r = compare.compare(sc, ("e7",), emhass=session)["e7"]
    plans = round(6 * HOUR / planned.REPLAN_S)
    assert worker.closed and len(worker.requests) == plans
    assert r["emhass_planner"]["plans"] == plans and r["emhass_planner"]["solver_failed"] == 0
    assert r["emhass_leak_wh"] == 0.0
    assert r["optimum"] <= r["emhass"] + 1e-4
    assert r["planned_vs_emhass_gbp"] == pytest.approx(r["planned"] - r["emhass"], abs=2e-3)
    assert "| shoulder_1d | e7 |" in emhass_report.table({"shoulder_1d": {"e7": r}})


def test_a_sensitivity_runs_configuration_changes_go_with_every_request():
    sc = compare.days_scenario("shoulder", 80, 1)
    worker = Recorder()
    change = {"battery_soc_final_reward_factor": 0.0}
    ctl = emhass.EmhassController(sc, "go", worker, config=change)  # type: ignore[arg-type]
    slot = ctl(scenarios._house(sc, "planned"))
    assert slot is not None and slot.battery is PlanBattery.HOLD
    assert worker.requests[0]["config"] == change
    plain = emhass.EmhassController(sc, "go", worker)  # type: ignore[arg-type]
    plain(scenarios._house(sc, "planned"))
    assert "config" not in worker.requests[1]


def test_with_idle_self_use_an_idle_slot_is_plain_self_consumption():
    req, idle = _req(0.0, 900.0), _answer(0.0, 900.0)
    s = emhass.slot_actions(req, idle, 0.0, idle_self_use=True)[0]
    assert (s.battery, s.target_soc_pct) == (PlanBattery.SELF_CONSUMPTION, 0.0)
    charge = emhass.slot_actions(req, _answer(-2500.0, 3400.0), 0.0, idle_self_use=True)[0]
    assert charge.battery is PlanBattery.GRID_CHARGE  # forced slots are unchanged
