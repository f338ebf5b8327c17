"""`edge plan`: the plan the site's tariff gives, as text and (`--png`) as a chart of
the next 24 h. With no forecast clients yet, its inputs are what the command is told: the
SOC now, a flat household load and no PV (docs/planner.md says what is still to come).
Pure but for the caller's clock (and the PNG's file)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from edge.config import EdgeConfig
from edge.core.model import PlanBattery
from edge.planner.actions import problems, slots
from edge.planner.chart import WINDOW_H, PlanSeries, figure, write_png
from edge.planner.model import BatteryModel, Forecast, Plan, PlanInputs, PlanState, solve
from edge.planner.prices import tariff_of
from edge.planner.tariffs import SLOT_S

KIND_SHOWN = {
    "self_consumption": "self-consumption",
    "hold": "hold",
    "grid_charge": "grid charge",
    "export": "export",
}


def inputs_for(
    cfg: EdgeConfig, now_s: float, soc_pct: float, load_w: float, hours: float
) -> tuple[PlanInputs, list[str]]:
    """The planner's inputs for the site: its tariff and battery, a flat load, no PV."""
    tariff, problems_ = tariff_of(cfg.tariff)
    t0 = math.floor(now_s / SLOT_S) * SLOT_S
    n = max(1, round(hours * 3600.0 / SLOT_S))
    imp, exp = tariff.prices(t0, n, SLOT_S)
    fc = Forecast(t0, SLOT_S, (0.0,) * n, (load_w,) * n, (10.0,) * n, (0.0,) * n)
    battery = BatteryModel(
        capacity_wh=float(cfg.battery.capacity_wh),
        max_charge_w=float(cfg.inverter.max_charge_w),
        max_discharge_w=float(cfg.inverter.max_discharge_w),
        reserve_soc_pct=cfg.battery.reserve_soc_pct,
        max_soc_pct=cfg.battery.max_soc_pct,
        wear_gbp_per_kwh=cfg.planner.wear_p_per_kwh / 100.0,
    )
    state = PlanState(soc_pct, 45.0, 20.0)
    return PlanInputs(fc, tuple(imp), tuple(exp), state, battery), problems_


def text(plan: Plan, inp: PlanInputs) -> str:
    """One line a slot: its start (UTC), the import price, the action, the SOC planned."""
    lines = [
        f"plan: {len(plan.soc_pct)} slots of {plan.slot_s / 60:g} min, cost £{plan.cost_gbp:.2f}"
        f" (bill £{plan.bill_gbp:.2f}), solved in {1000 * plan.solve_s:.0f} ms ({plan.status})",
        "start (UTC)       import p/kWh  action            power W  SOC %",
    ]
    for i, s in enumerate(slots(plan, None, inp.import_gbp_per_kwh)):
        start = dt.datetime.fromtimestamp(s.start_s, dt.UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(
            f"{start}  {100 * inp.import_gbp_per_kwh[i]:12.2f}  {KIND_SHOWN[s.battery.value]:16}"
            f"  {plan.battery_w[i]:7.0f}  {plan.soc_pct[i]:5.1f}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Planned:
    """What `edge plan` made: the lines before the plan (the tariff, its warnings), the
    plan (None where there is none, `why` says so) and its inputs."""

    head: list[str]
    plan: Plan | None
    inp: PlanInputs
    why: str


def plan_for(cfg: EdgeConfig, now_s: float, soc_pct: float, load_w: float, hours: float) -> Planned:
    """The plan from now_s (Unix s); a plan that fails validation is not kept."""
    inp, warnings = inputs_for(cfg, now_s, soc_pct, load_w, hours)
    head = [f"tariff: {cfg.tariff.kind}"] + [f"warning: {w}" for w in warnings]
    plan = solve(inp)
    if plan is None:
        return Planned(head, None, inp, "no plan: HiGHS found none in its time limit")
    bad = problems(plan, inp)
    if bad:
        return Planned(head, None, inp, "plan discarded: " + "; ".join(bad))
    return Planned(head, plan, inp, "")


def plan_text(cfg: EdgeConfig, now_s: float, soc_pct: float, load_w: float, hours: float) -> str:
    """The whole of `edge plan`'s output; a plan that fails validation is shown as such."""
    made = plan_for(cfg, now_s, soc_pct, load_w, hours)
    if made.plan is None:
        return "\n".join([*made.head, made.why])
    return "\n".join([*made.head, text(made.plan, made.inp)])


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


def plan_png(made: Planned, now_s: float, load_w: float, path: Path) -> None:
    """The next 24 h of a plan made (made.plan not None) as a PNG at path."""
    assert made.plan is not None
    series = series_of(made.plan, made.inp).window(now_s, WINDOW_H)
    start = dt.datetime.fromtimestamp(series.start_utc_s[0], dt.UTC)
    title = (
        f"edge plan, {made.head[0].removeprefix('tariff: ')} tariff: the next"
        f" {series.n * series.slot_s / 3600:g} h from {start:%a %d %b %H:%M} UTC\n"
        f"from SOC {made.inp.state.soc_pct:g} % now, a flat {load_w:g} W load and no PV"
    )
    write_png(figure(series, title), path)
