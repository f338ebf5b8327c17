"""evolve(): the core's fast dataclasses.replace for its state."""

from __future__ import annotations

import dataclasses

import pytest

from edge.core import CoreState, SgState
from edge.core.model import evolve


def test_evolve_gives_what_replace_gives():
    state = CoreState(reason="a", battery_sign=1, hp_starts_s=(1.0, 2.0))
    changes = {
        "reason": "b",
        "hp_state": SgState.RECOMMEND,
        "hp_surplus_since_s": 5.0,
        "tank_full_until_s": 7.0,
    }
    new = evolve(state, **changes)
    assert new == dataclasses.replace(state, **changes)
    assert type(new) is CoreState
    assert state.reason == "a"  # the old state is untouched
    assert new.hp_starts_s == (1.0, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        new.reason = "c"  # type: ignore[misc]


def test_evolve_refuses_a_name_that_is_not_a_field():
    with pytest.raises(TypeError, match="no field battery_w"):
        evolve(CoreState(), battery_w=1.0)
