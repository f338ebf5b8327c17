"""Make tests/edge/data/bundle-cloudy-noon.tar.gz: a bundle as `edge bundle` writes it,
of an hour the supervisor really ran. Run from the repository's root (needs the sim extra):

    PYTHONPATH=. .venv/bin/python tests/edge/data/make_bundle_fixture.py

The simulated house of edge/examples/simulated-house.toml with clouds (cloudiness 0.6)
and its two kettles, driven by the real supervisor (edge.compose.supervise) over the
emulators at 60 times real time from 12:00 for 60 simulated minutes, with its state in a
file: the trace and the decisions that `edge bundle` packs are the ones it wrote.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from edge.bundle import make_bundle
from edge.clock import ScaledClock
from edge.compose import supervise
from edge.config import EXAMPLE_CONFIG, load_config
from edge.drivers.budget import WriteBudget
from edge.drivers.loads.port import LoadsDriver
from edge.drivers.loads.sim import EmulatedLoads
from edge.sim.world import SimulatedWorld, WorldParams, house_params

NOON_S = 12 * 3600.0
MINUTES = 60.0
SPEED = 60.0
OUT = Path(__file__).with_name("bundle-cloudy-noon.tar.gz")


async def run(folder: Path) -> Path:
    base = load_config(EXAMPLE_CONFIG)
    sim = base.simulation.model_copy(update={"cloudiness": 0.6})
    clock = ScaledClock(start_s=NOON_S, speed=SPEED)
    world = SimulatedWorld(clock, WorldParams(house=house_params(sim), dab=False, pylontech_port=0))
    port, _ = await world.start()
    assert world.bms is not None
    cfg = base.model_copy(
        update={
            "simulation": sim,
            "inverter": base.inverter.model_copy(update={"port": f"tcp://127.0.0.1:{port}"}),
            "dab": base.dab.model_copy(update={"enabled": False}),
            "mqtt": base.mqtt.model_copy(update={"enabled": False}),
            "battery": base.battery.model_copy(
                update={"bms_port": f"tcp://127.0.0.1:{world.bms.port}"}
            ),
            "site": base.site.model_copy(
                update={
                    "state_db": str(folder / "state.sqlite"),
                    "api_socket": str(folder / "api.sock"),
                }
            ),
        }
    )
    site = folder / "site.toml"
    site.write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
            '# password = "..."', 'password = "hunter2"'
        ),
        encoding="utf-8",
    )
    text = site.read_text(encoding="utf-8").replace(
        'state_db = "~/.local/state/edge/state.sqlite"', f'state_db = "{folder / "state.sqlite"}"'
    )
    site.write_text(text, encoding="utf-8")
    loads = LoadsDriver(
        EmulatedLoads(world.house),
        cfg.loads.diverter.deadband_w,
        WriteBudget("diverter", cfg.loads.diverter.daily_write_budget),
        clock.now_s,
    )
    try:
        await supervise(cfg, clock, NOON_S + MINUTES * 60.0, True, [world.run()], loads=loads)
    finally:
        await world.stop()
    return make_bundle(site, hours=24.0, out=OUT)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        path = asyncio.run(run(Path(tmp)))
    print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)
