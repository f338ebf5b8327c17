"""The simulated clock: the pure core stepped directly against the plant, no sockets,
for benchmarks and annual studies. The real-time clock (ScaledClock, edge/sim/world.py)
puts the same house behind real sockets instead.

Each tick freezes a process image from the house, as the drivers would report it (the
inverter's, BMS's and loads' readings are ideal here: no register rounding, no
staleness), calls core.decide, and applies the setpoints: the inverter command as a 0x42
passive command would, the diverter power and the SG-Ready state as the load drivers would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar, runtime_checkable

from edge._core import ffi, lib
from edge.core import (
    BmsReading,
    CoreConfig,
    CoreState,
    InverterMode,
    InverterReading,
    LoadsReading,
    PlannedSlot,
    ProcessImage,
    Requests,
    Sample,
    SgState,
    decide,
)
from edge.sim import house_c
from edge.sim.diverter import External
from edge.sim.house import House, SgReady

SG_OF = {s: SgReady[s.name] for s in SgState}
NO_REQUESTS = Requests()
SELF_USE = InverterMode.SELF_USE  # a global: reading it off the enum class every tick is slower


@dataclass
class LoopStats:
    ticks: int = 0
    writes: int = 0
    state: CoreState = field(default_factory=CoreState)  # the core's, to carry on a run


_new = object.__new__
_set = object.__setattr__
F = TypeVar("F")


def _frozen(cls: type[F], fields: dict[str, Any]) -> F:
    """An instance of the frozen dataclass cls holding `fields` (every field, in order),
    as cls(**fields) makes it, without its __init__'s one guarded setattr per field: the
    image's seven objects are made every tick. Only for classes without __post_init__."""
    obj = _new(cls)
    _set(obj, "__dict__", fields)
    return obj


def image_of(house: House, requests: Requests | None = None) -> ProcessImage:
    s = house.state
    reading = _frozen(
        InverterReading,
        {
            "grid_power_w": s.grid_w,
            "battery_power_w": s.battery_w,
            "battery_soc_pct": s.soc_pct,
            "load_power_w": s.load_w + s.dab_w + s.heater_w + s.heat_pump_w,
            "pv_power_w": s.pv_w,
        },
    )
    charge_w, discharge_w = house.bms_limits_ac_w
    bms = _frozen(BmsReading, {"charge_limit_w": charge_w, "discharge_limit_w": discharge_w})
    loads = _frozen(
        LoadsReading,
        {
            "heater_w": s.heater_w,
            "heat_pump_w": s.heat_pump_w,
            "tank_temp_degc": house.tank.temp_degc,
        },
    )
    return _frozen(
        ProcessImage,
        {
            "t_s": s.t_s,
            "inverter": _frozen(Sample, {"value": reading, "age_s": 0.0}),
            "dab": None,
            "bms": _frozen(Sample, {"value": bms, "age_s": 0.0}),
            "loads": _frozen(Sample, {"value": loads, "age_s": 0.0}),
            "requests": requests or NO_REQUESTS,
            "plan": None,
        },
    )


@runtime_checkable
class MeteredPlanner(Protocol):
    """A planner that is told the meters every tick and reads the whole House only when it
    re-plans: the same steps as calling it with the House (run's `plan`), but the C plant
    copies its state out only for a re-plan, not every tick."""

    def __call__(self, house: House) -> PlannedSlot | None: ...

    def observe(self, t_s: float, load_w: float, pv_w: float, soc_pct: float) -> bool:
        """The meters at t_s: True when the planner needs the House now (replan_due)."""
        ...

    def replan_due(self, house: House) -> None: ...

    def slot(self, t_s: float) -> PlannedSlot | None: ...


def run(
    house: House,
    cfg: CoreConfig,
    seconds: float,
    tick_s: float = 1.0,
    plant_dt_s: float = 1.0,
    state: CoreState | None = None,
    requests: Requests | None = None,
    on_step: Callable[[House], None] | None = None,
    plan: Callable[[House], PlannedSlot | None] | None = None,
    record: house_c.Recorder | None = None,
) -> LoopStats:
    """Run the closed loop for `seconds` of simulated time, from the core's `state` (a
    previous run's LoopStats.state) or from a fresh start. on_step: called after every
    plant step; plan: the planner's slot for the image, each tick; record: a row of
    every plant step (a benchmark's trace), without bringing the House up to date each
    step when the plant steps in C (a MeteredPlanner is told the meters each tick and
    given the House only to re-plan)."""
    state = state or CoreState()
    cfg = replace(cfg, dab_enabled=False)  # this plant has no DAB board (nor its data)
    per_tick = max(1, round(tick_s / plant_dt_s))
    ticks = round(seconds / (per_tick * plant_dt_s))
    if house_c.wanted() and house_c.unsupported(house) is None:
        return _run_c(
            house, cfg, ticks, per_tick, plant_dt_s, state, requests, on_step, plan, record
        )
    stats = LoopStats()
    # The External diverter takes the supervisor's setpoint (house.set_diverter_w).
    external = house.diverter if isinstance(house.diverter, External) else None
    inverter, heat_pump = house.inverter, house.heat_pump
    last_mode, last_w = None, 0.0  # the last inverter command written
    core_sg, sg = None, SgReady.NORMAL
    for _ in range(ticks):
        image = image_of(house, requests)
        if plan is not None:
            image = replace(image, plan=plan(house))
        sp, state = decide(image, cfg, state)
        cmd = sp.inverter
        # A write when the command changes (InverterCommand's ==, field by field).
        if cmd.mode is not last_mode or cmd.battery_power_w != last_w:
            if cmd.mode is SELF_USE:
                house.command_auto()
            else:
                house.command_passive(cmd.battery_power_w)
            stats.writes += 1
            last_mode, last_w = cmd.mode, cmd.battery_power_w
        else:
            inverter.heartbeat(house.state.t_s)
        if external is not None:
            external.setpoint_w = sp.diverter_w
        if sp.sg_ready is not core_sg:
            core_sg = sp.sg_ready
            sg = SG_OF[core_sg]
        if heat_pump.state is not sg:
            house.set_sg_ready(sg)
        for _ in range(per_tick):
            house.step(plant_dt_s)
            if record is not None:
                record.row(house)
            if on_step is not None:
                on_step(house)
        stats.ticks += 1
    stats.state = state
    return stats


