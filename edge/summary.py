"""What the supervisor prints: one line per tick, and a summary of the run integrated from
its own readings. Signs: grid + = import, battery + = discharge."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from edge.clock import format_time_of_day
from edge.core import ProcessImage, Setpoints
from edge.core.model import InverterMode


@dataclass
class Summary:
    """What a run did, integrated from the supervisor's own readings."""

    ticks: int = 0
    start_s: float | None = None
    end_s: float = 0.0
    import_wh: float = 0.0
    export_wh: float = 0.0
    charge_wh: float = 0.0
    discharge_wh: float = 0.0
    dab_wh: float = 0.0
    peak_import_w: float = 0.0
    safe_ticks: int = 0
    soc_first_pct: float | None = None
    soc_last_pct: float | None = None
    inverter_writes: int = 0
    commands_accepted: int = 0
    commands_refused: int = 0
    # The latest decision changes with their time, bounded for runs of months.
    decisions: deque[str] = field(default_factory=lambda: deque(maxlen=100))

    def account(self, image: ProcessImage, sp: Setpoints, dt_s: float, writes: int) -> None:
        """One tick of dt_s: energies, peaks and SOC from the image; writes: the
        inverter's write count so far."""
        if self.start_s is None:
            self.start_s = image.t_s
        self.end_s = image.t_s
        self.ticks += 1
        self.inverter_writes = writes
        if sp.inverter.mode is InverterMode.SELF_USE:
            self.safe_ticks += 1
        if image.inverter is not None:
            r = image.inverter.value
            h = dt_s / 3600.0
            self.import_wh += max(r.grid_power_w, 0.0) * h
            self.export_wh += max(-r.grid_power_w, 0.0) * h
            self.charge_wh += max(-r.battery_power_w, 0.0) * h
            self.discharge_wh += max(r.battery_power_w, 0.0) * h
            self.peak_import_w = max(self.peak_import_w, r.grid_power_w)
            if self.soc_first_pct is None:
                self.soc_first_pct = r.battery_soc_pct
            self.soc_last_pct = r.battery_soc_pct
        if image.dab is not None:
            d = image.dab.value
            self.dab_wh += max(d.charge_current_a * d.string_voltage_v, 0.0) * dt_s / 3600.0

    def lines(self) -> list[str]:
        minutes = (self.end_s - (self.start_s or self.end_s)) / 60.0
        soc = (
            f"; SOC {self.soc_first_pct:.1f} -> {self.soc_last_pct:.1f} %"
            if self.soc_first_pct is not None and self.soc_last_pct is not None
            else ""
        )
        return [
            f"summary: {self.ticks} ticks over {minutes:.1f} simulated minutes",
            f"  grid: import {self.import_wh / 1000:.3f} kWh,"
            f" export {self.export_wh / 1000:.3f} kWh, peak import {self.peak_import_w:.0f} W",
            f"  battery: charged {self.charge_wh / 1000:.3f} kWh, discharged"
            f" {self.discharge_wh / 1000:.3f} kWh{soc}",
            f"  DAB string: {self.dab_wh:.1f} Wh charged",
            f"  inverter writes: {self.inverter_writes}; ticks in safe state: {self.safe_ticks}",
            f"  commands: {self.commands_accepted} accepted, {self.commands_refused} refused",
        ]


def tick_line(image: ProcessImage, sp: Setpoints) -> str:
    """One tick as a line: what was read, what was commanded, and why."""
    t = format_time_of_day(image.t_s)
    cmd = (
        "self-use (safe)"
        if sp.inverter.mode is InverterMode.SELF_USE
        else f"passive {sp.inverter.battery_power_w:+5.0f} W"
    )
    if image.inverter is None:
        return f"{t}  inverter: no data | cmd {cmd} | {sp.reason}"
    r = image.inverter.value
    extra = ""
    if image.dab is not None:
        extra = f" | dab {image.dab.value.charge_current_a:+5.2f} A"
    if image.loads is not None:
        ld = image.loads.value
        tank = f" {ld.tank_temp_degc:.1f} degC" if ld.tank_temp_degc is not None else ""
        extra += f" | tank {ld.heater_w:4.0f} W{tank} | hp {sp.sg_ready.value}"
    return (
        f"{t}  grid {r.grid_power_w:+6.0f} W | pv {r.pv_power_w:5.0f} W | load "
        f"{r.load_power_w:5.0f} W | battery {r.battery_power_w:+6.0f} W soc "
        f"{r.battery_soc_pct:3.0f} %{extra} | cmd {cmd} | {sp.reason}"
    )
