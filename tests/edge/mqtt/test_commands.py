"""Commands: validated against the config's bounds, refused with the reason, applied with
an expiry, and kept across a restart."""

from __future__ import annotations

import json
import math

import pytest

from edge.config import parse_config
from edge.core.model import Requests
from edge.mqtt.commands import (
    COMMANDS,
    Bounds,
    Command,
    CommandSpec,
    Rejected,
    apply_command,
    parse_command,
    requests_state,
    up_to,
)
from edge.requests_store import RequestStore

CFG = parse_config({"inverter": {"max_charge_w": 2500}, "mqtt": {"command_max_age_s": 30}})
NOW = 1_800_000_000.0  # wall clock of the test, Unix seconds


def stamped(value, sent_s: float = NOW, **extra) -> bytes:
    return json.dumps({"value": value, "sent_s": sent_s, **extra}).encode()


@pytest.mark.parametrize(
    ("key", "payload", "retained", "reason"),
    [
        ("force_charge_w", b"2600", False, "allowed 0 to 2500 W (inverter.max_charge_w)"),
        ("force_charge_w", b"-1", False, "allowed 0 to 2500 W"),
        ("force_charge_w", b"nan", False, "allowed 0 to 2500 W"),
        ("force_charge_w", b"lots", False, "allowed 0 to 2500 W"),
        ("mode", b"turbo", False, "allowed auto, self_use, standby"),
        ("diverter_enabled", b"yes", False, "allowed ON or OFF"),
        ("emergency_stop", b"GO", False, "a button sends PRESS"),
        ("write_register", b"0x1187", False, "unknown command 'write_register'"),
        ("emergency_stop", b"PRESS", True, "retained command refused"),
        ("mode", b'{"value": "auto"', False, "payload is not valid JSON"),
        ("mode", b'{"mode": "auto"}', False, 'JSON payload needs a "value"'),
        ("mode", b"\xff\xfe", False, "payload is not UTF-8"),
        ("mode", stamped("auto", NOW - 3600), False, "sent 3600 s ago, older than"),
        ("mode", stamped("auto", NOW + 600), False, "600 s in the future"),
        ("mode", stamped("auto", "noon"), False, "is not a time"),
        ("mode", stamped("standby", for_s=10), False, "for_s = 10: allowed 60 to 86400 s"),
    ],
)
def test_bad_commands_are_refused_with_the_reason(key, payload, retained, reason):
    out = parse_command(key, payload, retained, NOW, CFG)
    assert isinstance(out, Rejected), out
    assert reason in out.reason


def test_good_commands_parse_in_both_forms():
    assert parse_command("force_charge_w", b"2500", False, NOW, CFG) == Command(
        "force_charge_w", 2500.0, CFG.policy.request_s
    )
    assert parse_command("mode", stamped("self_use", NOW - 5, for_s=600), False, NOW, CFG) == (
        Command("mode", "self_use", 600.0)
    )
    assert parse_command("diverter_enabled", stamped("OFF"), False, NOW, CFG) == Command(
        "diverter_enabled", False, CFG.policy.request_s
    )
    assert parse_command("emergency_stop", b" PRESS\n", False, NOW, CFG) == Command(
        "emergency_stop", True, CFG.policy.request_s
    )


