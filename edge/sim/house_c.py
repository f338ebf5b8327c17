"""The house's plant stepped in C (firmware_c/sim/: sim_house.c, sim_devices.c; in edge._core).

The Python models (house.py and friends) are the reference and stay the only copy the
emulators and the tests drive; the C step is the same arithmetic, in the same order, for
the closed loop's long runs (edge/sim/closed_loop.py). A CHouse copies a House's whole
state into a C struct, steps it, and copies it back (store): the two give the same
numbers to the last bit (tests/edge/sim/test_house_c.py holds it).

PV and load stay the Python models' day traces (pvlib, richardsonpy): a day is computed
by them when the step first needs it and lent to C as an array. Only a house whose inputs
are those traces can step in C; unsupported() says why another cannot. EDGE_SIM_PLANT=python
in the environment keeps every run on the Python models.

A Recorder is a run's trace of every step in numpy columns: the C step writes each row
itself (edge_sim_record_t), so an observed run need not copy the whole house out of C
each step; with the Python models, row() writes the same values from the House.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from edge._core import ffi, lib
from edge.sim.battery import LFP
from edge.sim.diverter import EddiLike, External, Mk2Bucket
from edge.sim.heatpump import SgReady
from edge.sim.house import ENERGY_KEYS, House
from edge.sim.inverter import InverterMode
from edge.sim.load import HouseholdLoad
from edge.sim.pv import PvModel

__all__ = ["RECORDED", "CHouse", "PlantError", "Recorder", "unsupported", "wanted"]


def _built() -> bool:
    try:
        ffi.typeof("edge_sim_record_t")  # the newest part of the plant's API
    except ffi.error:
        return False
    return hasattr(lib, "edge_sim_house_step")


# An edge._core built before the plant (or its record) was added to it has none of this:
# runs stay in Python (unsupported() says so) rather than failing at import.
BUILT = _built()
_ERRORS = (
    {
        lib.EDGE_SIM_PENDING_FULL: "more inverter CT samples waiting than the C plant holds "
        f"({lib.EDGE_SIM_PENDING_MAX}): the dead time is too long for the meter period",
        lib.EDGE_SIM_STARTS_FULL: "more heat pump starts in an hour than the C plant holds "
        f"({lib.EDGE_SIM_STARTS_MAX})",
    }
    if BUILT
    else {}
)
_SG_OF = {s.value: s for s in SgReady}
# The order store() writes energy_wh in: house.py's, which the C side's enum follows.
_ENERGY_ORDER = (
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
    "battery_to_heater",
)
if ENERGY_KEYS != _ENERGY_ORDER:  # house.py changed: the C enum and store() must follow
    raise ImportError(f"house.ENERGY_KEYS is {ENERGY_KEYS}, the C plant's {_ENERGY_ORDER}")


# A Recorder's columns, the House's values after each step: state's fields, hp_w its
# heat_pump_w, tank_degc the tank's temp_degc, house_degc the heat pump's t_in_degc (the
# C struct's fields by the same names, hp_w as heat_pump_w); plus check, in_check.
RECORDED = (
    "t_s",
    "pv_w",
    "load_w",
    "heater_w",
    "hp_w",
    "battery_w",
    "grid_w",
    "soc_pct",
    "tank_degc",
    "house_degc",
)
_RECORD_FIELDS = dict(zip(RECORDED, (*RECORDED[:4], "heat_pump_w", *RECORDED[5:]), strict=True))


class Recorder:
    """A trace of `size` steps: cols[name] (float64) and check (bool), filled row by row
    from k = 0. When a run fills it, on_full(house) is called with the House up to date
    and the rows start over at 0 (the caller copies them out in on_full)."""

    def __init__(self, size: int, on_full: Callable[[House], None]) -> None:
        if size < 1:
            raise ValueError(f"a recorder holds at least one step, not {size}")
        self.size, self.on_full = size, on_full
        self.cols = {name: np.zeros(size) for name in RECORDED}
        self.check = np.zeros(size, dtype=np.bool_)
        self._keep: list[Any] = []  # the columns' cdata views, alive while c points at them
        if not BUILT:  # only the Python models run: k and size without the C struct
            self.c: Any = _Rows(size)
            return
        self.c = ffi.new("edge_sim_record_t *")
        for name, field in _RECORD_FIELDS.items():
            view = ffi.from_buffer("double[]", self.cols[name])
            self._keep.append(view)
            setattr(self.c, field, view)
        view = ffi.from_buffer("unsigned char[]", self.check)
        self._keep.append(view)
        self.c.check, self.c.size = view, size

    @property
    def k(self) -> int:
        """The rows written."""
        return int(self.c.k)

    def full(self, house: House) -> None:
        """The rows are all written and the house is up to date: on_full, then row 0."""
        self.on_full(house)
        self.c.k = 0

    def row(self, house: House) -> None:
        """The next row from the House itself (the Python models' run), as C writes it."""
        k, s, cols = self.c.k, house.state, self.cols
        cols["t_s"][k] = s.t_s
        cols["pv_w"][k] = s.pv_w
        cols["load_w"][k] = s.load_w
        cols["heater_w"][k] = s.heater_w
        cols["hp_w"][k] = s.heat_pump_w
        cols["battery_w"][k] = s.battery_w
        cols["grid_w"][k] = s.grid_w
        cols["soc_pct"][k] = s.soc_pct
        cols["tank_degc"][k] = house.tank.temp_degc
        cols["house_degc"][k] = house.heat_pump.t_in_degc
        self.check[k] = house.inverter.in_check
        self.c.k = k + 1
        if k + 1 == self.size:
            self.full(house)


class _Rows:
    """A Recorder's row count where edge._core has no edge_sim_record_t."""

    def __init__(self, size: int) -> None:
        self.size, self.k = size, 0


class PlantError(RuntimeError):
    """The C plant cannot go on with this house (a bound of its fixed arrays)."""


def wanted() -> bool:
    """Whether runs should step in C: yes unless EDGE_SIM_PLANT=python."""
    return os.environ.get("EDGE_SIM_PLANT", "c") != "python"


def unsupported(house: House) -> str | None:
    """Why this house cannot step in C, or None when it can."""
    if not BUILT:
        return "edge._core was built without the plant or its record (rebuild it: pip install -e .)"
    if type(house.pv_model) is not PvModel or type(house.load_model) is not HouseholdLoad:
        return "PV and load are not the pvlib and richardsonpy day traces"
    if type(house.diverter) not in (External, EddiLike, Mk2Bucket):
        return f"no C model of the diverter {type(house.diverter).__name__}"
    if not 1 <= house.p.pack.modules <= lib.EDGE_SIM_MODULES_MAX:
        return f"the C plant holds 1 to {lib.EDGE_SIM_MODULES_MAX} modules"
    if len(house.p.tank.draws) > lib.EDGE_SIM_DRAWS_MAX:
        return f"the C plant holds at most {lib.EDGE_SIM_DRAWS_MAX} draws a day"
    if house.heat_pump.p.max_starts_per_h > lib.EDGE_SIM_STARTS_MAX:
        return f"the C plant holds at most {lib.EDGE_SIM_STARTS_MAX} starts an hour"
    return None


class CHouse:
    """A House's state in C. After load (done at creation), the House's own objects are
    stale until store(): step, command and read through this object in between."""

    def __init__(self, house: House) -> None:
        why = unsupported(house)
        if why is not None:
            raise ValueError(f"this house cannot step in C: {why}")
        self.house = house
        self.c: Any = ffi.new("edge_sim_house_t *")
        self.c.chem = LFP  # the cells' OCV table, as the Python pack reads it
        self._pv: Any = None  # the day's traces lent to C (kept alive here)
        self._load: Any = None
        self.passive_battery_w = 0.0
        self._changes = (-1, -1, -1)  # pending, starts, cells when last stored
        c = self.c
        self._pack, self._inv, self._hp = c.pack, c.inverter, c.heat_pump  # views into c
        self._out = ffi.new("double[]", lib.EDGE_SIM_EXPORT_N)
        self._buf = ffi.buffer(self._out)
        self._unpack = struct.Struct(f"{lib.EDGE_SIM_EXPORT_N}d").unpack_from
        self._cells_buf = ffi.buffer(self._pack.cell_socs)  # [module][cell], row-major
        n_cells = lib.EDGE_SIM_MODULES_MAX * lib.EDGE_SIM_CELLS
        self._unpack_cells = struct.Struct(f"{n_cells}d").unpack_from
        self.load()

    # ---- House -> C ---------------------------------------------------------------
    def load(self) -> None:
        """Copy the House's whole state (and its models' parameters) into C."""
        h, c = self.house, self.c
        s = h.state
        for name in ("t_s", "soc_pct", "pv_w", "load_w", "dab_w", "heater_w"):
            setattr(c, name, getattr(s, name))
        c.heat_pump_w, c.battery_w, c.grid_w = s.heat_pump_w, s.battery_w, s.grid_w
        c.energy_wh = [s.energy_wh[k] for k in ENERGY_KEYS]
        c.bms_charge_w, c.bms_discharge_w = h.bms_limits_ac_w
        self.passive_battery_w = s.passive_battery_w
        c.trace_valid = 0
        self._load_pack()
        self._load_inverter()
        self._load_tank()
        self._load_heat_pump()
        self._load_diverter()
        self._changes = (c.inverter.pending_changes, c.heat_pump.starts_changes, c.pack.refreshes)

    def _load_pack(self) -> None:
        pk, cp = self.house.pack, self.c.pack
        p = pk.p
        cp.modules = p.modules
        for name in ("cell_r_ohm", "rated_current_a", "charge_voltage_limit_v", "cutoff_soc_pct"):
            setattr(cp, name, getattr(p, name))
        for name in ("taper_high_pct", "taper_low_pct", "c_th_j_per_k", "r_th_k_per_w"):
            setattr(cp, name, getattr(p, name))
        cp.ambient_degc, cp.module_ah = p.ambient_degc, p.module_ah
        cp.requantum_as = pk._requantum_as
        for m in range(p.modules):
            cp.cap_as[m] = pk._cap[m]
            cp.soc0[m] = pk._soc0[m]
        cp.charge_as, cp.current_a, cp.temp_degc = pk.charge_as, pk.current_a, pk.temp_degc
        cp.throughput_as, cp.cycles = pk._throughput_as, pk.cycles
        cp.cache_valid = pk._cache_q is not None
        cp.cache_q = pk._cache_q or 0.0
        for m, socs in enumerate(pk._cell_socs):
            cp.cell_socs[m] = socs
        cp.soc_pct, cp.max_cell_pct = pk._soc_pct, pk._max_cell_pct
        cp.min_cell_pct, cp.ocv_module_v = pk._min_cell_pct, pk._ocv_module_v
        cp.cell_charge_a, cp.cell_discharge_a = pk._cell_limits_a

    def _load_inverter(self) -> None:
        inv, ci = self.house.inverter, self.c.inverter
        p = inv.p
        for name in ("ac_limit_w", "efficiency", "meter_period_s", "dead_time_s", "ramp_w_per_s"):
            setattr(ci, name, getattr(p, name))
        for name in ("deadband_w", "flip_check_s", "heartbeat_timeout_s", "eps_reserve_soc_pct"):
            setattr(ci, name, getattr(p, name))
        ci.timeout_standby = p.timeout_standby
        ci.passive = inv.mode is InverterMode.PASSIVE
        ci.passive_w, ci.last_heartbeat_s = inv.passive_w, inv.last_heartbeat_s
        ci.output_w, ci.target_w = inv.output_w, inv.target_w
        ci.in_check_until_s, ci.t_s, ci.flips = inv.in_check_until_s, inv._t_s, inv.flips
        ci.next_sample_s = inv._next_sample_s
        if len(inv._pending) > lib.EDGE_SIM_PENDING_MAX:
            raise PlantError(_ERRORS[lib.EDGE_SIM_PENDING_FULL])
        ci.pending_head, ci.pending_count = 0, len(inv._pending)
        for k, (at_s, w) in enumerate(inv._pending):
            ci.pending_at_s[k], ci.pending_w[k] = at_s, w

    def _load_tank(self) -> None:
        tk, ct = self.house.tank, self.c.tank
        p = tk.p
        for name in ("volume_l", "element_w", "thermostat_degc", "thermostat_hysteresis_k"):
            setattr(ct, name, getattr(p, name))
        ct.cold_water_degc, ct.ambient_degc = p.cold_water_degc, p.ambient_degc
        ct.loss_w_per_k, ct.c_j_per_k = p.loss_w_per_k, tk._c_j_per_k
        ct.n_draws = len(p.draws)
        for k, (start_h, litres, minutes) in enumerate(p.draws):
            ct.draw_start_h[k], ct.draw_litres[k], ct.draw_minutes[k] = start_h, litres, minutes
        ct.n_edges = len(tk._edges_s)
        ct.edges_s[0 : len(tk._edges_s)] = tk._edges_s
        ct.temp_degc, ct.thermostat_closed = tk.temp_degc, tk.thermostat_closed
        ct.heater_w, ct.comfort_misses = tk.heater_w, tk.comfort_misses
        ct.quiet_from_s, ct.quiet_to_s = tk._quiet_from_s, tk._quiet_to_s

    def _load_heat_pump(self) -> None:
        hp, ch = self.house.heat_pump, self.c.heat_pump
        p = hp.p
        for name in (
            "heat_w",
            "min_on_s",
            "min_off_s",
            "max_starts_per_h",
            "max_lock_s",
            "setpoint_degc",
            "hysteresis_k",
            "recommend_boost_k",
            "force_limit_k",
            "house_c_j_per_k",
            "house_ua_w_per_k",
            "internal_gain_w",
            "t_out_mean_degc",
            "t_out_season_k",
            "t_out_daily_k",
            "day_of_year",
        ):
            setattr(ch, name, getattr(p, name))
        ch.sg, ch.running = hp.state.value, hp.running
        ch.t_in_degc, ch.power_w, ch.starts = hp.t_in_degc, hp.power_w, hp.starts
        ch.changed_s = hp._changed_s
        ch.lock_valid = hp._lock_since_s is not None
        ch.lock_since_s = hp._lock_since_s if hp._lock_since_s is not None else 0.0
        if len(hp._starts) > lib.EDGE_SIM_STARTS_MAX:
            raise PlantError(_ERRORS[lib.EDGE_SIM_STARTS_FULL])
        ch.starts_head, ch.starts_count = 0, len(hp._starts)
        ch.starts_s[0 : len(hp._starts)] = list(hp._starts)

    def _load_diverter(self) -> None:
        d, cd = self.house.diverter, self.c.diverter
        if isinstance(d, External):
            cd.kind, cd.setpoint_w = lib.EDGE_SIM_DIV_EXTERNAL, d.setpoint_w
        elif isinstance(d, EddiLike):
            cd.kind = lib.EDGE_SIM_DIV_EDDI
            cd.export_threshold_w, cd.export_margin_w = d.export_threshold_w, d.export_margin_w
            cd.response_delay_s, cd.element_w = d.response_delay_s, d.element_w
            cd.avoid_drain, cd.diverting = d.avoid_drain, d.diverting
            cd.export_for_s = d._export_for_s
        elif isinstance(d, Mk2Bucket):
            cd.kind = lib.EDGE_SIM_DIV_MK2
            cd.capacity_j, cd.start_j, cd.stop_j = d.capacity_j, d.start_j, d.stop_j
            cd.element_w, cd.start_delay_s, cd.on = d.element_w, d.start_delay_s, d.on
            cd.bucket_j, cd.over_for_s = d.bucket_j, d._over_for_s

    # ---- stepping and commands ------------------------------------------------------
    def step(self, dt_s: float) -> None:
        """House.step(dt_s) in C."""
        rc = lib.edge_sim_house_step(self.c, dt_s)
        if rc:
            self.resume(rc, dt_s)

    def resume(self, rc: int, dt_s: float) -> None:
        """After a step that returned rc (not EDGE_SIM_OK): lend C the day's traces and
        step, or raise PlantError for a bound's overflow."""
        while rc == lib.EDGE_SIM_NEED_DAY:
            c, h = self.c, self.house
            h._hold_traces(c.need_day)  # the models compute the day (pvlib, richardsonpy)
            assert h._pv_day is not None and h._load_day is not None  # unsupported() holds it
            self._pv = ffi.new("double[]", h._pv_day)
            self._load = ffi.new("double[]", h._load_day)
            c.pv_w_day, c.load_w_day = self._pv, self._load
            c.trace_day, c.trace_valid = c.need_day, 1
            rc = lib.edge_sim_house_step(c, dt_s)
        if rc:
            raise PlantError(_ERRORS.get(rc, f"the C plant's step failed ({rc})"))

    def command_passive(self, battery_w: float) -> None:
        lib.edge_sim_house_command_passive(self.c, battery_w)
        self.passive_battery_w = battery_w

    def command_auto(self) -> None:
        lib.edge_sim_house_command_auto(self.c)

    def set_sg_ready(self, state: SgReady) -> None:
        lib.edge_sim_house_set_sg(self.c, state.value)

    # ---- C -> House -----------------------------------------------------------------
    def store(self) -> None:
        """Copy the state back into the House's objects, as if they had stepped: one
        copy out of C (edge_sim_house_export, its order in edge_sim_house_api.h), then
        each attribute set by name; the queues and cells only when C changed them. It
        runs every step of an observed run, so it is written out rather than looped."""
        h = self.house
        lib.edge_sim_house_export(self.c, self._out)
        v = self._unpack(self._buf)
        s = h.state
        (s.t_s, s.soc_pct, s.pv_w, s.load_w, s.dab_w) = v[0:5]
        (s.heater_w, s.heat_pump_w, s.battery_w, s.grid_w) = v[5:9]
        e = s.energy_wh  # in ENERGY_KEYS's order, checked at import
        (e["import"], e["export"], e["pv"], e["load"]) = v[9:13]
        (e["battery_charge"], e["battery_discharge"], e["dab"], e["heater"]) = v[13:17]
        (e["heat_pump"], e["battery_charge_dc"], e["battery_discharge_dc"]) = v[17:20]
        e["battery_to_heater"] = v[20]
        h.bms_limits_ac_w = v[21:23]
        mode = InverterMode.PASSIVE if v[48] else InverterMode.AUTO
        s.mode, s.passive_battery_w = mode, self.passive_battery_w
        changes = (v[50], v[61], v[53])  # the inverter's queue, the starts, the cells
        last, self._changes = self._changes, changes
        pack = h.pack
        (pack.charge_as, pack.current_a, pack.temp_degc, pack._throughput_as) = v[23:27]
        (pack._soc_pct, pack._max_cell_pct, pack._min_cell_pct) = v[28:31]
        pack._ocv_module_v, pack._cell_limits_a = v[31], v[32:34]
        pack._cache_q = v[27] if v[52] else None
        pack.cycles = int(v[51])
        if changes[2] != last[2]:
            x, n = self._unpack_cells(self._cells_buf), lib.EDGE_SIM_CELLS
            pack._cell_socs = [list(x[m * n : (m + 1) * n]) for m in range(pack.p.modules)]
        inv = h.inverter
        (inv.passive_w, inv.last_heartbeat_s, inv.output_w, inv.target_w) = v[34:38]
        (inv.in_check_until_s, inv._t_s, inv._next_sample_s) = v[38:41]
        inv.mode, inv.flips = mode, int(v[49])
        if changes[0] != last[0]:
            ci, ring = self._inv, lib.EDGE_SIM_PENDING_MAX
            head = ci.pending_head
            inv._pending = deque(
                (ci.pending_at_s[(head + k) % ring], ci.pending_w[(head + k) % ring])
                for k in range(ci.pending_count)
            )
        tank = h.tank
        (tank.temp_degc, tank.heater_w, tank._quiet_from_s, tank._quiet_to_s) = v[41:45]
        tank.thermostat_closed, tank.comfort_misses = bool(v[54]), int(v[55])
        hp = h.heat_pump
        (hp.t_in_degc, hp.power_w, hp._changed_s) = v[45:48]
        hp.state, hp.running, hp.starts = _SG_OF[int(v[56])], bool(v[57]), int(v[58])
        hp._lock_since_s = v[60] if v[59] else None
        if changes[1] != last[1]:
            ch, ring = self._hp, lib.EDGE_SIM_STARTS_MAX
            head = ch.starts_head
            hp._starts = deque(ch.starts_s[(head + k) % ring] for k in range(ch.starts_count))
        d = h.diverter
        if isinstance(d, External):
            d.setpoint_w = v[62]
        elif isinstance(d, EddiLike):
            d._export_for_s, d.diverting = v[62], bool(v[63])
        elif isinstance(d, Mk2Bucket):
            d.bucket_j, d.on, d._over_for_s = v[62], bool(v[63]), v[64]
