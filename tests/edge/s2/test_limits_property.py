"""No sequence of CEM instructions takes the core outside its limits: instructions planned
by edge/s2/battery.py, carried through the MQTT command path's parse and apply (as
Supervisor.command does), then the pure core's decide(), step after step, with the SOC,
the BMS limits, the house, the user's stop and the clock moving in between. The same for
the heat pump's SG-Ready instructions (edge/s2/heat_pump.py: its minimum on and off times,
starts per hour) and the export limit's envelopes (edge/s2/export.py: never looser than the
site's own limit), mixed."""

from __future__ import annotations

import dataclasses
import json
import math
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from s2python.common import Duration
from s2python.frbc import FRBCInstruction
from s2python.ombc import OMBCInstruction
from s2python.pebc import PEBCInstruction, PEBCPowerEnvelope, PEBCPowerEnvelopeElement

from edge.config import EdgeConfig
from edge.core import decide
from edge.core.model import (
    BmsReading,
    CoreState,
    InverterMode,
    InverterReading,
    LoadsReading,
    ProcessImage,
    RequestMode,
    Requests,
    Sample,
    SgState,
)
from edge.core.policies import SG_RUNS, battery_window, export_limit_in_force
from edge.mqtt.commands import NO_EXPORT_LIMIT_W, Command, apply_command, parse_command
from edge.s2.battery import Battery, BatteryIds, Mode, Plan, active_mode, battery_now, plan
from edge.s2.export import ExportIds, ExportLimit
from edge.s2.frbc import QUANTITY
from edge.s2.heat_pump import HeatPump, HeatPumpIds, HpMode
from edge.settings import core_config

CFG = EdgeConfig.model_validate({"battery": {"reserve_soc_pct": 20.0, "max_soc_pct": 95.0}})
CORE = core_config(CFG)
VALID_S = CFG.s2.instruction_valid_s
BATTERY = Battery(BatteryIds(uuid.UUID(int=1)), 4800.0, 0.9, CORE.hold_s)

step = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(list(Mode)),
        "factor": st.floats(0.0, 1.0),
        "soc_pct": st.floats(0.0, 100.0),
        "bms_charge_w": st.floats(0.0, 5000.0),
        "bms_discharge_w": st.floats(0.0, 5000.0),
        "net_w": st.floats(-6000.0, 6000.0),  # the house: + = would import
        "dt_s": st.floats(0.0, 2 * VALID_S),
        "stop": st.booleans(),
        "stale": st.booleans(),
    }
)


def image_of(s: dict, t_s: float, req: Requests) -> ProcessImage:
    inv = InverterReading(
        s["net_w"], 0.0, s["soc_pct"], max(0.0, s["net_w"]), max(0.0, -s["net_w"])
    )
    age = 60.0 if s["stale"] else 0.5
    bms = BmsReading(s["bms_charge_w"], s["bms_discharge_w"])
    return ProcessImage(t_s, Sample(inv, age), None, Sample(bms, 0.5), requests=req)


def instruct(
    req: Requests, s: dict, t_s: float, ours: float | None
) -> tuple[Requests, float | None]:
    img = image_of(s, t_s, req)
    now = battery_now(img, CORE)
    msg = FRBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        actuator_id=BATTERY.ids.actuator,
        operation_mode=BATTERY.ids.mode(s["mode"]),
        operation_mode_factor=s["factor"],
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
    )
    p = plan(
        BATTERY,
        msg,
        now or battery_now(image_of({**s, "stale": False}, t_s, req), CORE),
        now,
        req,
        t_s,
        ours,
    )
    if not isinstance(p, Plan):
        return req, ours
    for key, value in p.commands:
        payload = json.dumps({"value": value, "for_s": VALID_S, "sent_s": time.time()}).encode()
        cmd = parse_command(key, payload, False, time.time(), CFG)
        assert isinstance(cmd, Command), cmd  # the plan never asks what the path refuses
        req = apply_command(req, cmd, t_s)
    return req, (req.mode_until_s if p.mode is Mode.IDLE else None)


@settings(max_examples=150, deadline=None)
@given(st.lists(step, min_size=1, max_size=12))
def test_no_sequence_of_instructions_leaves_the_core_window(steps):
    req, state, t_s, ours = Requests(), CoreState(), 1000.0, None
    last_instruction_s = -1e9
    for s in steps:
        t_s += s["dt_s"]
        if s["stop"] and not req.emergency_stop and s["dt_s"] > VALID_S:
            req = Requests(emergency_stop=True)  # the user's stop, now and then
        req, ours = instruct(req, s, t_s, ours)
        if active_mode(req, t_s) is not Mode.SELF_CONSUMPTION:
            last_instruction_s = t_s
        img = image_of(s, t_s, req)
        sp, state = decide(img, CORE, state)
        p = sp.inverter.battery_power_w
        if req.emergency_stop:
            assert (sp.inverter.mode, p) == (InverterMode.PASSIVE, 0.0)
            continue
        if s["stale"]:
            assert sp.inverter.mode is InverterMode.SELF_USE  # the safe state, whatever the CEM
            continue
        w = battery_window(img, s["soc_pct"], CORE)
        assert w.lo_w - 1e-6 <= p <= w.hi_w + 1e-6
        assert -p <= min(CORE.max_charge_w, s["bms_charge_w"]) + 1e-6
        assert p <= min(CORE.max_discharge_w, s["bms_discharge_w"]) + 1e-6
        if s["soc_pct"] <= 20.0:
            assert p <= 0.0  # never below the reserve
        if s["soc_pct"] >= 95.0:
            assert p >= 0.0  # never past the maximum
        # a CEM's request never outlives its validity
        assert t_s >= req.force_charge_until_s or req.force_charge_until_s - t_s <= VALID_S + 1e-6
        assert t_s < last_instruction_s + VALID_S or active_mode(req, t_s) is Mode.SELF_CONSUMPTION


