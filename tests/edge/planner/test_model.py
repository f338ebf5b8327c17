"""The planning model: plans that a tariff would want, inside every limit, always."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.core import PlanBattery, SgState
from edge.planner import model
from edge.planner.actions import HeatPumpBands, off_plan, problems, slots
from edge.planner.model import (
    BatteryModel,
    Forecast,
    HouseModel,
    Plan,
    PlanInputs,
    PlanState,
    TankModel,
    solve,
)
from edge.planner.tariffs import preset

SLOT_S = 1800.0
N = 96  # 48 h
BATTERY = BatteryModel(capacity_wh=4800.0, max_charge_w=3000.0, max_discharge_w=3000.0)


def hour(k: int, slot_s: float = SLOT_S) -> float:
    return (k * slot_s / 3600.0) % 24.0


def inputs(
    tariff="economy7",
    soc=20.0,
    load=None,
    pv=None,
    n=N,
    slot_s=SLOT_S,
    tank=None,
    house=None,
    t_out=5.0,
    **kw,
):
    load = load or tuple(500.0 for _ in range(n))
    pv = pv or tuple(0.0 for _ in range(n))
    imp, exp = preset(tariff).prices(0.0, n, slot_s)
    fc = Forecast(0.0, slot_s, pv, load, (t_out,) * n, (0.0,) * n)
    state = PlanState(soc, 45.0, 20.0)
    return PlanInputs(fc, tuple(imp), tuple(exp), state, BATTERY, tank, house, **kw)


def test_economy7_charges_on_the_night_rate_and_covers_the_day():
    inp = inputs("economy7")
    plan = solve(inp)
    assert plan is not None and plan.status == "optimal"
    night = [k for k in range(N) if 0.5 <= hour(k) < 7.5]
    day = [k for k in range(N) if not 0.5 <= hour(k) < 7.5]
    assert sum(plan.charge_w[k] for k in night) * 0.5 > 3000.0  # Wh charged at night
    assert max(plan.charge_w[k] for k in day) < 1.0  # never at the day rate
    # The day's load comes from the battery while it lasts.
    assert sum(plan.discharge_w[k] for k in day) * 0.5 > 3000.0
    acts = slots(plan)
    assert any(a.battery is PlanBattery.GRID_CHARGE for a in acts[2:15])
    assert problems(plan, inp) == []


def test_among_slots_of_one_price_it_charges_in_the_first():
    # Economy 7's night is 14 slots at one price and the battery fills in 2 or 3 of them:
    # it fills from the night's first slot on, not in whichever slots the solver lands on.
    plan = solve(inputs("economy7", soc=50.0))
    assert plan is not None
    night = [k for k in range(N) if 0.5 <= hour(k) < 7.5][:14]
    charging = [k for k in night if plan.charge_w[k] > 1.0]
    assert charging == night[: len(charging)], charging
    assert plan.charge_w[night[0]] == pytest.approx(BATTERY.max_charge_w)
    assert plan.soc_pct[charging[-1]] == pytest.approx(100.0)


def test_keeps_the_battery_for_the_evening_peak():
    # 24 h from 07:00: 25 p, and 40 p from 16:00 to 19:00. The battery is worth 20 p at
    # the horizon's end, so without the peak it would cover the morning.
    n, t0 = 48, 7 * 3600.0
    h = [(t0 / 3600.0 + 0.5 * k) % 24 for k in range(n)]
    prices = tuple(0.40 if 16 <= x < 19 else 0.25 for x in h)
    load = tuple(2000.0 if 16 <= x < 19 else 300.0 for x in h)
    fc = Forecast(t0, SLOT_S, (0.0,) * n, load, (5.0,) * n, (0.0,) * n)
    inp = PlanInputs(
        fc, prices, (0.05,) * n, PlanState(60.0, 45.0, 20.0), BATTERY, terminal_gbp_per_kwh=0.2
    )
    plan = solve(inp)
    assert plan is not None
    peak = [k for k in range(n) if 16 <= h[k] < 19]
    before = [k for k in range(n) if 7 <= h[k] < 16]
    assert sum(plan.discharge_w[k] for k in before) < 1.0
    assert sum(plan.discharge_w[k] for k in peak) * 0.5 > 1800.0  # all it has above 20 %
    acts = slots(plan)
    # Held, or topped up from the grid at 25 p for the 40 p peak (25 / 0.95² < 40).
    kept = (PlanBattery.HOLD, PlanBattery.GRID_CHARGE)
    assert all(acts[k].battery in kept for k in before)
    assert any(acts[k].battery is PlanBattery.HOLD for k in before)
    flat = solve(dataclasses.replace(inp, import_gbp_per_kwh=(0.25,) * n))
    assert flat is not None and sum(flat.discharge_w) * 0.5 > 1800.0  # used, not kept


def test_a_soc_below_the_reserve_still_gives_a_plan():
    plan = solve(inputs("flat", soc=3.0))
    assert plan is not None
    assert plan.soc_pct[-1] >= BATTERY.reserve_soc_pct - 0.01  # it climbs back


def test_a_comfort_band_it_cannot_meet_still_gives_a_plan():
    house = HouseModel(heat_w=500.0)  # far too small for a cold house
    inp = dataclasses.replace(
        inputs("flat", house=house, t_out=-10.0), state=PlanState(50.0, 45.0, 12.0)
    )
    plan = solve(inp)
    assert plan is not None and min(plan.house_degc) < house.floor_degc
    assert min(plan.hp_w) > 0.0  # it heats flat out


def test_pre_heats_the_house_on_the_cheap_rate():
    house = HouseModel()
    inp = dataclasses.replace(
        inputs("economy7", house=house, t_out=0.0),
        battery=dataclasses.replace(BATTERY, capacity_wh=100.0),
    )
    plan = solve(inp)
    assert plan is not None
    night = [k for k in range(48) if 0.5 <= hour(k) < 7.5]
    day = [k for k in range(48) if 7.5 <= hour(k) < 24]
    per_slot_night = sum(plan.hp_w[k] for k in night) / len(night)
    per_slot_day = sum(plan.hp_w[k] for k in day) / len(day)
    assert per_slot_night > 1.5 * per_slot_day
    assert max(plan.house_degc[k] for k in night) > 20.5  # above the normal band
    acts = slots(plan, HeatPumpBands())
    assert any(acts[k].heat_pump in (SgState.RECOMMEND, SgState.FORCE) for k in night)
    # Asked for from the rise's first slot, while the house is still inside its normal
    # band: the thermostat alone would not start the heat pump there.
    rise = next(
        k for k in night if plan.hp_w[k] > 0 and plan.house_degc[k] > plan.house_degc[k - 1] + 0.05
    )
    assert plan.house_degc[rise] < HeatPumpBands().normal_top_degc
    assert all(acts[k].heat_pump is not None for k in range(rise, rise + 4))


def test_the_heat_pump_runs_at_least_its_minimum_share_of_a_slot_or_not_at_all():
    house = HouseModel(min_on_s=900.0)  # half a slot
    plan = solve(inputs("economy7", house=house, t_out=8.0))
    assert plan is not None
    for k, w in enumerate(plan.hp_w):
        full = house.heat_w / house.cop(8.0)
        assert w < 1e-6 or w >= 0.5 * full - 1e-6, (k, w)
    milp = solve(inputs("economy7", house=house, t_out=8.0, hp_on_off="milp"))
    assert milp is not None and milp.cost_gbp <= plan.cost_gbp + 1e-6


def test_negative_prices_heat_the_tank_from_the_grid_and_stay_bounded():
    series = tuple(-0.05 if 2 <= hour(k) < 4 else 0.25 for k in range(48))
    base = inputs("flat", n=48, tank=TankModel(heat_value_gbp_per_kwh=0.067))
    inp = dataclasses.replace(base, import_gbp_per_kwh=series)
    plan = solve(inp)
    assert plan is not None and math.isfinite(plan.cost_gbp)
    cheap = [k for k in range(48) if 2 <= hour(k) < 4]
    assert plan.tank_degc[cheap[-1]] > 59.5  # full by the end of the cheap hours
    assert sum(plan.charge_w[k] for k in cheap) > 5000.0
    assert any(a.tank_from_grid for a in slots(plan)[4:8])


def test_fifteen_minute_slots():
    plan = solve(inputs("economy7", n=4 * 36, slot_s=900.0))
    assert plan is not None and plan.slot_s == 900.0 and len(plan.soc_pct) == 144


def test_hysteresis_keeps_the_previous_plan_for_a_small_gain():
    free = solve(inputs("economy7", n=48))
    assert free is not None and max(free.charge_w) > 1000.0
    kept = solve(
        inputs("economy7", n=48, previous_battery_w=(0.0,) * 48, hysteresis_gbp_per_kwh=1.0)
    )
    assert kept is not None and max(map(abs, kept.battery_w)) < 1.0
    moved = solve(
        inputs("economy7", n=48, previous_battery_w=(0.0,) * 48, hysteresis_gbp_per_kwh=0.01)
    )
    assert moved is not None and max(moved.charge_w) > 1000.0


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"import_gbp_per_kwh": (0.1,) * 3}, "import_gbp_per_kwh: 3 values for 48 slots"),
        ({"export_gbp_per_kwh": (float("nan"),) * 48}, "export_gbp_per_kwh: not every"),
    ],
)
def test_malformed_inputs_are_named(change, fragment):
    with pytest.raises(ValueError, match=fragment):
        solve(dataclasses.replace(inputs("flat", n=48), **change))


def test_off_plan_when_the_soc_leaves_the_band():
    plan = solve(inputs("economy7", n=48))
    assert plan is not None
    assert not off_plan(plan, 1800.0, plan.soc_pct[0])
    assert off_plan(plan, 1800.0, plan.soc_pct[0] + 30.0)
    assert off_plan(plan, plan.end_s + 1.0, 50.0)  # past its end
    # Made mid-slot from 50 %: the first slot is measured from there, not from its end.
    end0 = plan.soc_pct[0]
    assert not off_plan(plan, 900.0, 50.0, start=(900.0, 50.0))
    assert off_plan(plan, 900.0, 50.0 + 11.0, start=(900.0, 50.0))
    assert off_plan(plan, 900.0, 50.0) == (abs(50.0 - end0) > 10.0)


@settings(max_examples=25, deadline=None)
@given(
    soc=st.floats(0, 100),
    prices=st.lists(st.floats(-0.5, 1.0), min_size=48, max_size=48),
    pv=st.lists(st.floats(0, 6000), min_size=48, max_size=48),
    load=st.lists(st.floats(0, 8000), min_size=48, max_size=48),
    tank_degc=st.floats(5, 80),
    house_degc=st.floats(5, 30),
)
def test_any_inputs_give_a_plan_inside_every_limit(soc, prices, pv, load, tank_degc, house_degc):
    base = inputs(
        "flat", n=48, tank=TankModel(), house=HouseModel(), pv=tuple(pv), load=tuple(load)
    )
    inp = dataclasses.replace(
        base,
        import_gbp_per_kwh=tuple(prices),
        export_gbp_per_kwh=tuple(p * 0.5 for p in prices),
        state=PlanState(soc, tank_degc, house_degc),
    )
    plan = solve(inp)
    assert plan is not None
    assert problems(plan, inp) == []
    for a in slots(plan, HeatPumpBands()):
        assert 0.0 <= a.target_soc_pct <= 100.0 and a.power_w <= 3000.0 + 1.0


def test_on_a_flat_tariff_the_slots_are_plain_self_consumption():
    """Keeping energy is only asked for where a later price pays for it: on a flat
    tariff every slot leaves the core to plain self-consumption, with no SOC floor."""
    inp = inputs("flat", soc=60.0, n=48)
    plan = solve(inp)
    assert plan is not None
    acts = slots(plan, HeatPumpBands(), inp.import_gbp_per_kwh)
    assert {a.battery for a in acts} == {PlanBattery.SELF_CONSUMPTION}
    assert all(a.target_soc_pct == 0.0 for a in acts)
    e7 = inputs("economy7", soc=60.0, n=48)
    plan = solve(e7)
    assert plan is not None
    acts = slots(plan, HeatPumpBands(), e7.import_gbp_per_kwh)
    assert any(a.battery is not PlanBattery.SELF_CONSUMPTION for a in acts)


def test_a_plan_made_mid_slot_plans_the_part_of_its_first_slot_left():
    """A re-plan a quarter of an hour into a slot: the first slot's energies are its
    remaining 15 minutes (the bill, the house's heat), the others whole slots."""
    load = (1000.0,) * N
    whole = solve(inputs("flat", load=load))
    part = solve(inputs("flat", load=load, first_slot_s=900.0))
    assert whole is not None and part is not None
    price = preset("flat").prices(0.0, 1, SLOT_S)[0][0]
    grid_kwh = sum(whole.grid_w) * 0.5 / 1000.0
    assert whole.bill_gbp == pytest.approx(price * grid_kwh, rel=1e-6)
    assert part.bill_gbp == pytest.approx(whole.bill_gbp - price * 0.25 * whole.grid_w[0] / 1000)
    # The house cools over 15 minutes in the first slot, not 30.
    house = HouseModel(heat_w=0.0001)
    cold = [solve(inputs("flat", house=house, t_out=0.0, first_slot_s=s)) for s in (None, 900.0)]
    assert cold[0] is not None and cold[1] is not None
    fall_whole, fall_part = (20.0 - p.house_degc[0] for p in cold)
    assert fall_part == pytest.approx(0.5 * fall_whole, rel=0.02)


def test_the_heat_pump_is_asked_to_run_on_the_pv_the_plan_gives_it():
    """Where the plan runs the heat pump on PV (the forecast surplus covers its draw) and
    the battery is full, RECOMMEND, else the core gives that surplus to the tank first;
    where the grid would feed it, the thermostat decides (None); where the plan leaves a
    surplus to the tank or the grid, LOCK or NORMAL (no boost on it)."""
    n = 3
    zeros = (0.0,) * n
    plan = Plan(
        t0_s=0.0,
        slot_s=SLOT_S,
        battery_w=zeros,
        charge_w=zeros,
        discharge_w=zeros,
        grid_w=(-1300.0, 1700.0, -2700.0),
        soc_pct=(97.0,) * n,  # full: the surplus has nowhere else to go but the tank
        tank_w=zeros,
        tank_degc=(45.0,) * n,
        hp_w=(1400.0, 1400.0, 0.0),
        house_degc=(20.0,) * n,  # kept, not raised: no pre-heat
        house0_degc=20.0,
        pv_w=(3000.0, 0.0, 3000.0),
        load_w=(300.0,) * n,
        cost_gbp=0.0,
        bill_gbp=0.0,
        solve_s=0.0,
        status="optimal",
    )
    acts = slots(plan, HeatPumpBands())
    # The last slot: the house kept above the floor without it: LOCK (no boost, no
    # thermostat's run); planned below the floor: NORMAL, the thermostat's call.
    assert [a.heat_pump for a in acts] == [SgState.RECOMMEND, None, SgState.LOCK]
    cold = dataclasses.replace(plan, house_degc=(20.0, 20.0, 19.3))
    assert slots(cold, HeatPumpBands())[2].heat_pump is SgState.NORMAL
    # With room in the battery, the core's battery takes the surplus: no request.
    room = dataclasses.replace(plan, soc_pct=(50.0,) * n)
    assert slots(room, HeatPumpBands())[0].heat_pump is None
    assert slots(plan)[0].heat_pump is None  # no bands: no heat pump to ask


def test_a_pre_heat_is_asked_for_only_where_it_stores_heat_worth_more_later():
    """A planned rise from the grid with no cheaper hour ahead (a flat tariff) gains only
    a COP: it is left to the thermostat; with a dearer hour ahead, from PV or from the
    battery, it is asked for."""
    n = 4
    zeros = (0.0,) * n
    rise = Plan(
        t0_s=0.0,
        slot_s=SLOT_S,
        battery_w=zeros,
        charge_w=zeros,
        discharge_w=zeros,
        grid_w=(1700.0,) * n,
        soc_pct=(20.0,) * n,
        tank_w=zeros,
        tank_degc=(45.0,) * n,
        hp_w=(1400.0, 1400.0, 1400.0, 0.0),
        house_degc=(20.3, 20.6, 20.9, 20.8),
        house0_degc=20.0,
        pv_w=zeros,
        load_w=(300.0,) * n,
        cost_gbp=0.0,
        bill_gbp=0.0,
        solve_s=0.0,
        status="optimal",
    )
    bands = HeatPumpBands()
    flat = (0.245,) * n
    assert slots(rise, bands, flat)[0].heat_pump is None
    dearer = (0.13, 0.13, 0.13, 0.30)
    assert slots(rise, bands, dearer)[0].heat_pump is SgState.RECOMMEND
    from_battery = dataclasses.replace(rise, discharge_w=(1700.0,) * n, grid_w=zeros)
    assert slots(from_battery, bands, flat)[0].heat_pump is SgState.RECOMMEND


def _house_plan(hp_w, house_degc, house0_degc, pv_w=None, soc_pct=50.0) -> Plan:
    """A plan of len(hp_w) slots of the heat pump and the house only (the load 300 W,
    the grid covering the rest)."""
    n = len(hp_w)
    zeros = (0.0,) * n
    pv = tuple(pv_w) if pv_w is not None else zeros
    return Plan(
        t0_s=0.0,
        slot_s=SLOT_S,
        battery_w=zeros,
        charge_w=zeros,
        discharge_w=zeros,
        grid_w=tuple(300.0 + h - p for h, p in zip(hp_w, pv, strict=True)),
        soc_pct=(soc_pct,) * n,
        tank_w=zeros,
        tank_degc=(45.0,) * n,
        hp_w=tuple(hp_w),
        house_degc=tuple(house_degc),
        house0_degc=house0_degc,
        pv_w=pv,
        load_w=(300.0,) * n,
        cost_gbp=0.0,
        bill_gbp=0.0,
        solve_s=0.0,
        status="optimal",
    )


def test_a_heat_pump_the_plan_leaves_off_above_the_floor_is_locked():
    """Where the plan does not run the heat pump and the house stays above the floor,
    LOCK: a thermostat's run would heat to its top at this slot's price. Where the plan
    lets the house below the floor, the thermostat decides (None)."""
    bands = HeatPumpBands()
    plan = _house_plan((0.0, 0.0, 0.0, 1500.0), (20.1, 19.7, 19.5, 19.5), 20.4)
    acts = [a.heat_pump for a in slots(plan, bands)]
    assert acts == [SgState.LOCK, SgState.LOCK, SgState.LOCK, None]
    colder = _house_plan((0.0, 0.0), (19.6, 19.3), 19.9)
    assert [a.heat_pump for a in slots(colder, bands)] == [SgState.LOCK, None]


def test_a_run_on_pv_from_above_recommends_start_point_is_forced():
    """RECOMMEND leaves a stopped heat pump stopped above its start point (21.5 degC):
    where the plan runs it on PV (the battery full) from a house above that, FORCE; from
    below, RECOMMEND."""
    bands = HeatPumpBands()
    warm = _house_plan((1500.0,), (21.72,), 21.7, pv_w=(2500.0,), soc_pct=98.0)
    assert slots(warm, bands)[0].heat_pump is SgState.FORCE
    cool = dataclasses.replace(warm, house_degc=(21.22,), house0_degc=21.2)
    assert slots(cool, bands)[0].heat_pump is SgState.RECOMMEND


@pytest.mark.parametrize("tariff", ["economy7", "go", "flat"])
def test_the_simplex_chosen_plans_as_highss_default_does(tariff, monkeypatch):
    """The primal simplex for the first LP is for speed only: the plans are the dual's."""
    pv = tuple(max(0.0, 4000.0 * math.sin(math.pi * (hour(k) - 6.0) / 12.0)) for k in range(N))
    inp = inputs(tariff, soc=35.0, pv=pv, tank=TankModel(), house=HouseModel(), t_out=2.0)
    chosen = solve(inp)
    monkeypatch.setattr(model, "SIMPLEX_FIRST", 1)
    default = solve(inp)
    assert chosen is not None and default is not None
    assert chosen.cost_gbp == pytest.approx(default.cost_gbp, rel=1e-9)
    for field in ("battery_w", "tank_w", "hp_w", "grid_w"):
        assert getattr(chosen, field) == pytest.approx(getattr(default, field), abs=1e-3), field
    assert max(chosen.hp_w) > 0.0 and max(chosen.battery_w) > 0.0  # every part in use


def test_a_rise_from_above_recommends_start_point_is_forced():
    """A planned rise that peaks between the normal band and RECOMMEND's top asks for
    RECOMMEND; from a house already above RECOMMEND's start point (21.5 degC) RECOMMEND
    would leave the heat pump stopped (the PV then went to the tank), so FORCE."""
    bands = HeatPumpBands()
    pv = (2500.0, 2500.0, 0.0)
    warm = _house_plan((1500.0, 1500.0, 0.0), (21.9, 22.2, 22.0), 21.7, pv_w=pv, soc_pct=98.0)
    assert slots(warm, bands)[0].heat_pump is SgState.FORCE
    cool = _house_plan((1500.0, 1500.0, 0.0), (21.4, 21.7, 21.5), 21.2, pv_w=pv, soc_pct=98.0)
    assert slots(cool, bands)[0].heat_pump is SgState.RECOMMEND


def test_where_export_pays_more_than_import_costs_it_does_not_buy_and_sell_at_once():
    """Agile at a negative wholesale price: import 2.2 W, export 0.95 W, so export pays
    more. One meter nets a slot's flows, so the plan's bill is its net flow's."""
    pv = tuple(3000.0 if 16 <= k < 24 else 0.0 for k in range(48))
    base = inputs("flat", n=48, pv=pv, tank=TankModel())
    imp = [0.20] * 48
    exp = [0.05] * 48
    for k in range(16, 24):  # 08:00 to 12:00: wholesale at -2 p
        imp[k], exp[k] = -0.044, -0.019
    inp = dataclasses.replace(base, import_gbp_per_kwh=tuple(imp), export_gbp_per_kwh=tuple(exp))
    plan = solve(inp)
    assert plan is not None
    kwh = SLOT_S / 3.6e6
    net_bill = sum(
        (g * i if g > 0 else g * e) * kwh for g, i, e in zip(plan.grid_w, imp, exp, strict=True)
    )
    assert plan.bill_gbp == pytest.approx(net_bill, abs=1e-6)


def test_a_horizon_whose_prices_average_below_zero_still_gives_a_plan():
    """The house's heat short at the end is valued from the horizon's mean price; below 0
    it must still cost at least what heat to spare earns, or the LP has no bound."""
    base = inputs("flat", n=48, house=HouseModel(), tank=TankModel())
    inp = dataclasses.replace(
        base, import_gbp_per_kwh=(-0.02,) * 48, export_gbp_per_kwh=(-0.03,) * 48
    )
    plan = solve(inp)
    assert plan is not None and problems(plan, inp) == []


def _sunny(n: int = N, t0_s: float = 0.0) -> tuple[float, ...]:
    return tuple(
        max(0.0, 4000.0 * math.sin(math.pi * (hour(k + round(t0_s / SLOT_S)) - 6.0) / 12.0))
        for k in range(n)
    )


def _later(inp: PlanInputs, slots_on: int, soc_pct: float, **kw) -> PlanInputs:
    """The re-plan slots_on slots later: the horizon moved on, the prices and the PV with
    it, a new SOC."""
    t0 = inp.forecast.t0_s + slots_on * SLOT_S
    n = inp.forecast.n
    imp, exp = preset("economy7").prices(t0, n, SLOT_S)
    fc = dataclasses.replace(inp.forecast, t0_s=t0, pv_w=_sunny(n, t0))
    state = dataclasses.replace(inp.state, soc_pct=soc_pct)
    return dataclasses.replace(
        inp,
        forecast=fc,
        import_gbp_per_kwh=tuple(imp),
        export_gbp_per_kwh=tuple(exp),
        state=state,
        **kw,
    )


def _same_plan(a: Plan | None, b: Plan | None) -> None:
    assert a is not None and b is not None
    assert a.cost_gbp == pytest.approx(b.cost_gbp, rel=1e-9, abs=1e-9)
    for name in ("battery_w", "tank_w", "hp_w", "grid_w"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-3), name


@pytest.mark.parametrize(("slots_on", "first_slot_s"), [(1, None), (0, 900.0), (3, 600.0)])
def test_a_re_plan_starts_from_the_last_plans_basis(slots_on, first_slot_s):
    """A warm start: the re-plan's first LP starts from the last plan's basis, its slots
    moved on, and finds the plan a cold start finds in a few iterations."""
    first = inputs(
        "economy7", soc=35.0, pv=_sunny(), tank=TankModel(), house=HouseModel(), t_out=2.0
    )
    plan = solve(first)
    assert plan is not None and plan.basis is not None and plan.iterations > 100
    again = _later(
        first,
        slots_on,
        38.0,
        previous_battery_w=plan.battery_w[slots_on:] + (None,) * slots_on,
        hysteresis_gbp_per_kwh=0.01,
        first_slot_s=first_slot_s,
    )
    cold = solve(again)
    warm = solve(dataclasses.replace(again, start=plan.basis))
    _same_plan(warm, cold)
    assert cold is not None and warm is not None
    assert warm.iterations < cold.iterations / 5, (warm.iterations, cold.iterations)


def test_a_warm_start_from_a_smaller_model_gives_the_cold_starts_plan():
    """The last plan had no tank, no heat pump and no hysteresis (the site file changed):
    the blocks it lacks start at their bounds (rows basic) and HiGHS completes the basis."""
    small = solve(inputs("economy7", soc=35.0, pv=_sunny()))
    assert small is not None
    big = _later(
        inputs("economy7", soc=35.0, pv=_sunny(), tank=TankModel(), house=HouseModel()),
        1,
        36.0,
        previous_battery_w=small.battery_w,
        hysteresis_gbp_per_kwh=0.01,
    )
    _same_plan(solve(dataclasses.replace(big, start=small.basis)), solve(big))
    # And back: a bigger model's basis for a smaller one.
    large = solve(big)
    assert large is not None
    back = _later(inputs("economy7", soc=35.0, pv=_sunny()), 2, 40.0)
    _same_plan(solve(dataclasses.replace(back, start=large.basis)), solve(back))
