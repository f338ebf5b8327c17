"""PV from pvlib and the household load from richardsonpy, refined to 1 s."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import richardsonpy

from edge.sim.house import House, HouseParams
from edge.sim.load import APPLIANCES, HouseholdLoad, LoadParams
from edge.sim.pv import PvModel, PvParams, day_energy_kwh

MIDSUMMER, MIDWINTER = 172, 355


def test_clear_sky_pv_at_the_site_follows_sun_and_season():
    summer = PvModel(PvParams(kwp=5.0), MIDSUMMER, seed=1)
    winter = PvModel(PvParams(kwp=5.0), MIDWINTER, seed=1)
    # 5 kWp facing south at 35 deg, 52 N: a clear midsummer day is 25-40 kWh.
    assert 25.0 < day_energy_kwh(summer) < 40.0
    assert day_energy_kwh(winter) < day_energy_kwh(summer) / 2
    assert summer.power_w(1 * 3600.0) == 0.0  # night
    noon = summer.power_w(12 * 3600.0)
    assert 3000.0 < noon < 5000.0 * 0.85 + 1  # at most kWp x derate


def test_clouds_cut_the_energy_and_are_seeded():
    clear = day_energy_kwh(PvModel(PvParams(), MIDSUMMER, seed=1))
    cloudy = PvModel(PvParams(cloudiness=0.5), MIDSUMMER, seed=1)
    assert day_energy_kwh(cloudy) < 0.9 * clear
    again = PvModel(PvParams(cloudiness=0.5), MIDSUMMER, seed=1)
    other = PvModel(PvParams(cloudiness=0.5), MIDSUMMER, seed=2)
    noon = [12 * 3600.0 + s for s in range(0, 3600, 7)]
    assert [cloudy.power_w(t) for t in noon] == [again.power_w(t) for t in noon]
    assert [cloudy.power_w(t) for t in noon] != [other.power_w(t) for t in noon]


def test_household_load_is_seeded_plausible_and_has_1_s_appliance_steps():
    load = HouseholdLoad(LoadParams(), MIDSUMMER, seed=1)
    day = [load.power_w(float(s)) for s in range(86400)]
    assert 5.0 < sum(day) / 3.6e6 < 20.0  # kWh in a summer day, three people
    again = HouseholdLoad(LoadParams(), MIDSUMMER, seed=1)
    assert day == [again.power_w(float(s)) for s in range(86400)]
    kettles = [e for e in load.events if e[0] == "kettle"]
    assert kettles
    for _name, start, end in kettles:
        assert 120 <= end - start <= 180
        k = int(start)
        assert day[k + 1] - day[k - 1] > 2500.0  # a 3 kW step within a second
    _n, h0, _h1 = next(e for e in load.events if e[0] == "hob")
    hob = day[int(h0) : int(h0) + 60]
    assert max(hob) - min(hob) > 1500.0  # the induction hob cycles


def test_the_appliance_table_is_richardsonpys_with_only_ownership_changed():
    lib = Path(richardsonpy.__file__).parent / "inputs" / "Appliances.csv"
    ours = list(csv.reader(APPLIANCES.read_text(encoding="utf-8").splitlines(), delimiter=";"))
    theirs = list(
        csv.reader(lib.read_text(encoding="utf-8", errors="replace").splitlines(), delimiter=";")
    )
    assert len(ours) == len(theirs)
    for a, b in zip(ours[1:], theirs[1:], strict=True):
        assert a[1] == b[1] and a[3:] == b[3:]  # only column 2 (has appliance) differs
    owned = {row[1]: row[2] for row in ours[1:]}
    for modelled_elsewhere in (
        "Kettle",
        "Hob",
        "Washing machine",
        "Electric shower",
        "DESWH",
        "Storage heaters",
    ):
        assert owned[modelled_elsewhere] == "0"


def test_a_house_with_pvlib_and_richardsonpy_closes_its_energy_balance():
    p = HouseParams(pv=PvParams(cloudiness=0.3), load=LoadParams(), diverter="eddi")
    h = House(p, start_s=6 * 3600.0)
    for _ in range(3600):
        h.step(1.0)
    e = h.state.energy_wh
    supply = e["pv"] + e["import"] + e["battery_discharge"]
    demand = e["load"] + e["dab"] + e["heater"] + e["heat_pump"] + e["battery_charge"] + e["export"]
    assert supply == pytest.approx(demand, rel=1e-3)
    assert e["pv"] > 0 and e["load"] > 0
