"""The plan's heat-pump request in Home Assistant: a text sensor of the controller beside
the plan's others (announced only with [planner] enabled), whose state is the SG-Ready
request of the slot now, "thermostat" where the slot asks nothing, "not planned" where
there is no plan or it was made without the house, "no slot for now" past its end."""

from __future__ import annotations

import json

import pytest

from edge.config import parse_config
from edge.core.model import PlanBattery, PlannedSlot, SgState
from edge.mqtt.discovery import DeviceIds, Topics, discovery_messages
from edge.planner.status import PlanFigures, PlanStatus

IDS = DeviceIds(bridge_id="pi", inverter_serial="S1", site_name="Home", devices=("heat_pump",))
TOPICS = Topics("homeassistant", "edge")
UID = "edge_pi_plan_heat_pump"


def components(planner: bool) -> dict[str, dict[str, object]]:
    cfg = parse_config({"planner": {"enabled": planner}})
    out: dict[str, dict[str, object]] = {}
    for _topic, payload in discovery_messages(IDS, TOPICS, cfg=cfg):
        out.update(json.loads(payload)["cmps"])
    return out


def test_the_request_is_announced_with_the_plan_s_other_sensors():
    c = components(planner=True)[UID]
    assert c["p"] == "sensor"
    assert c["name"] == "Plan heat pump request"
    assert c["stat_t"] == "edge/state"
    assert c["val_tpl"] == "{{ value_json.plan_heat_pump }}"
    # Text: no unit, class or state class, so Home Assistant keeps it as a string.
    assert not {"unit_of_meas", "dev_cla", "stat_cla"} & set(c)
    # On the controller, as the plan's action is.
    action = components(planner=True)["edge_pi_plan_action"]
    assert c["uniq_id"].rsplit("_plan_", 1)[0] == action["uniq_id"].rsplit("_plan_", 1)[0]
    assert UID not in components(planner=False)


def figures(requests: list[SgState | None], house: bool = True) -> PlanFigures:
    n = len(requests)
    slots = tuple(
        PlannedSlot(1800.0 * k, 1800.0 * (k + 1), 0.0, PlanBattery.HOLD, heat_pump=r)
        for k, r in enumerate(requests)
    )
    zeros = (0.0,) * n
    return PlanFigures(
        made_s=0.0,
        made_utc_s=1_736_200_000.0,
        slots=slots,
        slots_utc_s=tuple(1_736_200_000.0 + s.start_s for s in slots),
        soc_pct=(50.0,) * n,
        battery_w=zeros,
        grid_w=zeros,
        tank_w=zeros,
        import_p_per_kwh=zeros,
        export_p_per_kwh=zeros,
        cost_today_gbp=0.0,
        cost_tomorrow_gbp=None,
        saving_gbp=0.0,
        solve_ms=1.0,
        hp_w=(1400.0,) * n if house else (),
        house_degc=(20.5,) * n if house else (),
    )


@pytest.mark.parametrize(
    ("t_s", "shown"),
    [(100.0, "force"), (1900.0, "lock"), (3700.0, "thermostat"), (5500.0, "recommend")],
)
def test_the_state_is_the_request_of_the_slot_now(t_s, shown):
    status = PlanStatus(
        figures([SgState.FORCE, SgState.LOCK, None, SgState.RECOMMEND, SgState.NORMAL])
    )
    assert status.shown(t_s)["plan_heat_pump"] == shown


def test_without_a_plan_or_the_house_it_is_not_planned():
    assert PlanStatus().shown(0.0)["plan_heat_pump"] == "not planned"
    no_house = PlanStatus(figures([None, None], house=False))
    assert no_house.shown(100.0)["plan_heat_pump"] == "not planned"
    past = PlanStatus(figures([SgState.LOCK]))
    assert past.shown(1800.0)["plan_heat_pump"] == "no slot for now"
