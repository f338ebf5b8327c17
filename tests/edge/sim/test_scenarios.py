"""The kettle test of loads-baseline-s2.md §5.7: ours against the status quo."""

from __future__ import annotations

from edge.config import EdgeConfig
from edge.settings import core_config
from edge.sim import scenarios


def test_the_status_quo_drains_the_battery_into_the_tank_and_ours_does_not():
    cfg = core_config(EdgeConfig())
    baseline = scenarios.kettle("baseline", cfg)
    ours = scenarios.kettle("ours", cfg)
    # The forum's case: after kettle-off the eddi holds the grid at 0 W and the battery,
    # inside its deadband, keeps discharging into the tank.
    assert baseline.leak_wh > 100.0
    assert ours.leak_wh == 0.0
    # Ours still heats water with the surplus the nearly full battery cannot take...
    assert ours.heater_wh > 150.0
    # ...without exporting or importing more than the status quo.
    assert ours.export_wh <= baseline.export_wh + 1.0
    assert ours.import_wh <= baseline.import_wh + 1.0
