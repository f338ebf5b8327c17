"""Where an S2 tank is offered and nothing plans, each tick's powers still reach the
sources' history in the state file (the tank's usage forecast reads it); with S2 off, or
where the planner records them itself, nothing extra is made."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from edge.clock import ScaledClock
from edge.compose import draw_history
from edge.config import parse_config
from edge.sim import closed_loop
from edge.sim.house import House, HouseParams
from edge.sources.history import HistoryStore
from edge.sources.runner import HistoryFeed
from edge.state_db import StorageHealth
from tests.edge.sources.conftest import T0_S


def site(tmp_path, **s2):
    return parse_config(
        {
            "site": {"state_db": str(tmp_path / "state.sqlite")},
            "s2": {"enabled": True, **s2},
            "loads": {"diverter": {"enabled": True}},
        }
    )


def test_an_s2_tank_without_the_planner_gets_the_ticks_powers_into_the_history(tmp_path):
    cfg = site(tmp_path)
    wall = [T0_S]
    clock = ScaledClock(43200.0, wall=lambda: wall[0], synchronised=lambda: True)
    feed = draw_history(cfg, SimpleNamespace(loads=object()), clock, StorageHealth())
    assert isinstance(feed, HistoryFeed) and feed.slot(0.0) is None
    house = House(HouseParams(load_noise_w=0.0), start_s=43200.0)
    image = closed_loop.image_of(house)
    inv = image.inverter
    assert inv is not None
    # Two half hours of ticks at a steady 600 W of household load and 2 kW of PV.
    steady = replace(inv, value=replace(inv.value, load_power_w=600.0, pv_power_w=2000.0))
    for k in range(3601):
        wall[0] = T0_S + k
        feed.observe(replace(image, inverter=steady, loads=None))
    assert feed.runner.history is not None
    feed.runner.history.close()  # written by its thread, then closed
    rows = HistoryStore(str(tmp_path / "state.sqlite"), StorageHealth()).load(0.0)
    assert [r.slot_start_s for r in rows] == [T0_S, T0_S + 1800]
    assert rows[0].load_wh == pytest.approx(300.0, rel=0.01)  # 600 W for half an hour
    assert rows[0].pv_wh == pytest.approx(1000.0, rel=0.01)


def test_no_history_feed_without_an_s2_tank_or_where_nothing_is_offered(tmp_path):
    clock = ScaledClock(43200.0)
    health = StorageHealth()
    loads = SimpleNamespace(loads=object())
    assert draw_history(site(tmp_path, tank=False), loads, clock, health) is None
    assert draw_history(site(tmp_path, enabled=False), loads, clock, health) is None
    assert draw_history(site(tmp_path), SimpleNamespace(loads=None), clock, health) is None
