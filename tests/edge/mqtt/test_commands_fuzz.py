"""Property tests of the command parser: whatever arrives on `<base>/cmd/<key>` (any
bytes, any JSON, any key, retained or not), parse_command returns, never raises; a
refusal's reason is short; an accepted command is inside its bounds. Deterministic
(derandomize) and bounded (a few hundred examples each)."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config import parse_config
from edge.mqtt.commands import (
    BY_KEY,
    FOR_S_MAX,
    FOR_S_MIN,
    MODES,
    SG_OPTIONS,
    Command,
    Rejected,
    is_safety,
    parse_command,
)

CFG = parse_config({"inverter": {"max_charge_w": 2500}, "battery": {"max_soc_pct": 90}})
NOW = 1_800_000_000.0
MAX_REASON_CHARS = 300
PROFILE = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

keys = st.sampled_from(sorted(BY_KEY)) | st.text(max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**600), max_value=10**600)
    | st.floats()
    | st.sampled_from(["ON", "OFF", "PRESS", *MODES, *SG_OPTIONS, "1500", "nan", "2_000", "1e3"])
    | st.just("")
    | st.text(max_size=50)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
times = st.floats() | st.integers() | st.just(NOW) | st.floats(NOW - 100, NOW + 100) | scalars
documents = st.fixed_dictionaries(
    {},
    optional={"value": json_values, "sent_s": times, "for_s": times, "extra": json_values},
)


def _dumps(doc: object) -> bytes:
    try:
        return json.dumps(doc).encode()
    except ValueError:  # an int past Python's digit limit: send its digits
        return b'{"value": ' + b"9" * 5000 + b"}"


payloads = (
    st.binary(max_size=2000)
    | st.text(max_size=200).map(str.encode)
    | documents.map(_dumps)
    | json_values.map(_dumps)
    | st.integers(1, 5000).map(lambda n: b'{"value": ' + b"[" * n + b"]" * n + b"}")
)


def check_bounds(cmd: Command) -> None:
    spec = BY_KEY[cmd.key]
    assert cmd.for_s == CFG.policy.request_s or FOR_S_MIN <= cmd.for_s <= FOR_S_MAX
    if spec.component == "select":
        assert cmd.value in spec.options
    elif spec.bounds is not None:
        b = spec.bounds(CFG)
        assert isinstance(cmd.value, float) and math.isfinite(cmd.value)
        assert b.low <= cmd.value <= b.high
    elif spec.component == "switch":
        assert isinstance(cmd.value, bool)
    else:
        assert cmd.value is True


@PROFILE
@given(key=keys, payload=payloads, retained=st.booleans())
def test_any_payload_gives_a_result_or_a_short_reason(key, payload, retained):
    out = parse_command(key, payload, retained, NOW, CFG)
    if isinstance(out, Rejected):
        assert out.key == key and 0 < len(out.reason) <= MAX_REASON_CHARS
        return
    assert isinstance(out, Command)
    assert not retained and key in BY_KEY
    check_bounds(out)


@PROFILE
@given(key=st.sampled_from(sorted(BY_KEY)), doc=documents, wall_now_s=st.floats(0, 4e9))
def test_a_command_that_starts_something_is_taken_only_in_its_time_window(key, doc, wall_now_s):
    out = parse_command(key, _dumps(doc), False, wall_now_s, CFG)
    if not isinstance(out, Command):
        assert len(out.reason) <= MAX_REASON_CHARS
        return
    check_bounds(out)
    if "sent_s" in doc and not is_safety(key, out.value):
        age_s = wall_now_s - doc["sent_s"]
        assert -5.0 <= age_s <= CFG.mqtt.command_max_age_s
