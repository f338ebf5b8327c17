"""A user's bad day as a regression test: tests/edge/data/bundle-cloudy-noon.tar.gz is a
bundle `edge bundle` wrote after the real supervisor ran an hour of a cloudy noon with two
kettles (tests/edge/data/make_bundle_fixture.py). Its recorded PV and household load are
replayed through the core with the bundle's own site settings (edge/sim/replay.py)."""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path

import pytest

from edge.bundle import read_member
from edge.config import parse_config
from edge.settings import core_config
from edge.sim.replay import ReplayHouse, Trace, TraceError, replay

BUNDLE = Path(__file__).parents[1] / "data" / "bundle-cloudy-noon.tar.gz"


@pytest.fixture(scope="module")
def trace() -> Trace:
    return Trace.from_bundle(BUNDLE)


def test_the_bundle_is_an_hour_of_minutes_with_clouds_and_kettles(trace: Trace):
    assert len(trace.t_s) >= 55 and 3300 <= trace.duration_s <= 3700
    assert max(trace.household_w) > 2500  # a kettle's minute
    assert max(trace.pv_w) - min(trace.pv_w) > 500  # clouds passing


def test_the_replay_is_faithful_and_the_core_keeps_the_house_balanced(trace: Trace):
    site = parse_config(tomllib.loads(read_member(BUNDLE, "site.toml")), "site.toml")
    result = replay(trace, core_config(site))
    e = result.energy_wh
    # The house saw the energies that were recorded.
    assert e["pv"] == pytest.approx(trace.energy_wh(trace.pv_w), rel=0.01)
    assert e["load"] == pytest.approx(trace.energy_wh(trace.household_w), rel=0.01)
    # And the core did with them what it did that day: the battery took the surplus to
    # about the same SOC, the grid stayed near zero, the battery never fed the tank.
    assert result.soc_end_pct == pytest.approx(trace.soc_pct[-1], abs=3.0)
    assert e["import"] + e["export"] < 0.02 * e["pv"]
    assert e["battery_to_heater"] == 0.0
    decisions = read_member(BUNDLE, "decisions.csv")
    reasons = {row["reason"] for row in csv.DictReader(io.StringIO(decisions))}
    assert any("surplus to the tank" in r for r in reasons)  # that day, the tank took some
    assert e["heater"] > 0.0  # and in the replay


def test_the_house_holds_each_minute_of_the_trace(trace: Trace):
    house = ReplayHouse(trace)
    t1, t2 = trace.t_s[1], trace.t_s[2]
    assert house.pv_w_at((t1 + t2) / 2) == trace.pv_w[2]
    assert house.pv_w_at(t2) == trace.pv_w[2]
    assert house.load_w_at(t2 + 0.001) == trace.household_w[3]
    assert house.state.soc_pct == pytest.approx(trace.soc_pct[0], abs=0.5)


def test_a_trace_that_cannot_be_replayed_says_why():
    head = "wall_s,t_s,grid_w,pv_w,load_w,battery_w,soc_pct,heater_w,heat_pump_w,reason\n"
    with pytest.raises(TraceError, match="1 rows with data"):
        Trace.from_csv(head + "1,60,0,100,300,0,50,0,0,x\n")
    with pytest.raises(TraceError, match="line 3: could not convert"):
        Trace.from_csv(head + "1,60,0,100,300,0,50,0,0,x\n2,120,0,100,abc,0,50,0,0,x\n")
    with pytest.raises(TraceError, match="do not increase"):
        Trace.from_csv(head + "1,60,0,100,300,0,50,0,0,x\n2,60,0,100,300,0,50,0,0,x\n")
