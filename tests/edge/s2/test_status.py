"""The S2 links' states where Home Assistant and the menu show them (edge/s2/status.py, the
s2_*link sensors of edge/mqtt/entities.py, edge/menu/app.py)."""

from __future__ import annotations

from dataclasses import replace

from edge.config import EdgeConfig
from edge.menu.app import render_flows
from edge.mqtt.entities import SENSORS
from edge.mqtt.state import state_doc
from edge.s2.status import LinkState, LinkStatus
from tests.edge.mqtt.test_state import IMAGE, REQUESTS, SETPOINTS, devices


def test_the_link_state_is_a_sensor_only_where_s2_runs():
    status = LinkStatus()
    without = state_doc(IMAGE, SETPOINTS, devices(), REQUESTS, EdgeConfig())
    assert "s2_link" not in without
    with_s2 = replace(devices(), s2=status)
    assert state_doc(IMAGE, SETPOINTS, with_s2, REQUESTS, EdgeConfig())["s2_link"] == "connecting"
    status.state, status.control_type = LinkState.ACTIVE, "FRBC"
    assert state_doc(IMAGE, SETPOINTS, with_s2, REQUESTS, EdgeConfig())["s2_link"] == "active FRBC"
    status.state, status.control_type = LinkState.WAITING, None
    assert state_doc(IMAGE, SETPOINTS, with_s2, REQUESTS, EdgeConfig())["s2_link"] == "waiting"
    (row,) = [s for s in SENSORS if s.key == "s2_link"]
    assert (row.device, row.unit, row.state_class) == ("bridge", None, None)


def test_the_menu_shows_the_link_where_there_is_one():
    assert "S2" not in render_flows({"grid_power_w": 0.0})
    assert "S2 energy manager: active FRBC" in render_flows({"s2_link": "active FRBC"})


def test_every_session_has_a_sensor_of_its_own():
    battery = LinkStatus(LinkState.ACTIVE, "FRBC")
    tank = LinkStatus(LinkState.WAITING, label="tank")
    heat_pump = LinkStatus(LinkState.ACTIVE, "OMBC", label="heat pump")
    export = LinkStatus(LinkState.HANDSHAKE, label="export limit")
    some = replace(devices(), s2=battery, s2_more=(tank, export))
    doc = state_doc(IMAGE, SETPOINTS, some, REQUESTS, EdgeConfig())
    assert (doc["s2_link"], doc["s2_tank_link"], doc["s2_export_link"]) == (
        "active FRBC",
        "waiting",
        "handshake",
    )
    assert "s2_heat_pump_link" not in doc  # no heat pump session here
    every = replace(some, s2_more=(tank, heat_pump, export))
    doc = state_doc(IMAGE, SETPOINTS, every, REQUESTS, EdgeConfig())
    assert doc["s2_heat_pump_link"] == "active OMBC"
    keys = ["s2_link", "s2_tank_link", "s2_heat_pump_link", "s2_export_link"]
    rows = [s for s in SENSORS if s.key in keys]
    assert [r.key for r in rows] == keys
    assert {(r.device, r.unit, r.state_class) for r in rows} == {("bridge", None, None)}


def test_the_menu_line_names_each_session_where_there_are_more():
    line = render_flows(
        {"s2_link": "active FRBC", "s2_tank_link": "waiting", "s2_export_link": "active PEBC"}
    ).splitlines()[-1]
    assert line == "S2 energy manager: battery active FRBC, tank waiting, export active PEBC"
