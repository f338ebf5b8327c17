"""`edge demo`'s site file completed so the live planner plans the simulated house's heat
pump (docs/simulated-house.md, "The heat pump in the plan").

Where the file enables [planner] and loads.heat_pump, the demo fills in what the planner
needs to plan the heat pump, each only where the file does not set it itself:
- [planner.house]: enabled, and the simulated heat pump's and house's own parameters
  (world.planner_house), so the plan and the plant agree;
- sources.indoor_temp_topic: the topic the demo publishes the simulated room temperature
  on (edge/sim/indoor.py);
- sources.pv = "open_meteo" at the demo's local weather server (edge/sim/weather.py), the
  array and site being [simulation]'s, read every 10 simulated minutes: the outside
  temperature forecast the house model needs, and the PV forecast.
A key the site file sets wins, and the result is validated as the file is: a value that
does not fit is the same error, naming the key.
"""

from __future__ import annotations

from typing import Any

from edge.config import EdgeConfig, parse_config
from edge.sim.world import house_params, planner_house

INDOOR_TOPIC = "sim/indoor_temperature"  # under mqtt.base_topic
WEATHER_PERIOD_S = 600.0  # sources.pv_period_s's least: an older forecast drifts at speed


def plans_heat_pump(cfg: EdgeConfig) -> bool:
    """Whether the site file asks for a plan with a heat pump in it."""
    return cfg.planner.enabled and cfg.loads.heat_pump.enabled


def _under(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` merged onto `base`, table by table (over's values win)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _under(out[key], value)
        else:
            out[key] = value
    return out


def with_planned_house(cfg: EdgeConfig, weather_url: str, source: str = "<demo>") -> EdgeConfig:
    """cfg with the demo's heat-pump planning filled in under what the site file set
    (cfg unchanged unless plans_heat_pump(cfg)); ConfigError naming the keys where the
    two do not fit together."""
    if not plans_heat_pump(cfg):
        return cfg
    sim = cfg.simulation
    demo = {
        "planner": {
            "house": {"enabled": True, **planner_house(house_params(sim).heat_pump)},
        },
        "sources": {
            "indoor_temp_topic": f"{cfg.mqtt.base_topic}/{INDOOR_TOPIC}",
            "pv": "open_meteo",
            "open_meteo_url": weather_url,
            "pv_period_s": WEATHER_PERIOD_S,
            "latitude_deg": sim.latitude_deg,
            "longitude_deg": sim.longitude_deg,
            "pv_kwp": sim.pv_kwp,
            "pv_tilt_deg": sim.pv_tilt_deg,
            "pv_azimuth_deg": sim.pv_azimuth_deg,
        },
    }
    return parse_config(_under(demo, cfg.model_dump(exclude_unset=True)), source)
