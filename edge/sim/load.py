"""Household load: richardsonpy's occupancy-driven stochastic appliance model (Richardson
et al. 2010, a UK household; minute resolution, a whole year per seed), refined to 1 s with
the appliance steps that matter to a controller: kettle (3 kW for 2-3 min, a few times a
day), induction hob cycling while cooking, the washing machine's heater and motor. Seeded:
the same seed gives the same year. The year is cached on disk (it takes ~8 s to generate).

The appliances are edge/sim/data/appliances.csv: richardsonpy 0.2.3's inputs/Appliances.csv
with the "has appliance" column fixed for this house instead of drawn at random. Not owned
here: water and space heating (the tank and the heat pump model them) and the kettle, hob
and washing machine (added at 1 s below). tests/edge/sim/test_load.py checks every other
number against the library's table.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LoadParams:
    occupants: int = 3
    # What richardsonpy's appliances and lighting use in a year (it is normalised to this);
    # the kettle, hob and washer events add ~600 kWh: ~3200 kWh/yr for three people without
    # electric heating, a typical UK household (assumption; set from a bill when known).
    annual_kwh: float = 2600.0
    kettle_w: float = 3000.0
    hob_w: float = 2000.0
    washer_heater_w: float = 2000.0
    noise_w: float = 15.0


APPLIANCES = Path(__file__).resolve().parent / "data" / "appliances.csv"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge" / "richardsonpy"


def richardson_year(seed: int, occupants: int, annual_kwh: float) -> np.ndarray:
    """A year of minute-average household load (W) from richardsonpy, cached per seed."""
    path = _cache_dir() / f"load-v3-{occupants}occ-{annual_kwh:g}kwh-seed{seed}.npy"
    if path.exists():
        cached: np.ndarray = np.load(path)
        return cached
    import richardsonpy.classes.electric_load as eload
    import richardsonpy.classes.occupancy as occ
    import richardsonpy.functions.change_resolution as cr
    import richardsonpy.functions.load_radiation as loadrad

    state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        occupancy = occ.Occupancy(number_occupants=occupants)
        q_direct, q_diffuse = loadrad.get_rad_from_try_path()
        q_direct = cr.change_resolution(q_direct, old_res=3600, new_res=60)
        q_diffuse = cr.change_resolution(q_diffuse, old_res=3600, new_res=60)
        load = eload.ElectricLoad(
            occ_profile=occupancy.occupancy,
            total_nb_occ=occupants,
            q_direct=q_direct,
            q_diffuse=q_diffuse,
            timestep=60,
            path_app=str(APPLIANCES),
            randomize_appliances=False,
            annual_demand=annual_kwh,
            do_normalization=True,
        )
        year = np.asarray(load.loadcurve, dtype=float)
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, year)
    tmp.replace(path)  # atomic: a parallel run never reads half a file
    return year


class HouseholdLoad:
    def __init__(self, params: LoadParams, start_day_of_year: int, seed: int) -> None:
        self.p = params
        self.seed = seed
        self.start_day = start_day_of_year
        self._minutes = richardson_year(seed, params.occupants, params.annual_kwh)
        self._day_index: int | None = None
        self._day: list[float] = []
        self.events: list[tuple[str, float, float]] = []  # (what, start s of day, end)

    def _day_events(self, rng: random.Random) -> list[tuple[str, float, float, float, float]]:
        """(name, start, end, power, duty period) for one day; period 0 = steady."""
        p = self.p
        ev: list[tuple[str, float, float, float, float]] = []
        for lo, hi in ((6.5, 9.0), (12.0, 14.0), (15.5, 17.5), (19.0, 22.5)):
            if rng.random() < 0.8:
                start = rng.uniform(lo, hi) * 3600
                ev.append(("kettle", start, start + rng.uniform(120, 180), p.kettle_w, 0.0))
        cook = rng.uniform(17.5, 19.0) * 3600
        ev.append(("hob", cook, cook + rng.uniform(20, 40) * 60, p.hob_w, 20.0))
        if rng.random() < 0.6:
            wash = rng.uniform(9.0, 16.0) * 3600
            ev.append(("washer heater", wash, wash + 15 * 60, p.washer_heater_w, 0.0))
            ev.append(("washer motor", wash + 15 * 60, wash + 75 * 60, 200.0, 0.0))
        return ev

    def _compute_day(self, day_index: int) -> list[float]:
        doy = (self.start_day - 1 + day_index) % 365
        minutes = self._minutes[doy * 1440 : (doy + 1) * 1440]
        per_s = np.repeat(minutes, 60)
        rng = random.Random(self.seed * 7919 + doy)
        self.events = []
        for name, a, b, power, period in self._day_events(rng):
            ia, ib = int(a), min(86400, int(b))
            if period > 0:  # an induction hob cycles: 60 % on
                on = (np.arange(ib - ia) % period) < 0.6 * period
                per_s[ia:ib] += power * on
            else:
                per_s[ia:ib] += power
            self.events.append((name, a, b))
        noise = np.random.default_rng(self.seed * 31 + doy).normal(0.0, self.p.noise_w, 86400)
        day: list[float] = np.clip(per_s + noise, 50.0, None).tolist()
        return day

    def day_w(self, day_index: int) -> list[float]:
        """The household's power (W) in each second of day_index (0: the start day),
        computed once a day: an input of the house, the same whoever controls it."""
        if day_index != self._day_index:
            self._day, self._day_index = self._compute_day(day_index), day_index
        return self._day

    def power_w(self, t_s: float) -> float:
        day = int(t_s // 86400)
        return self.day_w(day)[int(t_s - day * 86400) % 86400]
