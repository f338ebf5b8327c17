"""The Python face of the C core (firmware_c, built as edge._core through cffi): the DAB
control loop, the plant model, the pulse estimator, the protection and charge tables and the
board's Modbus slave. Units in names, tables as data.

The C structs stay the source of truth; this module only names things. Sign: current and
power + = from the DC bus into the string (charging). Time: one inner step is one
switching period (10 us by default); the slow tick is every 100 inner steps (1 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from edge._core import ffi, lib


class Chemistry(IntEnum):
    LIFEPO4 = lib.EDGE_CHEM_LIFEPO4
    LEAD_ACID = lib.EDGE_CHEM_LEAD_ACID
    ZINC = lib.EDGE_CHEM_ZINC


class Command(IntEnum):
    OFF = lib.EDGE_CMD_OFF
    CURRENT = lib.EDGE_CMD_CURRENT
    V_STRING = lib.EDGE_CMD_V_STRING
    V_BUS = lib.EDGE_CMD_V_BUS
    PROTOCOL = lib.EDGE_CMD_PROTOCOL


class Fault(IntEnum):
    STRING_OV = lib.EDGE_FAULT_STRING_OV
    STRING_UV = lib.EDGE_FAULT_STRING_UV
    CELL_OV = lib.EDGE_FAULT_CELL_OV
    CELL_UV = lib.EDGE_FAULT_CELL_UV
    OC_INST = lib.EDGE_FAULT_OC_INST
    OC_I2T = lib.EDGE_FAULT_OC_I2T
    OVER_TEMP = lib.EDGE_FAULT_OVER_TEMP
    BUS_OV = lib.EDGE_FAULT_BUS_OV
    BUS_UV = lib.EDGE_FAULT_BUS_UV
    SENSOR_NAN = lib.EDGE_FAULT_SENSOR_NAN
    SENSOR_RANGE = lib.EDGE_FAULT_SENSOR_RANGE
    SENSOR_STUCK = lib.EDGE_FAULT_SENSOR_STUCK
    WATCHDOG = lib.EDGE_FAULT_WATCHDOG
    RUNAWAY_DTDT = lib.EDGE_FAULT_RUNAWAY_DTDT
    RUNAWAY_VCELL = lib.EDGE_FAULT_RUNAWAY_VCELL


def fault_names(word: int) -> str:
    """A latched-faults word as names, e.g. 'bus_uv, watchdog' ('' when none)."""
    return ", ".join(f.name.lower() for f in Fault if word >> int(f) & 1)


LEVELS = {
    lib.EDGE_LEVEL_WARNING: "warning",
    lib.EDGE_LEVEL_TRIP: "trip",
    lib.EDGE_LEVEL_FATAL: "fatal",
}
ACTIONS = {
    lib.EDGE_ACTION_NONE: "none",
    lib.EDGE_ACTION_RAMP_ZERO: "ramp to zero",
    lib.EDGE_ACTION_BRIDGE_OFF: "bridge off",
    lib.EDGE_ACTION_ISOLATE: "isolate string",
}


@dataclass(frozen=True)
class ProtectionRow:
    """One row of the C protection table, as the C core holds it."""

    fault: Fault
    signal: int
    above: bool  # the fault is present above (True) or below (False) the threshold
    level: str
    action: str
    fast: bool  # evaluated every inner step (True) or every slow step
    threshold: float
    clear_threshold: float
    debounce_count: int


def protection_table(chem: Chemistry) -> list[ProtectionRow]:
    n = ffi.new("uint16_t *")
    rows = lib.edge_prot_table(int(chem), n)
    return [
        ProtectionRow(
            fault=Fault(rows[k].fault),
            signal=int(rows[k].signal),
            above=rows[k].compare == lib.EDGE_CMP_ABOVE,
            level=LEVELS[rows[k].level],
            action=ACTIONS[rows[k].action],
            fast=rows[k].rate == lib.EDGE_RATE_FAST,
            threshold=float(rows[k].threshold),
            clear_threshold=float(rows[k].clear_threshold),
            debounce_count=int(rows[k].debounce_count),
        )
        for k in range(n[0])
    ]


@dataclass(frozen=True)
class ChargeStep:
    kind: str  # "cc" | "cv" | "rest" | "float"
    current_c: float = 0.0
    v_cell_v: float = 0.0
    end_cell_max_v: float = 0.0
    end_cell_min_v: float = 0.0
    end_current_c: float = 0.0
    duration_s: float = 0.0


STEP_KINDS = {
    "cc": lib.EDGE_STEP_CC,
    "cv": lib.EDGE_STEP_CV,
    "rest": lib.EDGE_STEP_REST,
    "float": lib.EDGE_STEP_FLOAT,
}


def charge_protocol(chem: Chemistry) -> list[ChargeStep]:
    n = ffi.new("uint16_t *")
    steps = lib.edge_charge_protocol(int(chem), n)
    names = {v: k for k, v in STEP_KINDS.items()}
    return [
        ChargeStep(
            names[s.kind],
            s.current_C,
            s.v_cell_V,
            s.end_cell_max_V,
            s.end_cell_min_V,
            s.end_current_C,
            s.duration_s,
        )
        for s in (steps[k] for k in range(n[0]))
    ]


def steps_to_c(steps: list[ChargeStep]) -> Any:
    """A C array of edge_charge_step_t (keep the returned cdata alive while in use)."""
    arr = ffi.new("edge_charge_step_t[]", len(steps))
    for k, s in enumerate(steps):
        arr[k].kind = STEP_KINDS[s.kind]
        arr[k].current_C = s.current_c
        arr[k].v_cell_V = s.v_cell_v
        arr[k].end_cell_max_V = s.end_cell_max_v
        arr[k].end_cell_min_V = s.end_cell_min_v
        arr[k].end_current_C = s.end_current_c
        arr[k].duration_s = s.duration_s
    return arr


class Unit:
    """One board and its string inside a Sim (views on the C structs)."""

    def __init__(self, sim: Sim, index: int) -> None:
        self._sim = sim
        self.index = index
        self.params = sim.params.unit[index]
        self.state = sim.state.unit[index]

    @property
    def current_a(self) -> float:
        return float(self.state.string.i_A)

    @property
    def string_voltage_v(self) -> float:
        return float(self.state.string.v_V)

    @property
    def soc(self) -> float:
        return float(self.state.string.soc)

    @property
    def temp_degc(self) -> float:
        return float(self.state.string.temp_degC)

    @property
    def cell_voltages_v(self) -> list[float]:
        return [float(self.state.string.cell_V[k]) for k in range(self.params.string.n_cells)]

    @property
    def cell_max_v(self) -> float:
        return float(self.state.string.cell_max_V)

    @property
    def psi_rad(self) -> float:
        return float(self.state.psi_applied_rad)

    @property
    def mode(self) -> int:
        return int(self.state.board.ctrl.mode)

    @property
    def latched_faults(self) -> set[Fault]:
        word = int(self.state.board.prot.latched)
        return {f for f in Fault if word & (1 << f)}

    @property
    def active_faults(self) -> set[Fault]:
        word = int(self.state.board.prot.active)
        return {f for f in Fault if word & (1 << f)}

    @property
    def contactor_closed(self) -> bool:
        return bool(self.state.board.contactor_closed)

    @property
    def protocol_step(self) -> int:
        return int(self.state.board.charge.step)

    @property
    def protocol_done(self) -> bool:
        return bool(self.state.board.charge.done)

    def command(self, cmd: Command, i_ref_a: float = 0.0, v_ref_v: float = 0.0) -> None:
        lib.edge_board_command(
            ffi.addressof(self.params, "board"),
            ffi.addressof(self.state, "board"),
            int(cmd),
            i_ref_a,
            v_ref_v,
            ffi.addressof(self.state, "meas"),
        )

    def clear(self) -> bool:
        return bool(
            lib.edge_board_clear(
                ffi.addressof(self.params, "board"),
                ffi.addressof(self.state, "board"),
                ffi.addressof(self.state, "meas"),
            )
        )

    def set_protocol(self, steps: list[ChargeStep]) -> None:
        """Use these steps for Command.PROTOCOL instead of the chemistry's default."""
        arr = steps_to_c(steps)
        self._sim.keep.append(arr)
        self.params.board.protocol = arr
        self.params.board.n_protocol_steps = len(steps)


