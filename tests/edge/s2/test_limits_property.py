"""No sequence of CEM instructions takes the core outside its limits: instructions planned
by edge/s2/battery.py, carried through the MQTT command path's parse and apply (as
Supervisor.command does), then the pure core's decide(), step after step, with the SOC,
the BMS limits, the house, the user's stop and the clock moving in between."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from s2python.frbc import FRBCInstruction

from edge.config import EdgeConfig
from edge.core import decide
from edge.core.model import (
    BmsReading,
    CoreState,
    InverterMode,
    InverterReading,
    ProcessImage,
    Requests,
    Sample,
)
from edge.core.policies import battery_window
from edge.mqtt.commands import Command, apply_command, parse_command
from edge.s2.battery import Battery, BatteryIds, Mode, Plan, active_mode, battery_now, plan
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
