"""What the live planner (edge/planner/live.py) shows: the plan in force as the core's
slots on the supervisor's clock, its figures, and its last problem. Pure data and
functions of it (no numpy, no HiGHS), so the state document can read it on a Pi without
the planner's packages loaded.

Times: `made_s` and every slot's start and end are on the supervisor's clock (the image's
t_s); `slots_utc_s` holds each slot's start as Unix seconds (UTC) for the chart. Money in
£, + = paid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from edge.core.model import PlanBattery, PlannedSlot

SHOWN = {
    PlanBattery.SELF_CONSUMPTION: "self-consumption",
    PlanBattery.HOLD: "hold",
    PlanBattery.GRID_CHARGE: "grid charge",
    PlanBattery.EXPORT: "export",
}
NO_SLOT = "no slot for now"  # past the plan's end
# What the plan asks of the heat pump now, besides an SG-Ready state's value.
HP_NOT_PLANNED = "not planned"  # no plan, or one made without the house (planner.house)
HP_THERMOSTAT = "thermostat"  # the slot asks nothing: its thermostat and the surplus rule


@dataclass(frozen=True)
class PlanFigures:
    """One plan's slots and figures. soc_pct: the SOC planned at each slot's end."""

    made_s: float  # the supervisor's clock
    made_utc_s: float  # Unix seconds
    slots: tuple[PlannedSlot, ...]  # on the supervisor's clock
    slots_utc_s: tuple[float, ...]  # each slot's start, Unix seconds
    soc_pct: tuple[float, ...]
    battery_w: tuple[float, ...]  # + = discharge
    grid_w: tuple[float, ...]  # + = import
    tank_w: tuple[float, ...]
    import_p_per_kwh: tuple[float, ...]
    export_p_per_kwh: tuple[float, ...]
    cost_today_gbp: float  # the planned bill from now to the site's midnight
    cost_tomorrow_gbp: float | None  # the next local day's, where the horizon covers it all
    saving_gbp: float  # over the horizon, against plain self-consumption on the same forecast
    solve_ms: float
    # Where the plan has the house (planner.house): the heat pump's electrical power and
    # the house's temperature at each slot's end (degC); empty without it.
    hp_w: tuple[float, ...] = ()
    house_degc: tuple[float, ...] = ()


@dataclass
class PlanStatus:
    """The planner's state for the state document: the plan in force (None before the
    first good one) and the last problem (None: the last plan was made and kept, the heat
    pump in it if the site describes one; a kept plan without it says why here)."""

    figures: PlanFigures | None = None
    problem: str | None = None
    plans_made: int = 0
    plans_discarded: int = 0

    def current(self, t_s: float) -> PlannedSlot | None:
        """The slot covering t_s (the supervisor's clock), if any."""
        if self.figures is None:
            return None
        for s in self.figures.slots:
            if s.start_s <= t_s < s.end_s:
                return s
        return None

    def next_change(self, t_s: float) -> PlannedSlot | None:
        """The first later slot whose battery action differs from the one in force."""
        now = self.current(t_s)
        if self.figures is None or now is None:
            return None
        for s in self.figures.slots:
            if s.start_s > t_s and s.battery is not now.battery:
                return s
        return None

    def shown(self, t_s: float) -> dict[str, Any]:
        """The state document's plan fields at t_s (the entities of edge/mqtt/entities.py)."""
        f = self.figures
        out: dict[str, Any] = {"plan_problem": (self.problem or "none")[:250]}
        if f is None:
            out["plan_action"] = "no plan"
            out["plan_heat_pump"] = HP_NOT_PLANNED
            return out
        out["plan_age_s"] = round(t_s - f.made_s)
        now = self.current(t_s)
        out["plan_action"] = SHOWN[now.battery] if now is not None else NO_SLOT
        out["plan_heat_pump"] = heat_pump_request(f, now)
        nxt = self.next_change(t_s)
        if nxt is not None:
            k = f.slots.index(nxt)
            out["plan_next_action"] = SHOWN[nxt.battery]
            out["plan_next_action_at"] = iso_utc(f.slots_utc_s[k])
        else:
            out["plan_next_action"] = out["plan_action"]
        if now is not None:
            out["plan_target_soc_pct"] = round(f.soc_pct[f.slots.index(now)], 1)
        out["plan_cost_today_gbp"] = round(f.cost_today_gbp, 2)
        if f.cost_tomorrow_gbp is not None:
            out["plan_cost_tomorrow_gbp"] = round(f.cost_tomorrow_gbp, 2)
        out["plan_saving_gbp"] = round(f.saving_gbp, 2)
        return out


def heat_pump_request(f: PlanFigures, now: PlannedSlot | None) -> str:
    """What the plan asks of the heat pump in the slot now: an SG-Ready state's value
    (lock, normal, recommend, force), HP_THERMOSTAT where the slot asks nothing,
    HP_NOT_PLANNED where the plan was made without the house, NO_SLOT past its end."""
    if not f.house_degc:
        return HP_NOT_PLANNED
    if now is None:
        return NO_SLOT
    return now.heat_pump.value if now.heat_pump is not None else HP_THERMOSTAT


def iso_utc(unix_s: float) -> str:
    """2025-01-06T10:00:00Z."""
    return dt.datetime.fromtimestamp(unix_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_document(f: PlanFigures) -> dict[str, Any]:
    """The whole plan as JSON attributes (Home Assistant's json_attributes_topic), slot by
    slot in columns a chart card can draw (`start[i]` with `soc_pct[i]`, ...): a 48 h plan
    stays well under 16 kB, the most of an entity's attributes Home Assistant's recorder
    keeps."""
    n = range(len(f.slots))
    house: dict[str, Any] = {}
    if f.house_degc:
        house = {
            "heat_pump_w": [round(f.hp_w[i]) for i in n],
            "house_degc": [round(f.house_degc[i], 1) for i in n],
        }
    return {
        "made": iso_utc(f.made_utc_s),
        "slot_s": round(f.slots[0].end_s - f.slots[0].start_s) if f.slots else 0,
        "cost_today_gbp": round(f.cost_today_gbp, 2),
        "cost_tomorrow_gbp": (
            round(f.cost_tomorrow_gbp, 2) if f.cost_tomorrow_gbp is not None else None
        ),
        "saving_gbp": round(f.saving_gbp, 2),
        "solve_ms": round(f.solve_ms, 1),
        "start": [iso_utc(t) for t in f.slots_utc_s],
        "action": [s.battery.value for s in f.slots],
        "soc_pct": [round(f.soc_pct[i], 1) for i in n],
        "battery_w": [round(f.battery_w[i]) for i in n],
        "grid_w": [round(f.grid_w[i]) for i in n],
        "tank_w": [round(f.tank_w[i]) for i in n],
        "import_p": [round(f.import_p_per_kwh[i], 2) for i in n],
        "export_p": [round(f.export_p_per_kwh[i], 2) for i in n],
        # the SG-Ready request a slot makes (None: the heat pump's own thermostat)
        "heat_pump": [s.heat_pump.value if s.heat_pump is not None else None for s in f.slots],
        **house,
    }
