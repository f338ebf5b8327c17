"""The S2 link's state where Home Assistant and the menu show it (edge/s2/status.py, the
s2_link sensor of edge/mqtt/entities.py, edge/menu/app.py)."""

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