class Sim:
    """Up to two DAB boards with their strings on one DC bus, stepped inside C."""

    def __init__(
        self, soc0: float = 0.5, soc1: float = 0.5, n_units: int = 2, configure: Any = None
    ) -> None:
        self.params = ffi.new("edge_sim_params_t *")
        self.state = ffi.new("edge_sim_state_t *")
        self.keep: list[Any] = []  # cdata the C structs point into
        lib.edge_sim_defaults(self.params)
        self.params.n_units = n_units
        if configure is not None:
            configure(self.params)
        lib.edge_sim_init(self.params, self.state, soc0, soc1)
        self.units = [Unit(self, k) for k in range(n_units)]

    @property
    def dt_s(self) -> float:
        return float(self.params.unit[0].board.ctrl.dt_inner_s)

    @property
    def time_s(self) -> float:
        return int(self.state.steps) * self.dt_s

    @property
    def bus_voltage_v(self) -> float:
        return float(self.state.bus.v_bus_V)

    def set_bus_load_w(self, power_w: float, at_v: float = 24.0) -> None:
        """A resistive load drawing power_w at at_v."""
        self.state.bus.g_load_S = power_w / (at_v * at_v)

    def run(self, n_steps: int) -> None:
        lib.edge_sim_run(self.params, self.state, n_steps, ffi.NULL, ffi.NULL)

    def run_s(self, seconds: float) -> None:
        self.run(round(seconds / self.dt_s))

    def run_traced(self, n_steps: int) -> tuple[list[float], list[float]]:
        """Run and return per-step unit 0 current (A) and bus voltage (V)."""
        i0 = ffi.new("float[]", n_steps)
        vb = ffi.new("float[]", n_steps)
        lib.edge_sim_run(self.params, self.state, n_steps, i0, vb)
        return list(i0), list(vb)


