"""The scenarios of loads-baseline-s2.md §5.7 and the controllers that run them, on the
simulated clock at 1 s, recording a trace of every step.

Controllers:
- "ours": the supervisor's core (edge.core.decide) through edge.sim.closed_loop;
- the status quo (§5.2): the inverter's own self-use loop with one of the diverters on the
  same CT, "eddi" (eddi-like), "mk2" (Mk2 standard) or "mk2_1290" (the delayed Mk2), and the
  heat pump asked to run by OpenEMS's rule (recommend above 3 kW of surplus, 60 s minimum
  between switches);
- "eddi_avoid_drain": the same with an eddi given a battery CT and "Avoid Drain" on, §5.2's
  "best available off-the-shelf" run;
- "optimum": the perfect-foresight LP (optimum.py), on the same traces.
Everything is seeded: the same arguments give the same traces.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge._core import ffi, lib
from edge.config import EdgeConfig
from edge.settings import core_config
from edge.sim import closed_loop, house_c
from edge.sim.diverter import DiverterParams
from edge.sim.heatpump import SgReady
from edge.sim.house import DiverterKind, House, HouseParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams
from edge.sim.scenarios import KETTLE_HOUSE, KETTLE_RUN_S, NOON_S
from edge.sim.tank import TankParams

STATUS_QUO = ("eddi", "mk2", "mk2_1290")
BEST_OFF_THE_SHELF = "eddi_avoid_drain"
CONTROLLERS = ("ours", *STATUS_QUO, BEST_OFF_THE_SHELF)
# The 15th of each month (day of the year, not a leap year): a sample of the year.
MID_MONTH_DAYS = (15, 46, 74, 105, 135, 166, 196, 227, 258, 288, 319, 349)
# Each controller's diverter in the simulated house.
DIVERTERS: dict[str, tuple[DiverterKind, DiverterParams]] = {
    "ours": ("external", DiverterParams()),
    "eddi": ("eddi", DiverterParams()),
    "mk2": ("mk2", DiverterParams()),
    "mk2_1290": ("mk2_1290", DiverterParams()),
    BEST_OFF_THE_SHELF: ("eddi", DiverterParams(avoid_drain=True)),
    "planned": ("external", DiverterParams()),  # ours with the planner (planned.py)
}
# OpenEMS's SG-Ready rule for the status quo (§5.2).
SQ_HP_SURPLUS_W = 3000.0
SQ_HP_MIN_SWITCH_S = 60.0


def bench_config() -> EdgeConfig:
    """Ours as an installer would set it up in this house: the defaults, with the heat
    pump's SG-Ready contacts wired (the status quo gets OpenEMS's rule for them)."""
    return EdgeConfig.model_validate({"loads": {"heat_pump": {"enabled": True}}})


RESERVE_SOC_PCT = bench_config().battery.reserve_soc_pct
NOMINAL_PACK_V = 48.0  # 15 LiFePO4 cells at 3.2 V (pylontech.md §3)


@dataclass(frozen=True)
class Scenario:
    name: str
    params: HouseParams
    start_s: float
    seconds: float
    lp_dt_s: float  # the optimum's time step
    pv_w: Callable[[float], float] | None = None  # a PV trace instead of the house's model


@dataclass
class Trace:
    """One value a second: powers in W (grid + = import, battery + = discharge), SOC in %,
    the tank and the house (the heat pump's) in degC; `check` marks the inverter's CHECK
    state on a reversal. The *0 fields are the state the run began in."""

    t_s: np.ndarray
    pv_w: np.ndarray
    load_w: np.ndarray  # the household's appliances
    heater_w: np.ndarray
    hp_w: np.ndarray
    battery_w: np.ndarray
    grid_w: np.ndarray
    soc_pct: np.ndarray
    tank_degc: np.ndarray
    house_degc: np.ndarray
    check: np.ndarray
    leak_wh_house: float  # battery -> tank as the house integrated it (§5.5)
    comfort_misses: int
    soc0_pct: float
    tank0_degc: float
    house0_degc: float
    capacity_wh: float
    mip_gap: float = 0.0  # the optimum's MILP: its gap at the end of the solve

    def sliced(self, index: slice) -> Trace:
        """Every series taken at `index`; the start states and the sums as they were."""
        arrays = {
            f.name: getattr(self, f.name)[index]
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }
        return dataclasses.replace(self, **arrays)


class CloudPv:
    """PV stepping between 3.5 kW and 0.8 kW, each level for 30 to 120 s (§5.7.2)."""

    def __init__(self, seed: int, start_s: float, seconds: float) -> None:
        rng = random.Random(seed)
        self.edges: list[tuple[float, float]] = []
        t, high = start_s, True
        while t < start_s + seconds + 120:
            self.edges.append((t, 3500.0 if high else 800.0))
            t += rng.uniform(30.0, 120.0)
            high = not high

    def __call__(self, t_s: float) -> float:
        level = self.edges[0][1]
        for start, w in self.edges:
            if start > t_s:
                break
            level = w
        return level


def year() -> Scenario:
    """A simulated year from 1 January: pvlib with clouds, richardsonpy, one day at a time."""
    return Scenario(
        "year",
        HouseParams(
            start_day_of_year=1,
            pv=PvParams(kwp=5.0, cloudiness=0.3),
            load=LoadParams(),
            battery_soc0_pct=50.0,
        ),
        0.0,
        365 * 86400.0,
        60.0,
    )


def scenarios(quick: bool) -> list[Scenario]:
    cloud = HouseParams(
        base_load_w=600.0,
        load_noise_w=0.0,
        kettle_starts_s=(),
        battery_soc0_pct=50.0,
        tank=TankParams(t0_degc=45.0),
    )
    out = [
        Scenario("kettle", KETTLE_HOUSE, NOON_S, KETTLE_RUN_S, 10.0),
        Scenario("cloud", cloud, NOON_S, 3600.0, 10.0, CloudPv(7, NOON_S, 3600.0)),
    ]
    days = [("summer", 172)] if quick else [("summer", 172), ("shoulder", 80), ("winter", 355)]
    for name, doy in days:
        out.append(
            Scenario(
                f"day_{name}",
                HouseParams(
                    start_day_of_year=doy,
                    pv=PvParams(kwp=5.0, cloudiness=0.3),
                    load=LoadParams(),
                    battery_soc0_pct=50.0,
                ),
                0.0,
                86400.0,
                60.0,
            )
        )
    return out


def _house(sc: Scenario, controller: str) -> House:
    kind, settings = DIVERTERS[controller]
    if controller != "ours" and sc.params.diverter_params != DiverterParams():
        settings = sc.params.diverter_params  # a sweep's settings
    # One usable window for all: the self-use loop stops at the reserve ours keeps.
    inverter = dataclasses.replace(sc.params.inverter, eps_reserve_soc_pct=RESERVE_SOC_PCT)
    params = dataclasses.replace(
        sc.params, diverter=kind, diverter_params=settings, inverter=inverter
    )
    house = House(params, start_s=sc.start_s)
    if sc.pv_w is not None:
        pv = sc.pv_w

        class _Trace:
            def power_w(self, t_s: float) -> float:
                return pv(t_s)

        house.pv_model = _Trace()  # type: ignore[assignment]
        house.state.pv_w = pv(sc.start_s)
    return house


def run(sc: Scenario, controller: str) -> Trace:
    """One scenario under one controller, as one trace."""
    days: list[Trace] = []
    run_chunks(sc, controller, round(sc.seconds), days.append)
    return days[0]


def run_chunks(
    sc: Scenario,
    controller: str,
    chunk_s: int,
    on_chunk: Callable[[Trace], None],
    plan: Callable[[House], Any] | None = None,
) -> None:
    """Run the scenario and hand each chunk_s of trace to on_chunk as it completes (a
    year runs a day at a time, in a day's memory). plan: the "planned" controller's
    planner (planned.PlannedController), asked for the slot in force every tick."""
    house = _house(sc, controller)
    n = round(sc.seconds)
    size = min(chunk_s, n)
    start = {
        "soc": house.state.soc_pct,
        "tank": house.tank.temp_degc,
        "house": house.heat_pump.t_in_degc,
        "leak": 0.0,
        "misses": 0,
    }

    def flush(h: House) -> None:
        k = rec.k
        e = h.state.energy_wh
        arrays: dict[str, Any] = {name: v[:k].copy() for name, v in rec.cols.items()}
        on_chunk(
            Trace(
                check=rec.check[:k].copy(),
                leak_wh_house=e["battery_to_heater"] - start["leak"],
                comfort_misses=h.tank.comfort_misses - int(start["misses"]),
                soc0_pct=float(start["soc"]),
                tank0_degc=float(start["tank"]),
                house0_degc=float(start["house"]),
                capacity_wh=h.p.pack.modules * h.p.pack.module_ah * NOMINAL_PACK_V,
                **arrays,
            )
        )
        start.update(
            soc=h.state.soc_pct,
            tank=h.tank.temp_degc,
            house=h.heat_pump.t_in_degc,
            leak=e["battery_to_heater"],
            misses=h.tank.comfort_misses,
        )

    # Every step's row: written by the C plant as it steps, or from the Python House.
    rec = house_c.Recorder(size, flush)
    if controller == "ours":
        cfg = core_config(bench_config())
        closed_loop.run(house, cfg, sc.seconds, record=rec)
    elif controller == "planned":
        if plan is None:
            raise ValueError("the planned controller needs its planner")
        cfg = dataclasses.replace(core_config(bench_config()), planner_enabled=True)
        closed_loop.run(house, cfg, sc.seconds, record=rec, plan=plan)
    elif house_c.wanted() and house_c.unsupported(house) is None:
        _status_quo_c(house, n, rec)
    else:
        _status_quo(house, n, rec)
    if rec.k:  # the last chunk, shorter than chunk_s
        flush(house)


def _status_quo(house: House, n: int, rec: house_c.Recorder) -> None:
    """The status quo's n steps: the inverter's and the diverter's own loops in the house,
    the heat pump by OpenEMS's rule (recommend above SQ_HP_SURPLUS_W of surplus, at least
    SQ_HP_MIN_SWITCH_S between switches)."""
    last_switch = -math.inf
    for _ in range(n):
        s = house.state
        surplus = -s.grid_w - max(s.battery_w, 0.0) + s.heat_pump_w
        want = SgReady.RECOMMEND if surplus > SQ_HP_SURPLUS_W else SgReady.NORMAL
        if want is not house.heat_pump.state and s.t_s - last_switch >= SQ_HP_MIN_SWITCH_S:
            house.set_sg_ready(want)
            last_switch = s.t_s
        house.step(1.0)
        rec.row(house)


def _status_quo_c(house: House, n: int, rec: house_c.Recorder) -> None:
    """_status_quo with the plant stepped in C (house_c): the same rule on the same values;
    C writes each step's row, the House is brought up to date when the rows are full and
    at the end."""
    plant = house_c.CHouse(house)
    c = plant.c
    c.record = rec.c
    step, set_sg, resume = lib.edge_sim_house_step, lib.edge_sim_house_set_sg, plant.resume
    hp = c.heat_pump
    recommend, normal = SgReady.RECOMMEND.value, SgReady.NORMAL.value
    last_switch = -math.inf
    left = rec.size - rec.k  # rows until the recorder is full
    try:
        for _ in range(n):
            surplus = -c.grid_w - max(c.battery_w, 0.0) + c.heat_pump_w
            want = recommend if surplus > SQ_HP_SURPLUS_W else normal
            if want != hp.sg and c.t_s - last_switch >= SQ_HP_MIN_SWITCH_S:
                set_sg(c, want)
                last_switch = c.t_s
            rc = step(c, 1.0)
            if rc:
                resume(rc, 1.0)  # a new day's traces first (or a bound's error)
            left -= 1
            if not left:
                plant.store()
                rec.full(house)
                left = rec.size
    finally:
        c.record = ffi.NULL
        plant.store()