def _image_c(c: Any, requests: Requests | None, plan: PlannedSlot | None = None) -> ProcessImage:
    """image_of(house) read from the house's state in C (house_c.CHouse.c), with the
    planner's slot."""
    heater_w, heat_pump_w = c.heater_w, c.heat_pump_w
    reading = _frozen(
        InverterReading,
        {
            "grid_power_w": c.grid_w,
            "battery_power_w": c.battery_w,
            "battery_soc_pct": c.soc_pct,
            "load_power_w": c.load_w + c.dab_w + heater_w + heat_pump_w,
            "pv_power_w": c.pv_w,
        },
    )
    bms = _frozen(
        BmsReading, {"charge_limit_w": c.bms_charge_w, "discharge_limit_w": c.bms_discharge_w}
    )
    loads = _frozen(
        LoadsReading,
        {"heater_w": heater_w, "heat_pump_w": heat_pump_w, "tank_temp_degc": c.tank.temp_degc},
    )
    return _frozen(
        ProcessImage,
        {
            "t_s": c.t_s,
            "inverter": _frozen(Sample, {"value": reading, "age_s": 0.0}),
            "dab": None,
            "bms": _frozen(Sample, {"value": bms, "age_s": 0.0}),
            "loads": _frozen(Sample, {"value": loads, "age_s": 0.0}),
            "requests": requests or NO_REQUESTS,
            "plan": plan,
        },
    )


def _run_c(
    house: House,
    cfg: CoreConfig,
    ticks: int,
    per_tick: int,
    plant_dt_s: float,
    state: CoreState,
    requests: Requests | None,
    on_step: Callable[[House], None] | None,
    plan: Callable[[House], PlannedSlot | None] | None,
    record: house_c.Recorder | None,
) -> LoopStats:
    """run()'s loop with the plant stepped in C (house_c): the same decisions and writes
    in the same order. The House's own objects are brought up to date before every
    on_step and plan call (a MeteredPlanner's re-plans only) and a full record's on_full
    (they read it; they must not change it) and at the end; C writes the record's rows as
    it steps."""
    stats = LoopStats()
    plant = house_c.CHouse(house)
    c = plant.c
    resume, lib_step = plant.resume, lib.edge_sim_house_step
    heartbeat = lib.edge_sim_house_heartbeat
    external = isinstance(house.diverter, External)
    hp = c.heat_pump
    last_mode, last_w = None, 0.0  # the last inverter command written
    core_sg, sg = None, SgReady.NORMAL.value
    if record is not None:
        c.record = record.c
    left = record.size - record.k if record is not None else -1  # rows until full (none: never 0)
    metered = plan if isinstance(plan, MeteredPlanner) else None
    try:
        for _ in range(ticks):
            slot = None
            if metered is not None:
                t_s = c.t_s
                if metered.observe(t_s, c.load_w, c.pv_w, c.soc_pct):
                    plant.store()
                    metered.replan_due(house)
                slot = metered.slot(t_s)
            elif plan is not None:
                plant.store()
                slot = plan(house)
            image = _image_c(c, requests, slot)
            sp, state = decide(image, cfg, state)
            cmd = sp.inverter
            if cmd.mode is not last_mode or cmd.battery_power_w != last_w:
                if cmd.mode is SELF_USE:
                    plant.command_auto()
                else:
                    plant.command_passive(cmd.battery_power_w)
                stats.writes += 1
                last_mode, last_w = cmd.mode, cmd.battery_power_w
            else:
                heartbeat(c)
            if external:
                c.diverter.setpoint_w = sp.diverter_w
            if sp.sg_ready is not core_sg:
                core_sg = sp.sg_ready
                sg = SG_OF[core_sg].value
            if hp.sg != sg:
                lib.edge_sim_house_set_sg(c, sg)
            for _ in range(per_tick):
                rc = lib_step(c, plant_dt_s)
                if rc:
                    resume(rc, plant_dt_s)  # a new day's traces first (or a bound's error)
                left -= 1
                if not left:
                    assert record is not None
                    plant.store()
                    record.full(house)
                    left = record.size
                if on_step is not None:
                    plant.store()
                    on_step(house)
            stats.ticks += 1
    finally:
        c.record = ffi.NULL
        plant.store()
    stats.state = state
    return stats