class PulseEstimator:
    """R0, R1, C1 from one current step out of rest (case study II)."""

    def __init__(self, t1_s: float) -> None:
        self._e = ffi.new("edge_pulse_est_t *")
        lib.edge_pulse_est_init(self._e, t1_s)

    def sample(self, v_v: float, i_a: float, dt_s: float) -> None:
        lib.edge_pulse_est_sample(self._e, v_v, i_a, dt_s)

    @property
    def done(self) -> bool:
        return bool(int(self._e.phase) == int(lib.EDGE_PULSE_DONE))

    @property
    def failed(self) -> bool:
        return bool(int(self._e.phase) == int(lib.EDGE_PULSE_FAILED))

    @property
    def r0_ohm(self) -> float:
        return float(self._e.r0_ohm)

    @property
    def r1_ohm(self) -> float:
        return float(self._e.r1_ohm)

    @property
    def c1_f(self) -> float:
        return float(self._e.c1_F)


FIRMWARE_VERSION = 0x0100  # 1.0
BOARD_ID_EMULATED = 0x0001  # the board id of the simulated (host and QEMU) builds


class Slave:
    """The board's C Modbus RTU slave (firmware_c/src/modbus.c) on a Sim unit."""

    def __init__(
        self, unit: Unit, address: int = 1, baud: int = 115200, board_id: int = BOARD_ID_EMULATED
    ) -> None:
        self.unit = unit
        self.mb = ffi.new("edge_mb_t *")
        self.dev = ffi.new("edge_dev_t *")
        lib.edge_mb_init(self.mb, address, baud)
        self.dev.board_id = board_id
        self.dev.fw_version = FIRMWARE_VERSION
        self.dev.params = ffi.addressof(unit.params, "board")
        self.dev.state = ffi.addressof(unit.state, "board")
        self.dev.meas = ffi.addressof(unit.state, "meas")

    def frame(self, data: bytes) -> bytes:
        """Handle one complete RTU frame; the answer, or b'' where Modbus stays silent."""
        buf = ffi.from_buffer(data)
        n = lib.edge_mb_frame(self.mb, self.dev, buf, len(data))
        return bytes(ffi.buffer(self.mb.tx, n))

    @property
    def t35_s(self) -> float:
        return float(lib.edge_mb_t35_us(self.mb)) * 1e-6

    @property
    def counters(self) -> dict[str, int]:
        return {
            k: int(getattr(self.mb, k)) for k in ("frames", "crc_errors", "exceptions", "ignored")
        }