# ---- the heat pump (OMBC) and the export limit (PEBC) --------------------------------

HP_CORE = dataclasses.replace(CORE, hp_enabled=True, dab_enabled=False)
HEAT_PUMP = HeatPump(HeatPumpIds(uuid.UUID(int=2)))
EXPORT = ExportLimit(ExportIds(uuid.UUID(int=3)))

hp_step = st.fixed_dictionaries(
    {
        "hp": st.sampled_from(list(HpMode)),
        "lower_w": st.floats(-8000.0, 500.0),  # the CEM's envelope (S2 sign; > 0 refused)
        "site_limit_w": st.one_of(st.none(), st.floats(0.0, 5000.0)),
        "net_w": st.floats(-6000.0, 6000.0),
        "soc_pct": st.floats(0.0, 100.0),
        "dt_s": st.floats(0.0, 900.0),
        "stop": st.booleans(),
        "stale": st.booleans(),
        "standby": st.booleans(),
    }
)


def carried(req: Requests, p: Plan | object, t_s: float) -> Requests:
    """The plan's commands through the MQTT command path, as Supervisor.command runs them."""
    if not isinstance(p, Plan):
        return req
    for key, value in p.commands:
        payload = json.dumps({"value": value, "for_s": VALID_S, "sent_s": time.time()}).encode()
        cmd = parse_command(key, payload, False, time.time(), CFG)
        assert isinstance(cmd, Command), cmd
        req = apply_command(req, cmd, t_s)
    return req


def hp_image(s: dict, t_s: float, req: Requests) -> ProcessImage:
    inv = InverterReading(s["net_w"], 0.0, s["soc_pct"], 0.0, 0.0)
    age = 60.0 if s["stale"] else 0.5
    bms = BmsReading(3000.0, 3000.0)
    loads = Sample(LoadsReading(0.0, 0.0, 50.0), 0.5)
    return ProcessImage(t_s, Sample(inv, age), None, Sample(bms, 0.5), loads, requests=req)


def envelope(lower_w: float) -> PEBCInstruction:
    element = PEBCPowerEnvelopeElement(
        duration=Duration(root=60_000), upper_limit=NO_EXPORT_LIMIT_W, lower_limit=lower_w
    )
    return PEBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
        power_constraints_id=EXPORT.ids.constraints,
        power_envelopes=[
            PEBCPowerEnvelope(
                id=str(uuid.uuid4()), commodity_quantity=QUANTITY, power_envelope_elements=[element]
            )
        ],
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(hp_step, min_size=1, max_size=15))
def test_no_sequence_of_sg_and_envelope_instructions_breaks_a_heat_pump_or_export_rule(steps):
    req, state, t_s = Requests(), CoreState(), 10_000.0
    changed_s, starts = -math.inf, []  # the SG-Ready output's last on/off change, its starts
    for s in steps:
        t_s += s["dt_s"]
        mode_until_s = t_s + 60.0 if s["standby"] else -math.inf
        req = replace(
            req,
            export_limit_w=s["site_limit_w"],
            mode=RequestMode.STANDBY,
            mode_until_s=mode_until_s,
        )
        if s["stop"] and s["dt_s"] > 600.0:
            req = replace(req, emergency_stop=not req.emergency_stop)
        img = hp_image(s, t_s, req)
        now = HEAT_PUMP.snapshot(img, HP_CORE, state)
        order = OMBCInstruction(
            message_id=uuid.uuid4(),
            id=uuid.uuid4(),
            operation_mode_id=HEAT_PUMP.ids.mode(s["hp"]),
            operation_mode_factor=1.0,
            execution_time=datetime.now(UTC),
            abnormal_condition=False,
        )
        req = carried(req, HEAT_PUMP.plan(order, now, now, req, t_s, None), t_s)
        ex = EXPORT.snapshot(img, HP_CORE, state)
        req = carried(req, EXPORT.plan(envelope(s["lower_w"]), ex, ex, req, t_s, None), t_s)
        before = state.hp_state
        sp, state = decide(hp_image(s, t_s, req), HP_CORE, state)
        runs, ran = sp.sg_ready in SG_RUNS, before in SG_RUNS
        if runs and not ran:  # a start: never inside the minimum off time, nor past the starts
            assert t_s - changed_s >= HP_CORE.hp_min_off_s - 1e-6
            assert len([x for x in starts if t_s - x < 3600.0]) < HP_CORE.hp_max_starts_per_h
            starts.append(t_s)
        if ran and not runs:
            forced = req.emergency_stop or s["stale"] or s["standby"]
            assert forced or t_s - changed_s >= HP_CORE.hp_min_on_s - 1e-6
        if runs != ran:
            changed_s = t_s
        if req.emergency_stop or s["stale"] or s["standby"]:
            assert sp.sg_ready is SgState.NORMAL  # the stop, the safe state, standby win
        # the export limit in force is never looser than the site's; a cap ends in time
        held = export_limit_in_force(req, t_s)
        if s["site_limit_w"] is not None:
            assert held is not None and held <= s["site_limit_w"]
        assert req.export_cap_until_s - t_s <= VALID_S + 1e-6
        assert req.heat_pump_sg_until_s - t_s <= VALID_S + 1e-6