def test_requests_act_until_their_expiry_and_the_stop_latches():
    req = Requests()
    req = apply_command(req, Command("force_charge_w", 1500.0, 600.0), now_s=100.0)
    assert requests_state(req, 699.0, CFG)["force_charge_w"] == 1500.0
    assert requests_state(req, 700.0, CFG)["force_charge_w"] == 0.0  # expired
    req = apply_command(req, Command("mode", "standby", 60.0), now_s=100.0)
    assert requests_state(req, 150.0, CFG)["mode_request"] == "standby"
    assert requests_state(req, 160.0, CFG)["mode_request"] == "auto"
    req = apply_command(req, Command("mode", "auto", 60.0), now_s=120.0)
    assert (
        req.mode_until_s == math.inf and requests_state(req, 130.0, CFG)["mode_request"] == "auto"
    )
    req = apply_command(req, Command("emergency_stop", True, 60.0), now_s=100.0)
    assert requests_state(req, 1e9, CFG)["emergency_stop"] == "ON"  # no expiry
    req = apply_command(req, Command("clear_trip", True, 60.0), now_s=200.0)
    assert requests_state(req, 200.0, CFG)["emergency_stop"] == "OFF"
    req = apply_command(req, Command("force_charge_w", 0.0, 600.0), now_s=200.0)
    assert requests_state(req, 201.0, CFG)["force_charge_w"] == 0.0
    req = apply_command(req, Command("boost_hot_water", True, 900.0), now_s=200.0)
    assert requests_state(req, 1099.0, CFG)["boost_hot_water"] == "ON"
    assert requests_state(req, 1100.0, CFG)["boost_hot_water"] == "OFF"


def test_settings_are_bounded_by_the_config_and_kept_until_changed():
    cfg = parse_config({"battery": {"max_soc_pct": 90}, "inverter": {"max_charge_w": 2500}})
    refused = parse_command("reserve_soc_pct", b"95", False, NOW, cfg)
    assert isinstance(refused, Rejected)
    assert refused.reason == "reserve_soc_pct = '95': allowed 0 to 89 % (below battery.max_soc_pct)"
    req = Requests()
    for key, payload in (
        ("reserve_soc_pct", b"40"),
        ("max_charge_w", b"1200"),
        ("export_limit_w", b"3000"),
    ):
        cmd = parse_command(key, payload, False, NOW, cfg)
        assert isinstance(cmd, Command)
        req = apply_command(req, cmd, now_s=0.0)
    shown = requests_state(req, 1e9, cfg)  # no expiry
    assert (shown["reserve_soc_pct"], shown["max_charge_w"], shown["export_limit_w"]) == (
        40.0,
        1200.0,
        3000.0,
    )
    req = apply_command(req, Command("export_limit_w", 25000.0, 60.0), now_s=0.0)
    assert req.export_limit_w is None  # the top of the range: no limit
    assert requests_state(Requests(), 0.0, cfg)["reserve_soc_pct"] == cfg.battery.reserve_soc_pct


def test_requests_survive_a_restart(tmp_path):
    db = str(tmp_path / "state.sqlite")
    store = RequestStore(db)
    assert store.load() == Requests()
    req = apply_command(Requests(), Command("emergency_stop", True, 60.0), now_s=0.0)
    req = apply_command(req, Command("boost_hot_water", True, 900.0), now_s=0.0)
    store.save(req)
    store.close()
    again = RequestStore(db)
    assert again.load() == req
    again.close()


def test_each_number_carries_its_bounds_from_the_config():
    cfg = parse_config({"battery": {"max_soc_pct": 90}, "inverter": {"max_charge_w": 2500}})
    numbers = {c.key: c.bounds(cfg) for c in COMMANDS if c.bounds is not None}
    assert numbers == {
        "force_charge_w": Bounds(0.0, 2500.0, "W", "inverter.max_charge_w"),
        "reserve_soc_pct": Bounds(0.0, 89.0, "%", "below battery.max_soc_pct"),
        "max_charge_w": Bounds(0.0, 2500.0, "W", "inverter.max_charge_w"),
        "export_limit_w": Bounds(0.0, 25000.0, "W", "25000 = no limit"),
    }
    assert [c.key for c in COMMANDS if c.component == "number"] == list(numbers)
    refused = parse_command("max_charge_w", b"2600", False, NOW, cfg)
    assert isinstance(refused, Rejected)
    assert refused.reason == "max_charge_w = '2600': allowed 0 to 2500 W (inverter.max_charge_w)"


