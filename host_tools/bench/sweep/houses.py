"""The houses of a sweep: a table (CSV, one house a row) checked column by column against
what the simulated house (edge/sim/house.py) can really be given, and a generator of N
synthetic British houses drawn with a seed from stated distributions (docs/sweep.md).

Columns (all required, no others):
- id: a name, unique in the table;
- kwp: PV peak power, kWp (PvParams.kwp; 0 = no PV);
- tilt_deg, azimuth_deg: the array's tilt and azimuth (pvlib: 180 = south);
- battery_kwh: a whole number of US2000-like modules of 2.4 kWh (48 V x 50 Ah),
  1 to MAX_MODULES (PackParams.modules): the simulated pack has no other size;
- tank_l: the hot-water tank (TankParams.volume_l), 3 kW element;
- heat_pump_kw: the heat pump's thermal output, kW (HeatPumpParams.heat_w); 0 = none;
- annual_load_kwh: the household's electricity a year without heating, kWh;
- occupants: 1 to 5 (richardsonpy's occupancy model has no more);
- lat, lon: the site (PvParams), in Great Britain only: the load model, the tariffs and
  the outside temperature of the simulated house are British.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edge.errors import EdgeError
from edge.sim.battery import PackParams
from edge.sim.heatpump import HeatPumpParams
from edge.sim.house import HouseParams
from edge.sim.load import LoadParams
from edge.sim.pv import PvParams
from edge.sim.tank import TankParams

MODULE_KWH = 48.0 * PackParams().module_ah / 1000.0  # a US2000: 2.4 kWh nominal
MAX_MODULES = 8
CLOUDINESS = 0.3  # the control benchmark's sky (scenarios.year), the same for every house
GB_LAT = (49.8, 60.9)  # Great Britain's mainland and islands, roughly
GB_LON = (-8.2, 1.8)
COLUMNS = (
    "id",
    "kwp",
    "tilt_deg",
    "azimuth_deg",
    "battery_kwh",
    "tank_l",
    "heat_pump_kw",
    "annual_load_kwh",
    "occupants",
    "lat",
    "lon",
)


def events_kwh_per_year(p: LoadParams) -> float:
    """What edge/sim/load.py adds to richardsonpy's year at 1 s, expected a year: kettles
    (4 chances a day at 80 %, 150 s mean), the hob (25 min mean at a 60 % duty) and the
    washer (60 % of days: 15 min heating, 60 min motor at 200 W)."""
    kettle_h = 4 * 0.8 * 150.0 / 3600.0
    hob_h = 30.0 / 60.0 * 0.6
    day_wh = (
        p.kettle_w * kettle_h + p.hob_w * hob_h + 0.6 * (p.washer_heater_w * 0.25 + 200.0 * 1.0)
    )
    return 365.0 * day_wh / 1000.0


EVENTS_KWH = events_kwh_per_year(LoadParams())
MIN_APPLIANCES_KWH = 500.0  # richardsonpy's lighting and appliances, at the least


class HouseRow(BaseModel):
    """One row of the houses table, checked (the ranges are what the simulator supports)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    kwp: Annotated[float, Field(ge=0.0, le=20.0)]
    tilt_deg: Annotated[float, Field(ge=0.0, le=90.0)]
    azimuth_deg: Annotated[float, Field(ge=0.0, le=360.0)]
    battery_kwh: Annotated[float, Field(gt=0.0, le=MAX_MODULES * MODULE_KWH + 1e-9)]
    tank_l: Annotated[float, Field(ge=50.0, le=500.0)]
    heat_pump_kw: Annotated[float, Field(ge=0.0, le=20.0)]
    annual_load_kwh: Annotated[float, Field(ge=EVENTS_KWH + MIN_APPLIANCES_KWH, le=12000.0)]
    occupants: Annotated[int, Field(ge=1, le=5)]
    lat: Annotated[float, Field(ge=GB_LAT[0], le=GB_LAT[1])]
    lon: Annotated[float, Field(ge=GB_LON[0], le=GB_LON[1])]

    @field_validator("battery_kwh")
    @classmethod
    def _whole_modules(cls, v: float) -> float:
        n = v / MODULE_KWH
        if abs(n - round(n)) > 1e-6:
            raise ValueError(
                f"the simulated pack is whole {MODULE_KWH:g} kWh modules (US2000: 48 V x"
                f" 50 Ah): {v:g} kWh is {n:.2f} modules"
            )
        return v

    @property
    def modules(self) -> int:
        return round(self.battery_kwh / MODULE_KWH)


