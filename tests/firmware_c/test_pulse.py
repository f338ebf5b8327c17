"""firmware_c/src/pulse.c: case study II, a pulse train on the Pb-acid string while the
LiFePO4 string keeps discharging at 5 A; the estimator recovers R0, R1 and C1."""

from __future__ import annotations

import pytest

from edge.ccore import ChargeStep, Command, PulseEstimator, Sim

SAMPLE_S = 0.01


def test_case_study_ii_pulse_test_recovers_the_plant_within_5_pct():
    sim = Sim(soc0=0.8, soc1=0.7)
    lfp, pb = sim.units
    for u in sim.units:
        u.params.board.prot.watchdog_enabled = 0
    pulse = [ChargeStep("cc", current_c=-0.2, duration_s=25), ChargeStep("rest", duration_s=30)]
    pb.set_protocol([ChargeStep("rest", duration_s=5), *pulse, *pulse])
    lfp.command(Command.CURRENT, -5.0)
    pb.command(Command.PROTOCOL)
    est = PulseEstimator(t1_s=8.0)
    steps_per_sample = round(SAMPLE_S / sim.dt_s)
    lfp_currents = []
    while not pb.protocol_done:
        sim.run(steps_per_sample)
        est.sample(pb.string_voltage_v, pb.current_a, SAMPLE_S)
        if sim.time_s > 0.01:
            lfp_currents.append(lfp.current_a)
    truth = sim.params.unit[1].string
    assert est.done
    assert est.r0_ohm == pytest.approx(truth.r0_ohm, rel=0.05)
    assert est.r1_ohm == pytest.approx(truth.r1_ohm, rel=0.05)
    assert est.c1_f == pytest.approx(truth.c1_F, rel=0.05)
    # The other string kept its own 5 A discharge throughout the pulses.
    assert max(abs(i + 5.0) for i in lfp_currents) < 0.01


def test_estimator_reports_failure_on_data_without_an_rc_response():
    est = PulseEstimator(t1_s=1.0)
    for _ in range(10):
        est.sample(13.0, 0.0, 0.1)
    for k in range(40):  # a pure resistor with a voltage that keeps falling linearly
        est.sample(12.9 - 0.01 * k, -5.0, 0.1)
    assert est.failed or not est.done