def test_a_number_without_bounds_or_a_switch_with_them_is_refused_at_declaration():
    with pytest.raises(ValueError, match="only a number, has bounds"):
        CommandSpec("x_w", "X", "number", None, "W")
    with pytest.raises(ValueError, match="only a number, has bounds"):
        CommandSpec(
            "y", "Y", "switch", None, "ON or OFF", bounds=up_to("inverter.max_charge_w", "W")
        )


HUGE = "1" + "0" * 400  # a JSON integer of 401 digits: float() of it overflows
NESTED = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("key", "payload", "reason"),
    [
        ("force_charge_w", f'{{"value": {HUGE}}}', "force_charge_w = 1000"),
        (
            "force_charge_w",
            '{"value": ' + "9" * 5000 + "}",
            "payload is 5011 bytes; a command is at most 1024",
        ),
        ("force_charge_w", '{"value": ' + "9" * 900 + "}", "force_charge_w = 9999"),
        ("mode", f'{{"value": "auto", "sent_s": {HUGE}}}', "is not a time"),
        ("mode", f'{{"value": "standby", "for_s": {HUGE}}}', "allowed 60 to 86400 s"),
        ("mode", f'{{"value": {NESTED}}}', "payload is 200011 bytes"),
        ("mode", '{"value": ' + "[" * 400 + "]" * 400 + "}", "mode [[[[...]]]]: allowed"),
        ("force_charge_w", '{"value": true}', "force_charge_w = True: allowed 0 to 2500 W"),
        ("force_charge_w", '{"value": "1500"}', "force_charge_w = '1500': allowed"),
        ("force_charge_w", "2_000", "force_charge_w = '2_000': allowed"),
        ("force_charge_w", "1e3", "force_charge_w = '1e3': allowed"),
        ("force_charge_w", "\u0661\u0662", "allowed 0 to 2500 W"),  # Arabic-Indic digits
        ("force_charge_w", '{"value": NaN}', "force_charge_w = nan: allowed"),
        ("diverter_enabled", '{"value": 1}', "diverter_enabled = 1: allowed ON or OFF"),
        ("diverter_enabled", '{"value": 1.0}', "diverter_enabled = 1.0: allowed ON or OFF"),
        ("diverter_enabled", "1", "diverter_enabled = '1': allowed ON or OFF"),
        ("mode", '{"value": ["auto"]}', "mode ['auto']: allowed"),
        ("mode", '{"value": "auto", "sent": 1}', "unknown field 'sent': allowed value, sent_s"),
        ("emergency_stop", '{"value": {"PRESS": 1}}', "a button sends PRESS"),
    ],
)
def test_hostile_values_are_refused_with_a_short_reason(key, payload, reason):
    out = parse_command(key, payload.encode(), False, NOW, CFG)
    assert isinstance(out, Rejected), out
    assert reason in out.reason
    assert len(out.reason) <= 200


def test_a_long_value_is_quoted_cut_short_with_a_marker():
    out = parse_command("mode", stamped("x" * 900), False, NOW, CFG)
    assert isinstance(out, Rejected)
    assert out.reason.startswith("mode 'xxxx") and "x...x" in out.reason
    assert len(out.reason) < 130
    out = parse_command("x" * 100_000, b"PRESS", False, NOW, CFG)
    assert isinstance(out, Rejected) and out.reason.startswith("unknown command 'xxx")
    assert len(out.reason) < 300


