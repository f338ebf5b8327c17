"""The run's summary integrated tick by tick, its printed lines, and the line per tick.
Signs: grid + = import, battery + = discharge. Expected values are worked by hand."""

from __future__ import annotations

import pytest

from edge.core.model import (
    DabReading,
    InverterCommand,
    InverterMode,
    InverterReading,
    LoadsReading,
    ProcessImage,
    Sample,
    Setpoints,
    SgState,
)
from edge.summary import Summary, tick_line

NOON_S = 12 * 3600.0
PASSIVE = Setpoints(InverterCommand(InverterMode.PASSIVE, -1500.0), 0.0, "self-consumption")
SAFE = Setpoints(InverterCommand(InverterMode.SELF_USE), 0.0, "safe state: inverter data missing")


def image(
    t_s: float,
    grid_w: float,
    battery_w: float,
    soc_pct: float,
    dab_a: float | None = None,
    dab_v: float = 13.5,
) -> ProcessImage:
    inv = Sample(InverterReading(grid_w, battery_w, soc_pct, 1000.0, 2000.0), 0.5)
    dab = None if dab_a is None else Sample(DabReading(dab_a, dab_v, False), 0.5)
    return ProcessImage(t_s, inv, dab)


def run_of_four_ticks() -> Summary:
    """Four ticks of 36 s (0.01 h each): energies in Wh are the powers / 100."""
    s = Summary()
    # 1500 W import (15 Wh), charging 2000 W (20 Wh), the DAB string 4 A x 13.5 V = 54 W
    s.account(image(NOON_S, 1500.0, -2000.0, 50.0, dab_a=4.0), PASSIVE, 36.0, writes=1)
    # 800 W export (8 Wh), discharging 1200 W (12 Wh); a DAB current out of the string
    # (-1 A) is not charge
    s.account(image(NOON_S + 36, -800.0, 1200.0, 49.8, dab_a=-1.0), PASSIVE, 36.0, writes=3)
    # 2500 W import (25 Wh): the new peak
    s.account(image(NOON_S + 72, 2500.0, 0.0, 49.5), PASSIVE, 36.0, writes=4)
    # no inverter data: the safe state, nothing integrated, the SOC keeps its last value
    s.account(ProcessImage(NOON_S + 108, None, None), SAFE, 36.0, writes=7)
    return s


def test_account_integrates_each_direction_over_the_ticks():
    s = run_of_four_ticks()
    assert s.ticks == 4
    assert s.import_wh == pytest.approx(15.0 + 25.0)
    assert s.export_wh == pytest.approx(8.0)
    assert s.charge_wh == pytest.approx(20.0)
    assert s.discharge_wh == pytest.approx(12.0)
    assert s.dab_wh == pytest.approx(0.54)
    assert s.peak_import_w == 2500.0
    assert s.safe_ticks == 1
    assert (s.soc_first_pct, s.soc_last_pct) == (50.0, 49.5)
    assert (s.start_s, s.end_s) == (NOON_S, NOON_S + 108)
    assert s.inverter_writes == 7  # the count the last tick reported, not a sum


def test_a_run_that_only_exports_has_no_peak_import():
    s = Summary()
    s.account(image(NOON_S, -400.0, 0.0, 80.0), PASSIVE, 3600.0, writes=0)
    assert (s.import_wh, s.export_wh, s.peak_import_w) == (0.0, pytest.approx(400.0), 0.0)


def test_the_summary_lines():
    s = run_of_four_ticks()
    s.commands_accepted, s.commands_refused = 2, 1
    assert s.lines() == [
        "summary: 4 ticks over 1.8 simulated minutes",  # 108 s
        "  grid: import 0.040 kWh, export 0.008 kWh, peak import 2500 W",
        "  battery: charged 0.020 kWh, discharged 0.012 kWh; SOC 50.0 -> 49.5 %",
        "  DAB string: 0.5 Wh charged",
        "  inverter writes: 7; ticks in safe state: 1",
        "  commands: 2 accepted, 1 refused",
    ]


def test_a_run_without_inverter_data_says_no_soc():
    s = Summary()
    assert s.lines()[0] == "summary: 0 ticks over 0.0 simulated minutes"
    s.account(ProcessImage(NOON_S, None, None), SAFE, 1.0, writes=0)
    s.account(ProcessImage(NOON_S + 90, None, None), SAFE, 1.0, writes=0)
    lines = s.lines()
    assert lines[0] == "summary: 2 ticks over 1.5 simulated minutes"
    assert lines[2] == "  battery: charged 0.000 kWh, discharged 0.000 kWh"
    assert lines[4] == "  inverter writes: 0; ticks in safe state: 2"


def test_the_decisions_kept_are_the_latest_hundred():
    s = Summary()
    for k in range(150):
        s.decisions.append(f"decision {k}")
    assert len(s.decisions) == 100
    assert (s.decisions[0], s.decisions[-1]) == ("decision 50", "decision 149")


def test_tick_line_without_inverter_data():
    line = tick_line(ProcessImage(NOON_S, None, None), SAFE)
    assert line == (
        "12:00:00  inverter: no data | cmd self-use (safe) | safe state: inverter data missing"
    )


def test_tick_line_with_the_inverter_alone():
    img = ProcessImage(
        NOON_S + 3661, Sample(InverterReading(-20.0, -1500.0, 52.4, 1480.0, 3000.0), 0.2), None
    )
    assert tick_line(img, PASSIVE) == (
        "13:01:01  grid    -20 W | pv  3000 W | load  1480 W | battery  -1500 W soc  52 %"
        " | cmd passive -1500 W | self-consumption"
    )


def test_tick_line_with_the_dab_board_and_the_loads():
    inv = Sample(InverterReading(35.0, 800.0, 9.0, 2500.0, 0.0), 0.2)
    sp = Setpoints(
        InverterCommand(InverterMode.PASSIVE, 300.0),
        2.5,
        "surplus to the tank",
        diverter_w=750.0,
        sg_ready=SgState.RECOMMEND,
    )
    with_tank = ProcessImage(
        0.0,
        inv,
        Sample(DabReading(2.5, 13.3, False), 0.2),
        loads=Sample(LoadsReading(750.0, 0.0, 48.3), 0.0),
    )
    assert tick_line(with_tank, sp) == (
        "00:00:00  grid    +35 W | pv     0 W | load  2500 W | battery   +800 W soc   9 %"
        " | dab +2.50 A | tank  750 W 48.3 degC | hp recommend | cmd passive  +300 W"
        " | surplus to the tank"
    )
    no_probe = ProcessImage(0.0, inv, None, loads=Sample(LoadsReading(0.0, 1400.0, None), 0.0))
    assert " | tank    0 W | hp recommend | " in tick_line(no_probe, sp)
