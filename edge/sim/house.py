"""The simulated house: PV, household load with appliance steps, a Pylontech-style
battery behind an ME3000SP-like inverter (its own behaviour: edge/sim/inverter.py), a
hot-water tank with an immersion diverter (status-quo models or driven by the
supervisor), an SG-Ready heat pump heating the house, and the DAB string's supply.
Pure state stepped by the caller's clock; no I/O.

Sign convention (edge): grid + = import, battery + = discharge (AC side).
Energy balance every step, AC side:
    pv + import + battery_discharge = load + dab + heater + heat_pump + battery_charge + export
and on the DC side the conversion losses close it: battery_discharge = dc_out * eta, etc.
Parameters: docs/reference/loads-baseline-s2.md §5 and sofar-modbus.md.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from typing import Literal

from edge.sim.battery import PackParams, PylontechPack
from edge.sim.diverter import Diverter, DiverterParams, EddiLike, External, Mk2Bucket
from edge.sim.heatpump import HeatPump, HeatPumpParams, SgReady
from edge.sim.inverter import InverterMode, InverterModel, InverterParams
from edge.sim.load import HouseholdLoad, LoadParams
from edge.sim.pv import PvModel, PvParams
from edge.sim.tank import Tank, TankParams

__all__ = ["House", "HouseParams", "HouseState", "InverterMode", "SgReady"]

FED_EPS_W = 1e-6  # rounding allowance when PV exactly feeds the heater
DiverterKind = Literal["external", "eddi", "mk2", "mk2_1290"]
ENERGY_KEYS = (
    "import",
    "export",
    "pv",
    "load",
    "battery_charge",
    "battery_discharge",
    "dab",
    "heater",
    "heat_pump",
    "battery_charge_dc",
    "battery_discharge_dc",
    # Battery energy into the tank (loads-baseline-s2.md §5.5): min(B_dis, H) over the
    # steps where PV does not cover the load and the heater (and the heat pump, when it
    # runs: §5.5 is written for a house without one).
    "battery_to_heater",
)


@dataclass(frozen=True)
class HouseParams:
    seed: int = 1
    start_day_of_year: int = 172  # the house clock's day 0 (1 = Jan 1; 172: midsummer)
    # PV: pvlib at the site (clear sky and clouds) when given, else the scenario bell curve
    pv: PvParams | None = None
    # Household load: richardsonpy refined to 1 s when given, else the scenario load
    # (base + noise + kettles at kettle_starts_s)
    load: LoadParams | None = None
    pv_kwp: float = 5.0
    sunrise_h: float = 6.0
    sunset_h: float = 20.0
    base_load_w: float = 350.0
    load_noise_w: float = 40.0
    kettle_power_w: float = 3000.0
    kettle_duration_s: float = 150.0
    kettle_starts_s: tuple[float, ...] = (12 * 3600 + 120.0, 12 * 3600 + 1500.0)
    battery_soc0_pct: float = 50.0
    pack: PackParams = field(default_factory=PackParams)  # two US2000: 2 x 50 Ah at 48 V
    inverter: InverterParams = field(default_factory=InverterParams)
    tank: TankParams = field(default_factory=TankParams)
    diverter: DiverterKind = "external"
    diverter_params: DiverterParams = field(default_factory=DiverterParams)
    heat_pump: HeatPumpParams = field(default_factory=HeatPumpParams)

    @property
    def battery_max_charge_w(self) -> float:  # kept for callers of the first house
        return self.inverter.ac_limit_w

    @property
    def battery_efficiency(self) -> float:
        return self.inverter.efficiency

    @property
    def heartbeat_timeout_s(self) -> float:
        return self.inverter.heartbeat_timeout_s


@dataclass
class HouseState:
    t_s: float
    soc_pct: float
    pv_w: float = 0.0
    load_w: float = 0.0
    dab_w: float = 0.0  # DC power into the DAB board's string, drawn from the house
    heater_w: float = 0.0
    heat_pump_w: float = 0.0
    battery_w: float = 0.0  # AC, + = discharge
    grid_w: float = 0.0  # + = import
    energy_wh: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ENERGY_KEYS, 0.0))

    # The inverter's mode and command live in the inverter model; these mirror them.
    mode: InverterMode = InverterMode.AUTO
    passive_battery_w: float = 0.0


def _make_diverter(kind: DiverterKind, element_w: float, p: DiverterParams) -> Diverter:
    if kind == "eddi":
        return EddiLike(
            export_margin_w=p.export_margin_w,
            response_delay_s=p.response_delay_s,
            element_w=element_w,
            avoid_drain=p.avoid_drain,
        )
    if kind in ("mk2", "mk2_1290"):
        own = 3600.0 if kind == "mk2" else 28800.0
        bucket = Mk2Bucket.sized(own if p.bucket_j is None else p.bucket_j)
        bucket.element_w, bucket.start_delay_s = element_w, p.response_delay_s
        return bucket
    return External()


class House:
    def __init__(self, params: HouseParams, start_s: float) -> None:
        self.p = params
        self.pack = PylontechPack(params.pack, params.battery_soc0_pct, params.seed)
        self.state = HouseState(t_s=start_s, soc_pct=self.pack.soc_pct)
        self.inverter = InverterModel(params.inverter, start_s)
        self.tank = Tank(params.tank)
        self.diverter = _make_diverter(
            params.diverter, params.tank.element_w, params.diverter_params
        )
        self.heat_pump = HeatPump(
            dataclasses.replace(params.heat_pump, day_of_year=params.start_day_of_year), start_s
        )
        self._trace_day: float | None = None  # the day whose PV and load traces are held
        self._pv_day: list[float] | None = None  # None: pv_w_at every step
        self._load_day: list[float] | None = None
        self.pv_model = (
            PvModel(params.pv, params.start_day_of_year, params.seed)
            if params.pv is not None
            else None
        )
        self.load_model = (
            HouseholdLoad(params.load, params.start_day_of_year, params.seed)
            if params.load is not None
            else None
        )
        self._rng = random.Random(params.seed)
        self._noise_w = 0.0
        s = self.state
        s.pv_w, s.load_w = self.pv_w_at(start_s), self.load_w_at(start_s)
        # Start in the self-use loop's steady state, as if the inverter had been running.
        # What the BMS last reported (charge, discharge), AC side: updated every step.
        self.bms_limits_ac_w = self.battery_limits_ac_w()
        lo, hi = (min(x, params.inverter.ac_limit_w) for x in self.bms_limits_ac_w)
        self.inverter.output_w = self.inverter.target_w = max(-lo, min(hi, s.load_w - s.pv_w))
        s.battery_w = self.inverter.output_w
        s.grid_w = self._grid_w()

    # ---- environment ------------------------------------------------------------
    # PV and the household's load are inputs, not outcomes: each model computes a day of
    # 1 s values at once (pvlib, richardsonpy), and a step reads them by index. A model
    # set from outside (a scenario's own PV trace) is asked every step instead.
    @property
    def pv_model(self) -> PvModel | None:
        return self._pv_model

    @pv_model.setter
    def pv_model(self, model: PvModel | None) -> None:
        self._pv_model = model
        self._trace_day = None

    @property
    def load_model(self) -> HouseholdLoad | None:
        return self._load_model

    @load_model.setter
    def load_model(self, model: HouseholdLoad | None) -> None:
        self._load_model = model
        self._trace_day = None

    def _hold_traces(self, day: float) -> None:
        """Hold day's PV and load traces (day: whole days on the house clock)."""
        pv, load = self._pv_model, self._load_model
        self._pv_day = pv.day_w(int(day)) if type(pv) is PvModel else None
        self._load_day = load.day_w(int(day)) if type(load) is HouseholdLoad else None
        self._trace_day = day

    def pv_w_at(self, t_s: float) -> float:
        """pvlib at the site, or the scenario's clear-sky bell (a sunny plateau at noon)."""
        if self.pv_model is not None:
            return self.pv_model.power_w(t_s)
        h = (t_s % 86400) / 3600.0
        if not self.p.sunrise_h < h < self.p.sunset_h:
            return 0.0
        x = (h - self.p.sunrise_h) / (self.p.sunset_h - self.p.sunrise_h)
        return float(self.p.pv_kwp * 1000.0 * 0.85 * math.sin(math.pi * x) ** 1.2)

    def load_w_at(self, t_s: float) -> float:
        if self.load_model is not None:
            return self.load_model.power_w(t_s)
        kettle = any(s <= t_s < s + self.p.kettle_duration_s for s in self.p.kettle_starts_s)
        return self.p.base_load_w + self._noise_w + (self.p.kettle_power_w if kettle else 0.0)

    # ---- the battery's BMS ------------------------------------------------------
    def battery_voltage_v(self) -> float:
        return self.pack.voltage_v

    def battery_limits_dc_a(self) -> tuple[float, float]:
        """(charge, discharge) current limits of the BMS (edge/sim/battery.py)."""
        return self.pack.limits_a()

    def battery_limits_ac_w(self) -> tuple[float, float]:
        charge_a, discharge_a = self.battery_limits_dc_a()
        v, eta = self.battery_voltage_v(), self.p.inverter.efficiency
        return charge_a * v / eta, discharge_a * v * eta

    @property
    def battery_full(self) -> bool:
        return self.battery_limits_dc_a()[0] == 0.0

    @property
    def battery_empty(self) -> bool:
        return self.battery_limits_dc_a()[1] == 0.0

    # ---- commands from the emulators -----------------------------------------------
    def command_passive(self, battery_w: float) -> None:
        self.inverter.command_passive(battery_w, self.state.t_s)
        self.state.mode, self.state.passive_battery_w = InverterMode.PASSIVE, battery_w

    def command_auto(self) -> None:
        self.inverter.command_auto()
        self.state.mode = InverterMode.AUTO

    def heartbeat(self) -> None:
        self.inverter.heartbeat(self.state.t_s)

    def set_dab_power(self, dab_w: float) -> None:
        self.state.dab_w = dab_w
        self.state.grid_w = self._grid_w()

    def set_diverter_w(self, setpoint_w: float) -> None:
        """The supervisor's diverter output (only with the "external" diverter)."""
        if isinstance(self.diverter, External):
            self.diverter.setpoint_w = setpoint_w

    def set_sg_ready(self, state: SgReady) -> None:
        self.heat_pump.set_state(state, self.state.t_s)

    # ---- stepping ---------------------------------------------------------------
    def _grid_w(self) -> float:
        s = self.state
        return s.load_w + s.dab_w + s.heater_w + s.heat_pump_w - s.pv_w - s.battery_w

    def step(self, dt_s: float) -> None:
        """Advance dt_s: the devices react to the grid CT, then energy is integrated."""
        if dt_s <= 0:
            return
        s = self.state
        t = s.t_s
        # The models' own look-up (power_w), without two calls a step.
        day = t // 86400.0
        if day != self._trace_day:
            self._hold_traces(day)
        k = int(t - day * 86400.0) % 86400
        pv_day, load_day = self._pv_day, self._load_day
        s.pv_w = pv_w = pv_day[k] if pv_day is not None else self.pv_w_at(t)
        s.load_w = load_w = load_day[k] if load_day is not None else self.load_w_at(t)
        # The diverter is far faster than the inverter: it acts on the CT first.
        # (The grid is _grid_w() written out, term for term, in the same order.)
        grid_w = load_w + s.dab_w + s.heater_w + s.heat_pump_w - pv_w - s.battery_w
        offer_w = self.diverter.offer_w(grid_w, s.heater_w, dt_s, s.battery_w)
        s.heater_w = heater_w = self.tank.accept(offer_w)
        s.heat_pump_w = heat_pump_w = self.heat_pump.step(t, dt_s)
        pack, eta = self.pack, self.p.inverter.efficiency
        charge_a, discharge_a = pack.limits_a()
        v = pack.voltage_v
        charge_w, discharge_w = self.bms_limits_ac_w = charge_a * v / eta, discharge_a * v * eta
        grid_w = load_w + s.dab_w + heater_w + heat_pump_w - pv_w - s.battery_w
        inverter = self.inverter
        s.battery_w = battery_w = inverter.step(t, dt_s, grid_w, s.soc_pct, charge_w, discharge_w)
        s.mode = inverter.mode
        s.grid_w = grid_w = load_w + s.dab_w + heater_w + heat_pump_w - pv_w - battery_w
        # Energy over the step at these powers.
        h = dt_s / 3600.0
        e = s.energy_wh
        e["import"] += max(grid_w, 0.0) * h
        e["export"] += max(-grid_w, 0.0) * h
        e["pv"] += pv_w * h
        e["load"] += load_w * h
        e["dab"] += s.dab_w * h
        e["heater"] += heater_w * h
        e["heat_pump"] += heat_pump_w * h
        # §5.5's leak: battery and heater both on while PV does not cover the household, the
        # heater and the heat pump (a heater exactly PV-fed, to rounding, is not).
        covered_w = load_w + heater_w + heat_pump_w - FED_EPS_W
        if battery_w > 0 and heater_w > 0 and pv_w < covered_w:
            e["battery_to_heater"] += min(battery_w, heater_w) * h
        if battery_w >= 0:
            e["battery_discharge"] += battery_w * h
            dc_w = -battery_w / eta
            e["battery_discharge_dc"] += -dc_w * h
        else:
            e["battery_charge"] += -battery_w * h
            dc_w = -battery_w * eta
            e["battery_charge_dc"] += dc_w * h
        pack.step(dc_w, dt_s)
        s.soc_pct = pack.soc_pct
        self.tank.step(t, dt_s)
        s.t_s = t + dt_s
        if load_day is None:  # the scenario load's noise, drawn for the next step
            self._noise_w = self._rng.uniform(-1.0, 1.0) * self.p.load_noise_w
