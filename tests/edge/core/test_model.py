"""core.model: the request modes and the loads are enums that equal their strings."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from edge.core import CoreConfig, LoadKind, RequestMode, Requests

CFG = CoreConfig(
    max_charge_w=3000,
    max_discharge_w=3000,
    reserve_soc_pct=20,
    max_soc_pct=100,
    inverter_stale_after_s=5,
    dab_enabled=False,
    dab_max_charge_current_a=5.0,
    dab_stale_after_s=5,
)


def test_a_mode_given_as_a_string_becomes_its_request_mode():
    req = Requests(mode="standby")  # type: ignore[arg-type]  # as the request store gives it
    assert req.mode is RequestMode.STANDBY
    assert replace(req, mode="self_use").mode is RequestMode.SELF_USE  # type: ignore[arg-type]
    assert Requests().mode is RequestMode.AUTO


def test_a_request_mode_equals_and_serialises_as_its_string():
    req = Requests(mode=RequestMode.SELF_USE)
    assert req.mode == "self_use" and f"{req.mode}" == "self_use"
    assert json.loads(json.dumps(asdict(req)))["mode"] == "self_use"


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="'boost'"):
        Requests(mode="boost")  # type: ignore[arg-type]


def test_the_loads_priority_given_as_strings_becomes_load_kinds():
    cfg = replace(CFG, loads_priority=("heat_pump", "tank"))  # type: ignore[arg-type]
    assert cfg.loads_priority == (LoadKind.HEAT_PUMP, LoadKind.TANK)
    assert all(type(k) is LoadKind for k in cfg.loads_priority)
    assert CFG.loads_priority == ("tank", "heat_pump")  # the default, equal to its strings
    with pytest.raises(ValueError, match="'kettle'"):
        replace(CFG, loads_priority=("kettle",))  # type: ignore[arg-type]
