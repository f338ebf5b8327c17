"""firmware_c/src/charge.c: protocol tables (paper Table I, limits of Table II), the state
machine, and case study I run on the two-string platform."""

from __future__ import annotations

import pytest

from edge._core import ffi, lib
from edge.ccore import ChargeStep, Chemistry, Command, Sim, charge_protocol, steps_to_c
from tests.firmware_c.conftest import meas


def test_default_protocols_have_table_i_shapes_and_table_ii_limits():
    kinds = {c: [s.kind for s in charge_protocol(c)] for c in Chemistry}
    assert kinds[Chemistry.LIFEPO4] == ["cc", "cv", "rest"]  # CC-CV-Rest
    assert kinds[Chemistry.LEAD_ACID] == ["cc", "cv", "rest", "float"]  # CC-CV-Rest-Float
    assert kinds[Chemistry.ZINC] == ["cc", "rest", "cc", "rest"]  # CC-Rest-CC-Rest
    lfp = charge_protocol(Chemistry.LIFEPO4)
    # LiFePO4: 1C CC charge to 3.65 V, then CV until current < 0.05C.
    assert lfp[0].current_c == pytest.approx(1.0)
    assert lfp[0].end_cell_max_v == pytest.approx(3.65)
    assert lfp[1].end_current_c == pytest.approx(0.05)
    pb = charge_protocol(Chemistry.LEAD_ACID)
    assert 2.45 <= pb[1].v_cell_v + 1e-6 <= 2.5  # fast charge 2.45-2.5 V
    assert 2.27 <= pb[3].v_cell_v <= 2.35  # float 2.27-2.35 V


def tick(steps, st, m, dt=1.0, n_cells=4, cap_ah=25.0):
    return lib.edge_charge_tick(steps, len(steps), st, m, n_cells, cap_ah, dt)


def test_state_machine_transitions_on_the_highest_cell_and_on_timers():
    steps = steps_to_c(
        [
            ChargeStep("cc", current_c=0.2, end_cell_max_v=3.6),
            ChargeStep("rest", duration_s=10.0),
        ]
    )
    st = ffi.new("edge_charge_state_t *")
    lib.edge_charge_start(st)
    assert tick(steps, st, meas(cell_max=3.3)) == 1  # enters CC
    assert st.mode == lib.EDGE_MODE_CURRENT and st.i_ref_A == pytest.approx(5.0)
    assert tick(steps, st, meas(cell_max=3.599)) == 0
    assert tick(steps, st, meas(cell_max=3.600)) == 1  # the highest cell, not the average
    assert st.mode == lib.EDGE_MODE_OFF and st.step == 1
    for _ in range(9):
        assert tick(steps, st, meas()) == 0
    assert tick(steps, st, meas()) == 1  # 10 s of rest
    assert st.done == 1


def test_cv_ends_on_the_taper_only_after_a_second():
    steps = steps_to_c([ChargeStep("cv", current_c=0.2, v_cell_v=3.5, end_current_c=0.05)])
    st = ffi.new("edge_charge_state_t *")
    lib.edge_charge_start(st)
    tick(steps, st, meas(i=0.0), dt=0.1)
    assert st.mode == lib.EDGE_MODE_V_STRING and st.v_ref_V == pytest.approx(14.0)
    for _ in range(9):  # entered at zero current: not a taper yet
        assert tick(steps, st, meas(i=0.0), dt=0.1) == 0
    assert tick(steps, st, meas(i=2.0), dt=0.1) == 0
    assert tick(steps, st, meas(i=1.2), dt=0.1) == 1  # < 0.05C = 1.25 A
    assert st.done == 1


def case_study_i() -> tuple[Sim, list[tuple[float, int, float, int, float]]]:
    """LiFePO4 (4 cells) at 5 A CC until its highest cell reaches 3.6 V, then rest;
    Pb-acid (6 cells, cell 4 slightly ahead) at 5 A CC to 2.3 V, then CV at 2.35 V per
    cell until the current tapers (highest cell guarded at 2.40 V), then rest."""
    sim = Sim(soc0=0.965, soc1=0.935)
    lfp, pb = sim.units
    for u in sim.units:
        u.params.board.prot.watchdog_enabled = 0
    sim.params.unit[1].string.soc_offset[3] = 0.005
    lfp.set_protocol(
        [ChargeStep("cc", current_c=0.2, end_cell_max_v=3.6), ChargeStep("rest", duration_s=60)]
    )
    pb.set_protocol(
        [
            ChargeStep("cc", current_c=0.2, end_cell_max_v=2.30),
            ChargeStep("cv", current_c=0.2, v_cell_v=2.35, end_cell_max_v=2.40, end_current_c=0.1),
            ChargeStep("rest", duration_s=60),
        ]
    )
    lfp.command(Command.PROTOCOL)
    pb.command(Command.PROTOCOL)
    log = []
    while not (lfp.protocol_done and pb.protocol_done) and sim.time_s < 2000:
        sim.run(1000)  # 10 ms
        log.append(
            (
                sim.time_s,
                lfp.protocol_step,
                lfp.current_a,
                pb.protocol_step,
                pb.current_a,
                pb.string_voltage_v,
                lfp.cell_max_v,
                pb.cell_max_v,
            )
        )
    return sim, log


def test_case_study_i_hybrid_charging():
    sim, log = case_study_i()
    lfp, pb = sim.units
    assert lfp.protocol_done and pb.protocol_done
    assert not lfp.latched_faults and not pb.latched_faults
    # LiFePO4: CC at 5 A until the highest cell reaches 3.6 V, then rest.
    lfp_cc = [r for r in log if r[1] == 0 and r[0] > 0.1]
    assert all(r[2] == pytest.approx(5.0, rel=1e-3) for r in lfp_cc)
    end = next(r for r in log if r[1] == 1)
    assert end[6] <= 3.6 + 0.002 and lfp_cc[-1][6] >= 3.6 - 0.002
    # Pb-acid: CC at 5 A to 2.3 V, CV holding 6 x 2.35 V with a tapering current, rest.
    pb_cc = [r for r in log if r[3] == 0 and r[0] > 0.1]
    assert all(r[4] == pytest.approx(5.0, rel=1e-3) for r in pb_cc)
    assert pb_cc[-1][7] >= 2.30 - 0.002
    pb_cv = [r for r in log if r[3] == 1]
    regulating = [r for r in pb_cv if r[4] < 4.9]
    assert regulating, "the CV step never regulated"
    assert all(r[5] == pytest.approx(6 * 2.35, abs=0.01) for r in regulating)
    assert pb_cv[-1][4] < 0.1 * 25 + 0.05  # ended on the taper (0.1C)
    # The LiFePO4 current is not disturbed by the Pb-acid CC -> CV transition.
    t_cv = pb_cv[0][0]
    around = [r[2] for r in log if abs(r[0] - t_cv) <= 1.0]
    assert lfp_cc[-1][0] > t_cv + 1.0  # LiFePO4 still in CC then
    assert max(abs(i - 5.0) for i in around) < 0.005