class HousesError(EdgeError):
    """The houses table is bad; the message names the file, row, column and value."""


def _message(where: str, row: int, house: str, exc: ValidationError) -> str:
    e = exc.errors()[0]
    col = ".".join(str(x) for x in e["loc"]) or "?"
    value = e.get("input")
    shown = value if not isinstance(value, dict) else ""
    return f"{where}: row {row} (id {house!r}), column {col} = {shown!r}: {e['msg']}"


def parse(text: str, where: str = "houses table") -> list[HouseRow]:
    """The table's rows, checked; HousesError names the first thing wrong."""
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise HousesError(
            f"{where}: column {unknown[0]!r} is not one the simulator can use"
            f" (columns: {', '.join(COLUMNS)})"
        )
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise HousesError(f"{where}: column {missing[0]!r} is missing")
    rows: list[HouseRow] = []
    seen: set[str] = set()
    for k, raw in enumerate(reader, start=2):  # row 1 is the header
        house = raw.get("id") or ""
        values: dict[str, Any] = {}
        for col in COLUMNS:
            cell = (raw.get(col) or "").strip()
            if cell == "":
                raise HousesError(f"{where}: row {k} (id {house!r}), column {col} is empty")
            values[col] = cell
        try:
            row = HouseRow.model_validate(values)
        except ValidationError as exc:
            raise HousesError(_message(where, k, house, exc)) from None
        if row.id in seen:
            raise HousesError(f"{where}: row {k}, column id = {row.id!r}: used twice")
        seen.add(row.id)
        rows.append(row)
    if not rows:
        raise HousesError(f"{where}: no houses")
    return rows


def load(path: Path) -> list[HouseRow]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HousesError(f"{path}: cannot read the houses table ({exc.strerror})") from None
    return parse(text, str(path))


def to_csv(rows: list[HouseRow]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: getattr(r, c) for c in COLUMNS})
    return out.getvalue()


def house_params(row: HouseRow, seed: int, start_day_of_year: int) -> HouseParams:
    """The simulated house of this row. The heat pump's house scales with the heat pump
    (the default's 150 W/K and 20 MJ/K for 5 kW: sized as the default house is); no heat
    pump: the house's node is held where it starts (heated by something the sim does not
    model) and the heat pump draws nothing."""
    hp = HeatPumpParams()
    if row.heat_pump_kw > 0:
        scale = row.heat_pump_kw * 1000.0 / hp.heat_w
        hp = dataclasses.replace(
            hp,
            heat_w=row.heat_pump_kw * 1000.0,
            house_ua_w_per_k=hp.house_ua_w_per_k * scale,
            house_c_j_per_k=hp.house_c_j_per_k * scale,
            internal_gain_w=hp.internal_gain_w * scale,
        )
    else:
        hp = dataclasses.replace(hp, heat_w=0.0, house_ua_w_per_k=0.0, internal_gain_w=0.0)
    return HouseParams(
        seed=seed,
        start_day_of_year=start_day_of_year,
        pv=PvParams(
            latitude_deg=row.lat,
            longitude_deg=row.lon,
            tilt_deg=row.tilt_deg,
            azimuth_deg=row.azimuth_deg,
            kwp=row.kwp,
            cloudiness=CLOUDINESS,
        ),
        load=LoadParams(
            occupants=row.occupants, annual_kwh=round(row.annual_load_kwh - EVENTS_KWH)
        ),
        battery_soc0_pct=50.0,
        pack=dataclasses.replace(PackParams(), modules=row.modules),
        tank=dataclasses.replace(TankParams(), volume_l=row.tank_l),
        heat_pump=hp,
    )


