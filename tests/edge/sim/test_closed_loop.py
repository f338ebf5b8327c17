"""The simulated clock: the pure core against the plant, no sockets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edge.config import EdgeConfig
from edge.core import BmsReading, InverterReading, LoadsReading, ProcessImage, Requests, Sample
from edge.settings import core_config
from edge.sim import closed_loop
from edge.sim.house import House, HouseParams

NOON_S = 12 * 3600.0


def test_the_core_holds_the_grid_near_zero_through_the_kettle():
    h = House(HouseParams(pv_kwp=2.0, kettle_starts_s=(NOON_S + 60,)), start_s=NOON_S)
    grid = []
    cfg = core_config(EdgeConfig())
    for _ in range(400):
        closed_loop.run(h, cfg, 1.0)
        grid.append(h.state.grid_w)
    settled = [g for k, g in enumerate(grid) if not 55 <= k <= 70 and not 205 <= k <= 220]
    assert max(abs(g) for g in settled) < 150.0  # load noise only
    assert max(grid) > 1000.0  # the kettle's first seconds, before the ramp
    assert h.state.energy_wh["heater"] == 0.0  # no diverter of its own: nothing into the tank


def test_bench_plant_writes_its_figures(tmp_path: Path):
    out = tmp_path / "plant.json"
    proc = subprocess.run(
        [sys.executable, "-m", "host_tools", "bench", "plant", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["plant_sim_seconds_per_second"] > 1000
    assert data["closed_loop_sim_seconds_per_second"] > 1000
    # Where a step's time goes: the plant, the process image, the core; each takes some.
    assert set(data["step_us"]) == {"plant_step", "image", "core_decide"}
    assert all(us > 0 for us in data["step_us"].values())
    assert "plant_sim_seconds_per_second" in proc.stdout


def test_the_image_is_the_one_the_dataclasses_make():
    # image_of builds its frozen objects without their __init__: they must be the same.
    h = House(HouseParams(pv_kwp=2.0), start_s=NOON_S)
    for _ in range(5):
        h.step(1.0)
    s = h.state
    charge_w, discharge_w = h.bms_limits_ac_w
    requests = Requests(max_charge_w=1000.0)
    want = ProcessImage(
        t_s=s.t_s,
        inverter=Sample(
            InverterReading(
                grid_power_w=s.grid_w,
                battery_power_w=s.battery_w,
                battery_soc_pct=s.soc_pct,
                load_power_w=s.load_w + s.dab_w + s.heater_w + s.heat_pump_w,
                pv_power_w=s.pv_w,
            ),
            0.0,
        ),
        dab=None,
        bms=Sample(BmsReading(charge_w, discharge_w), 0.0),
        loads=Sample(LoadsReading(s.heater_w, s.heat_pump_w, h.tank.temp_degc), 0.0),
        requests=requests,
    )
    got = closed_loop.image_of(h, requests)
    assert got == want
    assert repr(got) == repr(want)
    assert hash(got.inverter.value) == hash(want.inverter.value)
    assert got.inverter.value.pv_power_w > 0.0  # noon: a real reading, not zeros
