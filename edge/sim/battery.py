"""A Pylontech-style LiFePO4 pack: US2000-like modules (15 cells in series, 50 Ah, 48 V)
in parallel, with a spread of cell capacities and starting SOCs, a thermal node, and the
BMS's charge and discharge current limits (docs/reference/pylontech.md §1.6-1.9, §3).

Cells in series carry the same current, so a cell's SOC is its start SOC plus the charge
through its module over its own capacity: the model integrates one number per module and
works out cell values when asked. The OCV curve is the C core's LiFePO4 table
(firmware_c/src/chem.c, through cffi), so plant and firmware share one chemistry.

BMS limits (assumptions from the data-sheet ranges in pylontech.md §3): charge current
up to the module rating, tapering to 0 from the highest cell at 95 % to 100 % SOC;
discharge tapering to 0 from the lowest cell at 15 % down to the 5 % cut-off; no charge
below 0 degC or above 50 degC, no discharge below -10 degC or above 50 degC.
Terminal voltage: OCV plus I x R, but never above the charge voltage limit (53.2 V per
module, pylontech.md §3): the charger holds the pack there while the cells top up (its
constant-voltage phase), so a full pack stays under the module's 54.0 V alarm.
Sign: current + = charging (the Pylontech convention); edge's battery power sign is
applied by the house.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from edge._core import lib

LFP = lib.edge_chem(lib.EDGE_CHEM_LIFEPO4)
CELLS = 15


@dataclass(frozen=True)
class PackParams:
    modules: int = 2
    module_ah: float = 50.0  # US2000
    cell_capacity_spread: float = 0.02  # +- share of capacity, seeded
    cell_soc_spread: float = 0.01  # +- start SOC
    cell_r_ohm: float = 0.0012  # per cell, a 50 Ah LFP cell
    rated_current_a: float = 50.0  # per module (1C max; 25 A recommended)
    charge_voltage_limit_v: float = 53.2  # per module (pylontech.md §3, CAN 0x351 captures)
    cutoff_soc_pct: float = 5.0
    taper_high_pct: float = 95.0
    taper_low_pct: float = 15.0
    c_th_j_per_k: float = 25000.0  # per module
    r_th_k_per_w: float = 1.0
    ambient_degc: float = 20.0
    cycles0: int = 31


class PylontechPack:
    def __init__(self, params: PackParams, soc0_pct: float, seed: int) -> None:
        self.p = params
        rng = random.Random(seed * 104729 + 17)
        self._cap = [
            [
                params.module_ah * 3600.0 * (1 + rng.uniform(-1, 1) * params.cell_capacity_spread)
                for _ in range(CELLS)
            ]
            for _ in range(params.modules)
        ]
        self._soc0 = [
            [
                min(1.0, max(0.0, soc0_pct / 100.0 + rng.uniform(-1, 1) * params.cell_soc_spread))
                for _ in range(CELLS)
            ]
            for _ in range(params.modules)
        ]
        self.charge_as = 0.0  # through each module since the start, + = charged
        self.current_a = 0.0  # pack current now, + = charging
        self.temp_degc = params.ambient_degc
        self.cycles = params.cycles0
        self._throughput_as = 0.0
        self._cache_q: float | None = None
        self._cell_socs: list[list[float]] = []
        self._soc_pct = 0.0
        self._max_cell_pct = 0.0
        self._min_cell_pct = 0.0
        self._ocv_module_v = 0.0
        self._requantum_as = 0.0005 * params.module_ah * 3600.0
        self._cell_limits_a = (0.0, 0.0)

    # ---- cells ------------------------------------------------------------------
    def cell_socs(self) -> list[list[float]]:
        self._refresh()
        return self._cell_socs

    def _refresh(self) -> None:
        # Recomputed when the charge has moved by 0.05 % of a module (registers show 1 %).
        # Between refreshes every cell figure is read from the cache: one check a step.
        if self._cache_q is None or abs(self.charge_as - self._cache_q) >= self._requantum_as:
            q = self.charge_as
            # Each cell's SOC held to [0, 1]: min(1.0, max(0.0, x)) written out, as it
            # runs for 30 cells every few seconds.
            self._cell_socs = cells = [
                [
                    x if 0.0 < x < 1.0 else (1.0 if x >= 1.0 else 0.0)
                    for x in [s0 + q / c for s0, c in zip(socs, caps, strict=True)]
                ]
                for socs, caps in zip(self._soc0, self._cap, strict=True)
            ]
            self._cache_q = q
            self._soc_pct = 100.0 * sum(map(sum, cells)) / (CELLS * self.p.modules)
            self._max_cell_pct = 100.0 * max(map(max, cells))
            self._min_cell_pct = 100.0 * min(map(min, cells))
            ocv = lib.edge_chem_ocv_V
            self._ocv_module_v = sum([ocv(LFP, x) for m in cells for x in m]) / self.p.modules
            self._cell_limits_a = self._cell_limits()

    def cell_voltages_v(self) -> list[list[float]]:
        i_mod = self.current_a / self.p.modules
        top_v = self.p.charge_voltage_limit_v / CELLS
        return [
            [min(top_v, lib.edge_chem_ocv_V(LFP, s) + i_mod * self.p.cell_r_ohm) for s in mod]
            for mod in self.cell_socs()
        ]

    @property
    def soc_pct(self) -> float:
        """What the BMS reports: remaining over total capacity, summed over the cells."""
        self._refresh()
        return self._soc_pct

    @property
    def max_cell_soc_pct(self) -> float:
        self._refresh()
        return self._max_cell_pct

    @property
    def min_cell_soc_pct(self) -> float:
        self._refresh()
        return self._min_cell_pct

    def module_voltage_v(self, module: int = 0) -> float:
        return sum(self.cell_voltages_v()[module])

    @property
    def voltage_v(self) -> float:
        """Terminal voltage: the modules' mean OCV plus I x R of 15 cells (per module), held
        at the charge voltage limit."""
        self._refresh()
        v = self._ocv_module_v + self.current_a / self.p.modules * self.p.cell_r_ohm * CELLS
        return min(self.p.charge_voltage_limit_v, v)

    # ---- the BMS ----------------------------------------------------------------
    def limits_a(self) -> tuple[float, float]:
        """(charge, discharge) current limits of the whole pack, >= 0."""
        self._refresh()
        t = self.temp_degc
        if 0.0 <= t <= 50.0:
            return self._cell_limits_a
        # Too hot or cold to charge; discharge allowed down to -10 degC.
        discharge = self._cell_limits_a[1] if -10.0 <= t <= 50.0 else 0.0
        return 0.0, discharge

    def _cell_limits(self) -> tuple[float, float]:
        """The limits the cells' SOCs set (the taper), before the temperature's."""
        p = self.p
        rated = p.rated_current_a * p.modules
        hi, lo = self._max_cell_pct, self._min_cell_pct
        charge = rated * max(0.0, min(1.0, (100.0 - hi) / (100.0 - p.taper_high_pct)))
        discharge = rated * max(
            0.0, min(1.0, (lo - p.cutoff_soc_pct) / (p.taper_low_pct - p.cutoff_soc_pct))
        )
        return charge, discharge

    # ---- stepping ---------------------------------------------------------------
    def step(self, dc_power_w: float, dt_s: float) -> None:
        """Advance dt_s with dc_power_w into the pack (+ = charging)."""
        p = self.p
        # The pack voltage only converts power to current here: the OCV is enough.
        self._refresh()
        self.current_a = dc_power_w / max(self._ocv_module_v, 1.0)
        q = self.current_a / p.modules * dt_s
        self.charge_as += q
        self._throughput_as += abs(q)
        full_cycle_as = 2 * p.module_ah * 3600.0
        if self._throughput_as >= full_cycle_as:
            self.cycles += 1
            self._throughput_as -= full_cycle_as
        heat = (self.current_a / p.modules) ** 2 * p.cell_r_ohm * CELLS * p.modules
        self.temp_degc += (
            dt_s
            / (p.c_th_j_per_k * p.modules)
            * (heat - (self.temp_degc - p.ambient_degc) / p.r_th_k_per_w)
        )
