"""The house's plant stepped in C (firmware_c/sim/sim_house.c, in edge._core).

The Python models (house.py and friends) are the reference and stay the only copy the
emulators and the tests drive; the C step is the same arithmetic, in the same order, for
the closed loop's long runs (edge/sim/closed_loop.py). A CHouse copies a House's whole
state into a C struct, steps it, and copies it back (store): the two give the same
numbers to the last bit (tests/edge/sim/test_house_c.py holds it).

PV and load stay the Python models' day traces (pvlib, richardsonpy): a day is computed
by them when the step first needs it and lent to C as an array. Only a house whose inputs
are those traces can step in C; unsupported() says why another cannot. EDGE_SIM_PLANT=python
in the environment keeps every run on the Python models.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

from edge._core import ffi, lib
from edge.sim.battery import LFP
from edge.sim.diverter import EddiLike, External, Mk2Bucket
from edge.sim.heatpump import SgReady
from edge.sim.house import ENERGY_KEYS, House
from edge.sim.inverter import InverterMode
from edge.sim.load import HouseholdLoad
from edge.sim.pv import PvModel

__all__ = ["CHouse", "PlantError", "unsupported", "wanted"]

_ERRORS = {
    lib.EDGE_SIM_PENDING_FULL: "more inverter CT samples waiting than the C plant holds "
    f"({lib.EDGE_SIM_PENDING_MAX}): the dead time is too long for the meter period",
    lib.EDGE_SIM_STARTS_FULL: "more heat pump starts in an hour than the C plant holds "
    f"({lib.EDGE_SIM_STARTS_MAX})",
}
_SG_OF = {s.value: s for s in SgReady}
# The runs of doubles in the C struct (edge_sim_house_api.h) and the Python attributes
# they are stored into, in the same order.
_STATE_RUN = (
    "t_s",
    "soc_pct",
    "pv_w",
    "load_w",
    "dab_w",
    "heater_w",
    "heat_pump_w",
    "battery_w",
    "grid_w",
)
_HOUSE_RUN_N = len(_STATE_RUN) + len(ENERGY_KEYS) + 2  # then the BMS's two limits
# ... then the two cell limits (_cell_limits_a)
_PACK_RUN = (
    "charge_as",
    "current_a",
    "temp_degc",
    "_throughput_as",
    "_cache_q",
    "_soc_pct",
    "_max_cell_pct",
    "_min_cell_pct",
    "_ocv_module_v",
)
_INVERTER_RUN = (
    "passive_w",
    "last_heartbeat_s",
    "output_w",
    "target_w",
    "in_check_until_s",
    "_t_s",
    "_next_sample_s",
)
_TANK_RUN = ("temp_degc", "heater_w", "_quiet_from_s", "_quiet_to_s")
_HEAT_PUMP_RUN = ("t_in_degc", "power_w", "_changed_s")


class PlantError(RuntimeError):
    """The C plant cannot go on with this house (a bound of its fixed arrays)."""


def wanted() -> bool:
    """Whether runs should step in C: yes unless EDGE_SIM_PLANT=python."""
    return os.environ.get("EDGE_SIM_PLANT", "c") != "python"


def unsupported(house: House) -> str | None:
    """Why this house cannot step in C, or None when it can."""
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
        self._pack, self._inv, self._tank = c.pack, c.inverter, c.tank
        self._hp, self._div = c.heat_pump, c.diverter
        addr, dbl = ffi.addressof, "double *"
        self._house_run = ffi.cast(dbl, addr(c[0], "t_s"))
        self._pack_run = ffi.cast(dbl, addr(self._pack, "charge_as"))
        self._inv_run = ffi.cast(dbl, addr(self._inv, "passive_w"))
        self._tank_run = ffi.cast(dbl, addr(self._tank, "temp_degc"))
        self._hp_run = ffi.cast(dbl, addr(self._hp, "t_in_degc"))
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
        """Copy the state back into the House's objects, as if they had stepped. The
        doubles each model's step changes lie in one run in C (edge_sim_house_api.h):
        one unpack each, written into the objects' attributes by name."""
        h = self.house
        unpack = ffi.unpack
        v = unpack(self._house_run, _HOUSE_RUN_N)
        s = h.state
        vars(s).update(zip(_STATE_RUN, v, strict=False))  # the first 9
        s.energy_wh.update(zip(ENERGY_KEYS, v[9:21], strict=True))
        h.bms_limits_ac_w = (v[21], v[22])
        ci, ch, pk = self._inv, self._hp, self._pack
        passive = ci.passive
        s.mode = InverterMode.PASSIVE if passive else InverterMode.AUTO
        s.passive_battery_w = self.passive_battery_w
        changes = (ci.pending_changes, ch.starts_changes, pk.refreshes)
        last, self._changes = self._changes, changes
        # the pack
        pack = h.pack
        v = unpack(self._pack_run, len(_PACK_RUN) + 2)
        vars(pack).update(zip(_PACK_RUN, v, strict=False))
        pack._cell_limits_a = (v[-2], v[-1])
        pack.cycles = pk.cycles
        if not pk.cache_valid:
            pack._cache_q = None
        if changes[2] != last[2]:
            pack._cell_socs = [list(pk.cell_socs[m]) for m in range(pack.p.modules)]
        # the inverter
        inv = h.inverter
        vars(inv).update(zip(_INVERTER_RUN, unpack(self._inv_run, len(_INVERTER_RUN)), strict=True))
        inv.mode, inv.flips = s.mode, ci.flips
        if changes[0] != last[0]:
            ring, head = lib.EDGE_SIM_PENDING_MAX, ci.pending_head
            inv._pending = deque(
                (ci.pending_at_s[(head + k) % ring], ci.pending_w[(head + k) % ring])
                for k in range(ci.pending_count)
            )
        # the tank
        tank, ct = h.tank, self._tank
        vars(tank).update(zip(_TANK_RUN, unpack(self._tank_run, len(_TANK_RUN)), strict=True))
        tank.thermostat_closed, tank.comfort_misses = bool(ct.thermostat_closed), ct.comfort_misses
        # the heat pump
        hp = h.heat_pump
        vars(hp).update(zip(_HEAT_PUMP_RUN, unpack(self._hp_run, len(_HEAT_PUMP_RUN)), strict=True))
        hp.state, hp.running, hp.starts = _SG_OF[ch.sg], bool(ch.running), ch.starts
        hp._lock_since_s = ch.lock_since_s if ch.lock_valid else None
        if changes[1] != last[1]:
            ring, head = lib.EDGE_SIM_STARTS_MAX, ch.starts_head
            hp._starts = deque(ch.starts_s[(head + k) % ring] for k in range(ch.starts_count))
        # the diverter
        d, cd = h.diverter, self._div
        if isinstance(d, External):
            d.setpoint_w = cd.setpoint_w
        elif isinstance(d, EddiLike):
            d.diverting, d._export_for_s = bool(cd.diverting), cd.export_for_s
        elif isinstance(d, Mk2Bucket):
            d.on, d.bucket_j, d._over_for_s = bool(cd.on), cd.bucket_j, cd.over_for_s