# ---- synthetic houses ------------------------------------------------------------------
@dataclass(frozen=True)
class Distributions:
    """What synthetic houses are drawn from (sources and reasons: docs/sweep.md)."""

    kwp: tuple[float, float] = (2.0, 6.0)  # uniform; MCS: typical homes 3-4 kWp
    tilt_deg: tuple[float, float] = (25.0, 45.0)  # uniform; pitched British roofs
    azimuth_deg: tuple[float, float, float] = (90.0, 270.0, 180.0)  # triangular, mode south
    modules: tuple[int, ...] = (1, 2, 2, 3, 4)  # 2.4 to 9.6 kWh, 4.8 most often
    tank_l: tuple[float, ...] = (150.0, 180.0, 200.0)  # loads-baseline-s2.md §5.1
    heat_pump_share: float = 0.25
    heat_pump_kw: tuple[float, ...] = (5.0, 6.0, 8.0)
    annual_load_kwh: tuple[float, float] = (1800.0, 4100.0)  # uniform; Ofgem TDCV low-high
    occupants: tuple[int, ...] = (1, 2, 2, 3, 3, 4, 5)
    # (name, lat, lon): where the houses are, drawn uniformly
    sites: tuple[tuple[str, float, float], ...] = (
        ("London", 51.51, -0.13),
        ("Bristol", 51.45, -2.59),
        ("Cardiff", 51.48, -3.18),
        ("Birmingham", 52.49, -1.89),
        ("Norwich", 52.63, 1.30),
        ("Manchester", 53.48, -2.24),
        ("Leeds", 53.80, -1.55),
        ("Newcastle", 54.98, -1.61),
        ("Glasgow", 55.86, -4.25),
        ("Aberdeen", 57.15, -2.09),
    )


def synthetic(n: int, seed: int, d: Distributions = Distributions()) -> list[HouseRow]:
    """n houses drawn with this seed: the same seed gives the same table."""
    if not 1 <= n <= 100_000:
        raise HousesError(f"synthetic houses: n = {n}: must be 1 to 100000")
    rng = random.Random(seed)
    rows = []
    for k in range(n):
        _, lat, lon = rng.choice(d.sites)
        has_hp = rng.random() < d.heat_pump_share
        rows.append(
            HouseRow(
                id=f"h{k + 1:04d}",
                kwp=round(rng.uniform(*d.kwp), 1),
                tilt_deg=round(rng.uniform(*d.tilt_deg)),
                azimuth_deg=round(rng.triangular(*d.azimuth_deg)),
                battery_kwh=round(rng.choice(d.modules) * MODULE_KWH, 1),
                tank_l=rng.choice(d.tank_l),
                heat_pump_kw=rng.choice(d.heat_pump_kw) if has_hp else 0.0,
                annual_load_kwh=round(rng.uniform(*d.annual_load_kwh), -1),
                occupants=rng.choice(d.occupants),
                lat=lat,
                lon=lon,
            )
        )
    return rows


def describe(rows: list[HouseRow]) -> str:
    """One line about the table: how many houses, and the ranges in it."""
    kwp = [r.kwp for r in rows]
    load_kwh = [r.annual_load_kwh for r in rows]
    hp = sum(1 for r in rows if r.heat_pump_kw > 0)
    return (
        f"{len(rows)} houses: PV {min(kwp):g}-{max(kwp):g} kWp, battery"
        f" {min(r.battery_kwh for r in rows):g}-{max(r.battery_kwh for r in rows):g} kWh, load"
        f" {min(load_kwh):g}-{max(load_kwh):g} kWh/yr, {hp} with a heat pump"
        f" ({math.floor(100 * hp / len(rows))} %)"
    )
