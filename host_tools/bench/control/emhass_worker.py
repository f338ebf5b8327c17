"""EMHASS as a planner for the control benchmark: a long-lived worker run by the venv's
python (emhass.py starts it), reading one JSON request a line on stdin and answering one
JSON line on stdout. Standard library and emhass only (pandas comes with it: EMHASS takes
DataFrames); no edge imports.

Request (one re-plan; every list has one entry per slot, slot i starting t0_s + i slot_s):
    t0_s, slot_s: the first slot's start (s on the benchmark's clock) and the slot (s)
    pv_w, load_w: forecast means per slot (W, >= 0); load is all the house draws that
        EMHASS must cover (the household load and the heat pump; not the tank, which
        heats only from surplus)
    import_gbp_per_kwh, export_gbp_per_kwh: prices per slot (£/kWh)
    soc_pct: the measured SOC now (%)
    config (optional): changes to CONFIG, for a sensitivity run (EMHASS's key names)
    battery: capacity_wh, max_charge_w, max_discharge_w, efficiency (each way),
        reserve_soc_pct, max_soc_pct, wear_gbp_per_kwh (on charge)
Answer:
    status: EMHASS's solver status ("Optimal", ...), battery_w (+ = discharge, W),
    soc_pct (at each slot's end, %), grid_w (+ = import, W), solve_ms (the call to
    perform_naive_mpc_optim), peak_rss_mb (the worker's), or error: a one-line message
    (and the worker goes on).

The configuration is EMHASS's own defaults (config_defaults.json, built into
retrieve_hass_conf, optim_conf and plant_conf by emhass.utils.build_params as EMHASS
itself does) with the overrides in CONFIG and the battery from the request;
docs/bench-emhass.md explains each choice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import pathlib
import resource
import sys
import time
from typing import Any

import emhass
import pandas as pd
from emhass import utils
from emhass.optimization import Optimization

CONFIG: dict[str, Any] = {
    "costfun": "profit",  # the bill: import cost less export income
    "optimization_time_step": 30,  # minutes: the benchmark's slots
    "number_of_deferrable_loads": 0,  # EMHASS plans the battery only
    "nominal_power_of_deferrable_loads": [],
    "operating_hours_of_each_deferrable_load": [],
    "set_use_battery": True,
    "set_nocharge_from_grid": False,
    "set_nodischarge_to_grid": False,  # may export from the battery, as ours may
    "inverter_is_hybrid": False,
    "compute_curtailment": False,
    "maximum_power_from_grid": 100000,  # the house's fuse does not bind here
    "maximum_power_to_grid": 100000,
    "num_threads": 1,
}
VAR_LOAD_COST = "unit_load_cost"
VAR_PROD_PRICE = "unit_prod_price"
EPOCH = pd.Timestamp("2026-01-01", tz="UTC")  # the benchmark's t = 0 (only labels slots)


def emhass_version() -> str:
    return str(getattr(emhass, "__version__", "unknown"))


Conf = dict[str, Any]


def _params(
    battery: dict[str, float], overrides: Conf, logger: logging.Logger
) -> tuple[Conf, Conf, Conf]:
    root = pathlib.Path(emhass.__file__).parent
    defaults = json.loads((root / "data" / "config_defaults.json").read_text())
    config = {**defaults, **CONFIG}
    config.update(
        {
            "battery_nominal_energy_capacity": battery["capacity_wh"],
            "battery_charge_power_max": battery["max_charge_w"],
            "battery_discharge_power_max": battery["max_discharge_w"],
            "battery_charge_efficiency": battery["efficiency"],
            "battery_discharge_efficiency": battery["efficiency"],
            "battery_minimum_state_of_charge": battery["reserve_soc_pct"] / 100.0,
            "battery_maximum_state_of_charge": battery["max_soc_pct"] / 100.0,
            "battery_target_state_of_charge": battery["reserve_soc_pct"] / 100.0,
            # the wear, per kWh in and per kWh out (£/kWh), as our planner counts it
            "weight_battery_charge": battery["wear_gbp_per_kwh"],
            "weight_battery_discharge": battery["wear_gbp_per_kwh"],
            # soc_final is the reserve; energy left above it at the horizon's end is
            # worth the last slot's import price times the efficiency out (ours: the
            # horizon's mean price times the same efficiency)
            "battery_soc_final_reward_factor": battery["efficiency"],
        }
    )
    config.update(overrides)  # a sensitivity run's changes (the request's "config")
    emhass_conf = {"associations_path": root / "data" / "associations.csv", "data_path": root}
    secrets = {"time_zone": "UTC", "Latitude": 51.5, "Longitude": -0.1, "Altitude": 10.0}
    params = asyncio.run(utils.build_params(emhass_conf, secrets, config, logger))
    if not params:
        raise RuntimeError("emhass.utils.build_params gave no parameters")
    hass, optim, plant = utils.get_yaml_parse(params, logger)
    return dict(hass), dict(optim), dict(plant)


class Planner:
    """One Optimization per horizon length and battery (EMHASS fixes the problem's size
    when it is built and re-solves it with new parameters)."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("emhass_worker")
        self.logger.addHandler(logging.StreamHandler(sys.stderr))
        self.logger.setLevel(logging.ERROR)
        self._opt: dict[str, Optimization] = {}

    def _optimization(
        self, n: int, slot_s: float, battery: dict[str, float], overrides: Conf
    ) -> Optimization:
        key = json.dumps([n, slot_s, battery, overrides], sort_keys=True)
        if key not in self._opt:
            hass, optim, plant = _params(battery, overrides, self.logger)
            hours = n * slot_s / 3600.0
            optim["delta_forecast_daily"] = pd.Timedelta(hours=hours)
            self._opt[key] = Optimization(
                hass,
                optim,
                plant,
                VAR_LOAD_COST,
                VAR_PROD_PRICE,
                optim["costfun"],
                {"data_path": pathlib.Path(emhass.__file__).parent},
                self.logger,
                opt_time_delta=math.ceil(hours),
                num_timesteps=n,
            )
        return self._opt[key]

    def plan(self, req: dict[str, Any]) -> dict[str, Any]:
        n = len(req["pv_w"])
        for key in ("load_w", "import_gbp_per_kwh", "export_gbp_per_kwh"):
            if len(req[key]) != n:
                raise ValueError(f"{key}: {len(req[key])} slots, pv_w has {n}")
        if n < 5:
            raise ValueError(f"{n} slots: EMHASS's MPC needs at least 5")
        slot_s = float(req["slot_s"])
        bat = {k: float(v) for k, v in req["battery"].items()}
        overrides = dict(req.get("config") or {})
        opt = self._optimization(n, slot_s, bat, overrides)
        index = pd.date_range(
            EPOCH + pd.Timedelta(seconds=float(req["t0_s"])),
            periods=n,
            freq=pd.Timedelta(seconds=slot_s),
        )
        df = pd.DataFrame(
            {VAR_LOAD_COST: req["import_gbp_per_kwh"], VAR_PROD_PRICE: req["export_gbp_per_kwh"]},
            index=index,
        )
        pv = pd.Series(req["pv_w"], index=index, dtype=float)
        load = pd.Series(req["load_w"], index=index, dtype=float)
        soc = min(max(float(req["soc_pct"]) / 100.0, 0.0), 1.0)
        start = time.perf_counter()
        res = opt.perform_naive_mpc_optim(
            df,
            pv,
            load,
            n,
            soc_init=soc,
            soc_final=bat["reserve_soc_pct"] / 100.0,
        )
        solve_ms = 1000.0 * (time.perf_counter() - start)
        status = str(opt.optim_status)
        if res is None or len(res) != n or "P_batt" not in res:
            return {"status": status, "error": f"EMHASS gave no schedule ({status})"}
        return {
            "status": status,
            "battery_w": [float(x) for x in res["P_batt"]],
            "soc_pct": [100.0 * float(x) for x in res["SOC_opt"]],
            "grid_w": [float(x) for x in res["P_grid"]],
            "solve_ms": solve_ms,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }


def main() -> int:
    # Answers go to the real stdout alone: whatever EMHASS or its solvers print goes to
    # stderr (file descriptor 1 is pointed there).
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    planner = Planner()
    out.write(json.dumps({"ready": True, "emhass": emhass_version()}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = planner.plan(json.loads(line))
        except Exception as exc:  # every failure is answered; the run goes on
            answer = {"status": "Error", "error": f"{type(exc).__name__}: {exc}"[:500]}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
