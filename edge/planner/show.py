"""`edge plan`: the plan the site's tariff gives, as text and (`--png`) as a chart of
the next 24 h. Its inputs are what the command is told, not the sources' forecasts: the
SOC now, a flat household load, no PV, a flat outside temperature; the tank (where the
site has the diverter) from its temperature now, and the heat pump's house (where the
site describes it in [planner.house]) from an indoor temperature now, if one is given.
Pure but for the caller's clock (and the PNG's file)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from edge.config import EdgeConfig
from edge.core.model import PlanBattery
from edge.planner.actions import HeatPumpBands, problems, slots
from edge.planner.chart import WINDOW_H, PlanSeries, figure, write_png
from edge.planner.model import Forecast, Plan, PlanInputs, PlanState, solve
from edge.planner.prices import tariff_of
from edge.planner.site import bands_of, battery_of, house_of, tank_of
from edge.planner.status import HP_THERMOSTAT
from edge.planner.tariffs import SLOT_S

KIND_SHOWN = {
    "self_consumption": "self-consumption",
    "hold": "hold",
    "grid_charge": "grid charge",
    "export": "export",
}


@dataclass(frozen=True)
class Asked:
    """What `edge plan` is told about now: the battery's SOC, a flat household load and
    outside temperature over the horizon, the tank's temperature, and the house's (None:
    the heat pump is not planned)."""

    soc_pct: float = 50.0
    load_w: float = 400.0
    t_out_degc: float = 10.0
    tank_degc: float = 45.0
    indoor_degc: float | None = None


def inputs_for(
    cfg: EdgeConfig, now_s: float, asked: Asked, hours: float
) -> tuple[PlanInputs, list[str]]:
    """The planner's inputs for the site: its tariff, battery and (where it has them) the
    tank and the heat pump's house, a flat load and outside temperature, no PV. The
    warnings say why the heat pump is left out where the site has one."""
    tariff, problems_ = tariff_of(cfg.tariff)
    t0 = math.floor(now_s / SLOT_S) * SLOT_S
    n = max(1, round(hours * 3600.0 / SLOT_S))
    imp, exp = tariff.prices(t0, n, SLOT_S)
    fc = Forecast(t0, SLOT_S, (0.0,) * n, (asked.load_w,) * n, (asked.t_out_degc,) * n, (0.0,) * n)
    house = house_of(cfg)
    if house is not None and asked.indoor_degc is None:
        problems_.append("heat pump not planned: give the house's temperature now (--indoor-degc)")
        house = None
    state = PlanState(
        asked.soc_pct,
        asked.tank_degc,
        asked.indoor_degc if asked.indoor_degc is not None else 20.0,
    )
    inp = PlanInputs(fc, tuple(imp), tuple(exp), state, battery_of(cfg), tank_of(cfg), house)
    return inp, problems_


def text(plan: Plan, inp: PlanInputs, bands: HeatPumpBands | None = None) -> str:
    """One line a slot: its start (UTC), the import price, the battery's action, its
    power and the SOC planned; the tank's element (W, and "grid" where it heats from the
    grid) and the heat pump (W, and its SG-Ready request, or "thermostat" where the slot
    asks nothing: as Home Assistant's plan_heat_pump shows it) where the inputs model them."""
    tank, house = inp.tank is not None, inp.house is not None
    head = "start (UTC)       import p/kWh  action            power W  SOC %"
    head += "  tank W" if tank else ""
    head += "  heat pump W  SG-Ready" if house else ""
    lines = [
        f"plan: {len(plan.soc_pct)} slots of {plan.slot_s / 60:g} min, cost £{plan.cost_gbp:.2f}"
        f" (bill £{plan.bill_gbp:.2f}), solved in {1000 * plan.solve_s:.0f} ms ({plan.status})",
        head,
    ]
    for i, s in enumerate(slots(plan, bands, inp.import_gbp_per_kwh)):
        start = dt.datetime.fromtimestamp(s.start_s, dt.UTC).strftime("%Y-%m-%d %H:%M")
        line = (
            f"{start}  {100 * inp.import_gbp_per_kwh[i]:12.2f}  {KIND_SHOWN[s.battery.value]:16}"
            f"  {round(plan.battery_w[i]):7d}  {plan.soc_pct[i]:5.1f}"  # an int: no -0
        )
        if tank:
            line += f"  {round(plan.tank_w[i]):6d}" + (" grid" if s.tank_from_grid else "")
        if house:
            pad = "     " if tank and not s.tank_from_grid else ""
            sg = s.heat_pump.value if s.heat_pump is not None else HP_THERMOSTAT
            line += f"{pad}  {round(plan.hp_w[i]):11d}  {sg}"
        lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class Planned:
    """What `edge plan` made: the lines before the plan (the tariff, its warnings), the
    plan (None where there is none, `why` says so) and its inputs."""

    head: list[str]
    plan: Plan | None
    inp: PlanInputs
    why: str


def plan_for(cfg: EdgeConfig, now_s: float, asked: Asked, hours: float) -> Planned:
    """The plan from now_s (Unix s); a plan that fails validation is not kept."""
    inp, warnings = inputs_for(cfg, now_s, asked, hours)
    head = [f"tariff: {cfg.tariff.kind}"] + [f"warning: {w}" for w in warnings]
    plan = solve(inp)
    if plan is None:
        return Planned(head, None, inp, "no plan: HiGHS found none in its time limit")
    bad = problems(plan, inp)
    if bad:
        return Planned(head, None, inp, "plan discarded: " + "; ".join(bad))
    return Planned(head, plan, inp, "")


def plan_text(cfg: EdgeConfig, now_s: float, asked: Asked, hours: float) -> str:
    """The whole of `edge plan`'s output; a plan that fails validation is shown as such."""
    return plan_text_of(plan_for(cfg, now_s, asked, hours), cfg)


def plan_text_of(made: Planned, cfg: EdgeConfig) -> str:
    """A plan made, as `edge plan` prints it (the SG-Ready requests from the site's bands)."""
    if made.plan is None:
        return "\n".join([*made.head, made.why])
    bands = bands_of(cfg) if made.inp.house is not None else None
    return "\n".join([*made.head, text(made.plan, made.inp, bands)])


def series_of(plan: Plan, inp: PlanInputs) -> PlanSeries:
    """A solved plan slot by slot, as the chart draws it (the tank and the heat pump where
    the inputs model them)."""
    n = len(plan.soc_pct)
    return PlanSeries(
        start_utc_s=tuple(plan.t0_s + i * plan.slot_s for i in range(n)),
        slot_s=plan.slot_s,
        import_p_per_kwh=tuple(100.0 * p for p in inp.import_gbp_per_kwh),
        export_p_per_kwh=tuple(100.0 * p for p in inp.export_gbp_per_kwh),
        battery_w=plan.battery_w,
        soc_pct=plan.soc_pct,
        tank_w=plan.tank_w if inp.tank is not None else None,
        heat_pump_w=plan.hp_w if inp.house is not None else None,
        action=tuple(PlanBattery(s.battery) for s in slots(plan, None, inp.import_gbp_per_kwh)),
    )


def plan_png(made: Planned, now_s: float, asked: Asked, path: Path) -> None:
    """The next 24 h of a plan made (made.plan not None) as a PNG at path."""
    assert made.plan is not None
    series = series_of(made.plan, made.inp).window(now_s, WINDOW_H)
    start = dt.datetime.fromtimestamp(series.start_utc_s[0], dt.UTC)
    house = f", the house {asked.indoor_degc:g} °C" if made.inp.house is not None else ""
    title = (
        f"edge plan, {made.head[0].removeprefix('tariff: ')} tariff: the next"
        f" {series.n * series.slot_s / 3600:g} h from {start:%a %d %b %H:%M} UTC\n"
        f"from SOC {made.inp.state.soc_pct:g} %{house} now, a flat {asked.load_w:g} W load,"
        f" {asked.t_out_degc:g} °C outside and no PV"
    )
    write_png(figure(series, title), path)