def test_typed_values_that_fit_are_taken():
    assert parse_command("force_charge_w", stamped(1500), False, NOW, CFG) == Command(
        "force_charge_w", 1500.0, CFG.policy.request_s
    )
    assert parse_command("force_charge_w", b"-0.0", False, NOW, CFG) == Command(
        "force_charge_w", 0.0, CFG.policy.request_s
    )
    assert parse_command("diverter_enabled", stamped(True), False, NOW, CFG) == Command(
        "diverter_enabled", True, CFG.policy.request_s
    )
    assert parse_command("mode", stamped("auto", for_s=60), False, NOW, CFG) == Command(
        "mode", "auto", 60.0
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("emergency_stop", "PRESS"),
        ("force_charge_w", 0),
        ("mode", "standby"),
        ("mode", "self_use"),
        ("diverter_enabled", "OFF"),
        ("allow_battery_to_heat_water", False),
    ],
)
@pytest.mark.parametrize("sent_s", [NOW + 10, NOW + 86400, NOW - 3600, "noon", 1e300])
def test_a_command_that_only_stops_is_taken_whatever_its_timestamp(key, value, sent_s):
    out = parse_command(key, stamped(value, sent_s), False, NOW, CFG)
    assert isinstance(out, Command), out
    assert out.key == key


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("clear_trip", "PRESS"),
        ("boost_hot_water", "PRESS"),
        ("force_charge_w", 1000),
        ("mode", "auto"),
        ("diverter_enabled", "ON"),
        ("allow_battery_to_heat_water", True),
        ("max_charge_w", 100),
        ("export_limit_w", 0),
    ],
)
def test_a_command_that_starts_or_changes_something_is_time_checked(key, value):
    future = parse_command(key, stamped(value, NOW + 10), False, NOW, CFG)
    assert isinstance(future, Rejected) and "10 s in the future" in future.reason
    old = parse_command(key, stamped(value, NOW - 31), False, NOW, CFG)
    assert isinstance(old, Rejected) and "sent 31 s ago" in old.reason
    assert isinstance(parse_command(key, stamped(value, NOW - 29), False, NOW, CFG), Command)


def test_a_retained_emergency_stop_is_still_refused():
    out = parse_command("emergency_stop", b"PRESS", True, NOW, CFG)
    assert isinstance(out, Rejected) and "retained" in out.reason


def test_the_timed_sg_ready_and_export_cap_commands():
    """What an S2 CEM's OMBC and PEBC instructions become; MQTT-only (no HA entity)."""
    refused = parse_command("heat_pump_sg", b"turbo", False, NOW, CFG)
    assert isinstance(refused, Rejected)
    assert refused.reason == "heat_pump_sg 'turbo': allowed auto, lock, normal, recommend, force"
    refused = parse_command("export_cap_w", b"-5", False, NOW, CFG)
    assert isinstance(refused, Rejected) and "allowed 0 to 25000 W" in refused.reason
    cmd = parse_command("heat_pump_sg", stamped("force", for_s=600), False, NOW, CFG)
    assert cmd == Command("heat_pump_sg", "force", 600.0)
    req = apply_command(Requests(), cmd, now_s=100.0)
    assert (req.heat_pump_sg, req.heat_pump_sg_until_s) == ("force", 700.0)
    # auto ends it, and is taken however late it comes (it only hands back)
    late = parse_command("heat_pump_sg", stamped("auto", sent_s=NOW - 3600), False, NOW, CFG)
    assert late == Command("heat_pump_sg", "auto", CFG.policy.request_s)
    req = apply_command(req, late, now_s=200.0)
    assert req.heat_pump_sg is None and req.heat_pump_sg_until_s == -math.inf
    stale = parse_command("heat_pump_sg", stamped("force", sent_s=NOW - 3600), False, NOW, CFG)
    assert isinstance(stale, Rejected) and "older than" in stale.reason
    cap = parse_command("export_cap_w", stamped(800, for_s=300), False, NOW, CFG)
    assert isinstance(cap, Command)
    req = apply_command(req, cap, now_s=0.0)
    assert (req.export_cap_w, req.export_cap_until_s) == (800.0, 300.0)
    req = apply_command(req, Command("export_cap_w", 25000.0, 60.0), now_s=10.0)
    assert req.export_cap_w is None and req.export_cap_until_s == -math.inf
    assert {"heat_pump_sg", "export_cap_w"}.isdisjoint(c.key for c in COMMANDS)


def test_a_stored_sg_request_survives_a_restart(tmp_path):
    store = RequestStore(str(tmp_path / "state.db"))
    req = Requests(heat_pump_sg="lock", heat_pump_sg_until_s=500.0, export_cap_w=100.0)
    store.save(req)
    assert store.load() == req
    store.close()
