"""Lifetime energy totals: integrated from the readings, kept across a restart, and
announced to Home Assistant as total_increasing kWh on their own topic."""

from __future__ import annotations

import json

import pytest

from edge.core.model import InverterReading, LoadsReading, ProcessImage, Sample
from edge.energy import EnergyTotals
from edge.mqtt.discovery import DeviceIds, Topics, discovery_messages


def image(
    grid_w: float, battery_w: float, pv_w: float, heater_w: float, load_w: float = 500.0
) -> ProcessImage:
    inv = Sample(InverterReading(grid_w, battery_w, 50.0, load_w, pv_w), 0.0)
    return ProcessImage(0.0, inv, None, loads=Sample(LoadsReading(heater_w, 0.0, 50.0), 0.0))


def test_totals_integrate_each_direction_and_survive_a_restart(tmp_path):
    db = str(tmp_path / "state.sqlite")
    e = EnergyTotals(db)
    for _ in range(3600):  # an hour: importing 500 W, discharging 1 kW, 2 kW PV, 300 W heater
        e.add(image(500.0, 1000.0, 2000.0, 300.0), 1.0)
    for _ in range(1800):  # half an hour exporting 200 W while charging 3 kW
        e.add(image(-200.0, -3000.0, 4000.0, 0.0), 1.0)
    e.close()
    again = EnergyTotals(db)
    assert again.kwh["grid_import_kwh"] == pytest.approx(0.5)
    assert again.kwh["grid_export_kwh"] == pytest.approx(0.1)
    assert again.kwh["battery_discharge_kwh"] == pytest.approx(1.0)
    assert again.kwh["battery_charge_kwh"] == pytest.approx(1.5)
    assert again.kwh["pv_kwh"] == pytest.approx(4.0)
    assert again.kwh["diverted_kwh"] == pytest.approx(0.3)
    again.add(image(100.0, 0.0, 0.0, 0.0), 36.0)
    assert again.doc(7.0)["grid_import_kwh"] == pytest.approx(0.501)
    again.close()


def test_the_energy_dashboard_entities():
    ids = DeviceIds("pi", "S1", "Home", devices=("diverter",))
    c = {
        uid: component
        for _t, p in discovery_messages(ids, Topics("homeassistant", "edge"))
        for uid, component in json.loads(p)["cmps"].items()
    }
    for uid in (
        "edge_pi_grid_import_kwh",
        "edge_pi_pv_kwh",
        "edge_pi_battery_charge_pv_kwh",
        "edge_pi_battery_charge_grid_kwh",
        "edge_pi_diverter_diverted_kwh",
    ):
        e = c[uid]
        assert (e["dev_cla"], e["unit_of_meas"], e["stat_cla"]) == (
            "energy",
            "kWh",
            "total_increasing",
        )
        assert e["stat_t"] == "edge/energy"


def test_the_charge_is_split_by_its_source():
    e = EnergyTotals()
    # An hour charging 3 kW with 2 kW of PV over a 500 W load: 1.5 kW from PV, 1.5 from grid.
    for _ in range(3600):
        e.add(image(1500.0, -3000.0, 2000.0, 0.0), 1.0)
    assert e.kwh["battery_charge_pv_kwh"] == pytest.approx(1.5)
    assert e.kwh["battery_charge_grid_kwh"] == pytest.approx(1.5)
    # Half an hour with PV well above the charge: all of it from PV.
    for _ in range(1800):
        e.add(image(-2000.0, -1000.0, 4000.0, 0.0, load_w=1000.0), 1.0)
    assert e.kwh["battery_charge_pv_kwh"] == pytest.approx(2.0)
    # Night: PV below the load, so a charge is all grid; a discharge counts in neither.
    for _ in range(3600):
        e.add(image(2500.0, -2000.0, 100.0, 0.0), 1.0)
        e.add(image(0.0, 800.0, 0.0, 0.0), 0.0)
    assert e.kwh["battery_charge_grid_kwh"] == pytest.approx(3.5)
    assert e.kwh["battery_charge_pv_kwh"] + e.kwh["battery_charge_grid_kwh"] == pytest.approx(
        e.kwh["battery_charge_kwh"]
    )
    e.close()
