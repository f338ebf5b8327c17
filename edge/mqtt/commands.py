"""Commands from Home Assistant (or any MQTT client), validated before the core sees them.

Topic: `<base>/cmd/<key>` (never retained; a broker ACL can grant exactly `<base>/cmd/#`).
Payload: the plain value (`ON`, `PRESS`, `1500`, `self_use`), or JSON
`{"value": ..., "sent_s": <Unix time>, "for_s": <seconds>}`. Home Assistant's discovery
sends the JSON form (its command template stamps `sent_s` with `now()`), so a command that
sat in a queue or is replayed later than mqtt.command_max_age_s, or comes from more than
FUTURE_SLACK_S in the future, is refused -- unless it only stops or reduces (SAFETY: the
emergency stop, force charge 0, standby, self_use, a switch OFF), which is taken whatever
its sent_s says. A retained command is refused whatever it says: it would act again on
every reconnect.

Types are strict: a number is a JSON number (never true/false) or, in the plain form,
decimal text (no `2_000`, `1e3`, `nan`); a switch is ON/OFF (or JSON true/false, never 1);
a mode or a button is a string; the JSON form has no fields but value, sent_s and for_s. A
payload over MAX_PAYLOAD_BYTES is refused unread, and a refusal quotes the input cut short
(edge.errors.shown), so no input makes a large reason or an exception.

Requests that act for a while (mode, force charge, boost) end after `for_s`, by default
policy.request_s. There is no command that writes a register: every command names one of
the fields of core.model.Requests (or clears a trip).

Parsing and applying are pure: `parse_command` returns an accepted command or the reason it
was refused; `apply_command` returns the new Requests.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from edge.config import EdgeConfig
from edge.core.model import RequestMode, Requests, SgState
from edge.errors import clip, shown

MODES = tuple(RequestMode)  # auto, self_use, standby: each equals its string
FOR_S_MIN, FOR_S_MAX = 60.0, 86400.0
FUTURE_SLACK_S = 5.0  # clocks of HA and the controller may differ by this much
MAX_PAYLOAD_BYTES = 1024  # HA's JSON form is under 100 bytes; longer is refused unread
JSON_FIELDS = ("value", "sent_s", "for_s")
MAX_REASON_CHARS = 260  # clipped: at most 300 characters with clip's marker
_DECIMAL = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,12})?")  # the plain form's numbers


@dataclass(frozen=True)
class Bounds:
    """A number command's range, from the config, in the command's unit."""

    low: float
    high: float
    unit: str
    source: str  # where the range comes from, said in a refusal: "inverter.max_charge_w"


def _config_value(cfg: EdgeConfig, key: str) -> float:
    node: Any = cfg
    for part in key.split("."):
        node = getattr(node, part)
    return float(node)


def up_to(key: str, unit: str, margin: float = 0.0) -> Callable[[EdgeConfig], Bounds]:
    """From 0 to the setting at key (a dotted config key), or margin below it."""
    source = key if margin == 0.0 else f"below {key}"
    return lambda cfg: Bounds(0.0, _config_value(cfg, key) - margin, unit, source)


def fixed(low: float, high: float, unit: str, note: str) -> Callable[[EdgeConfig], Bounds]:
    return lambda _cfg: Bounds(low, high, unit, note)


@dataclass(frozen=True)
class CommandSpec:
    key: str  # topic suffix and HA unique-id suffix
    name: str
    component: Literal["select", "number", "switch", "button"]
    state_key: str | None  # key of the state document that shows the current value
    help: str
    bounds: Callable[[EdgeConfig], Bounds] | None = None  # a number's range (numbers only)
    entity_category: str | None = None  # "config": a setting, kept until changed
    options: tuple[str, ...] = MODES  # a select's values

    def __post_init__(self) -> None:
        if (self.component == "number") != (self.bounds is not None):
            raise ValueError(f"{self.key}: a number, and only a number, has bounds")


NO_EXPORT_LIMIT_W = 25000.0  # the export-limit number's top: no limit

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("mode", "Mode", "select", "mode_request", "auto, self_use or standby"),
    CommandSpec(
        "force_charge_w",
        "Force charge",
        "number",
        "force_charge_w",
        "W from any source; 0 ends",
        bounds=up_to("inverter.max_charge_w", "W"),
    ),
    CommandSpec("boost_hot_water", "Boost hot water", "button", None, "heat the tank now"),
    CommandSpec("emergency_stop", "Emergency stop", "button", None, "everything idle, latched"),
    CommandSpec(
        "clear_trip",
        "Clear trip",
        "button",
        None,
        "release an emergency stop and a DAB trip",
        entity_category="config",
    ),
    CommandSpec("diverter_enabled", "Diverter enabled", "switch", "diverter_enabled", "ON or OFF"),
    CommandSpec(
        "allow_battery_to_heat_water",
        "Allow battery to heat water",
        "switch",
        "allow_battery_to_heat_water",
        "ON or OFF: lets the battery feed a boost",
    ),
    CommandSpec(
        "reserve_soc_pct",
        "Reserve SOC",
        "number",
        "reserve_soc_pct",
        "% kept for backup",
        bounds=up_to("battery.max_soc_pct", "%", margin=1.0),
        entity_category="config",
    ),
    CommandSpec(
        "max_charge_w",
        "Maximum charge power",
        "number",
        "max_charge_w",
        "W, the user's cap",
        bounds=up_to("inverter.max_charge_w", "W"),
        entity_category="config",
    ),
    CommandSpec(
        "export_limit_w",
        "Export limit",
        "number",
        "export_limit_w",
        "W; 25000 (the top) means no limit",
        bounds=fixed(0.0, NO_EXPORT_LIMIT_W, "W", f"{NO_EXPORT_LIMIT_W:g} = no limit"),
        entity_category="config",
    ),
)

# Timed requests without a Home Assistant entity: what an S2 CEM's instructions become
# (edge/s2), open to any MQTT client too. `auto` ends an SG-Ready request; an export cap
# of NO_EXPORT_LIMIT_W ends a cap. Each acts for for_s, then the core's own rules return.
SG_OPTIONS = ("auto", *(s.value for s in SgState))
TIMED: tuple[CommandSpec, ...] = (
    CommandSpec(
        "heat_pump_sg",
        "Heat pump SG-Ready",
        "select",
        None,
        "lock, normal, recommend or force for for_s, within the heat pump's timers; auto ends",
        options=SG_OPTIONS,
    ),
    CommandSpec(
        "export_cap_w",
        "Export cap",
        "number",
        None,
        "W for for_s; tightens the export limit, never loosens it",
        bounds=fixed(0.0, NO_EXPORT_LIMIT_W, "W", f"{NO_EXPORT_LIMIT_W:g} = no cap"),
    ),
)

BY_KEY = {c.key: c for c in (*COMMANDS, *TIMED)}

# Commands that only stop or reduce, by the values that do: they are taken whatever their
# sent_s says, because a late stop is still a stop and a clock that is off (HA's or ours)
# must never block one. Standby (battery idle) and self_use (the inverter's own mode, where
# every fault leaves it) hand control away from the controller. Everything else starts or
# changes something and is time-checked: clear_trip, a boost, a force charge above 0,
# `auto` (it releases a standby), switches turned ON, and the settings.
SAFETY: dict[str, tuple[str | float | bool, ...]] = {
    "emergency_stop": (True,),  # PRESS
    "force_charge_w": (0.0,),  # ends a force charge
    "mode": ("standby", "self_use"),
    "diverter_enabled": (False,),
    "allow_battery_to_heat_water": (False,),
    "heat_pump_sg": ("auto",),  # back to the core's own rule
}


@dataclass(frozen=True)
class Command:
    key: str
    value: str | float | bool
    for_s: float


@dataclass(frozen=True)
class Rejected:
    key: str
    reason: str

    def __post_init__(self) -> None:
        # shown() bounds each quoted value; a key and a value at their longest together
        # can still pass a reason's 300 characters, so the whole is cut short too
        object.__setattr__(self, "reason", clip(self.reason, MAX_REASON_CHARS))


def _number(raw: Any, plain: bool) -> float | None:
    """A finite number: a JSON number (never true/false), or, in the plain form, decimal
    text (`1500`, `-2.5`; no exponent, `_`, `nan` or `inf`)."""
    if plain:
        if not isinstance(raw, str) or not _DECIMAL.fullmatch(raw):
            return None
    elif isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        v = float(raw)
    except OverflowError:  # a JSON integer of hundreds of digits
        return None
    return v if math.isfinite(v) else None


def _json(text: str) -> tuple[Any, str | None]:
    """The JSON document, or why there is none."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"payload is not valid JSON: {exc.msg}"
    except RecursionError:
        return None, "payload is not valid JSON: nested too deeply"
    except ValueError:  # an integer past Python's digit limit (sys.int_info)
        return None, "payload is not valid JSON: a number too long"


def parse_command(
    key: str, payload: bytes, retained: bool, wall_now_s: float, cfg: EdgeConfig
) -> Command | Rejected:
    """Validate one message on `<base>/cmd/<key>` against the config's bounds. Never
    raises: anything else is a Rejected whose reason quotes the input cut short."""
    spec = BY_KEY.get(key)
    if spec is None:
        return Rejected(key, f"unknown command {shown(key)}; known: {', '.join(BY_KEY)}")
    if retained:
        return Rejected(key, "retained command refused: publish commands with retain off")
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejected(
            key, f"payload is {len(payload)} bytes; a command is at most {MAX_PAYLOAD_BYTES}"
        )
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Rejected(key, "payload is not UTF-8 text")
    if not text.startswith("{"):
        value = _value(spec, text, cfg, plain=True)
        return value if isinstance(value, Rejected) else Command(key, value, cfg.policy.request_s)
    doc, error = _json(text)
    if error is not None:
        return Rejected(key, error)
    if not isinstance(doc, dict) or "value" not in doc:
        return Rejected(key, 'JSON payload needs a "value"')
    unknown = [k for k in doc if k not in JSON_FIELDS]
    if unknown:
        return Rejected(key, f"unknown field {shown(unknown[0])}: allowed {', '.join(JSON_FIELDS)}")
    for_s = cfg.policy.request_s
    if "for_s" in doc:
        f = _number(doc["for_s"], plain=False)
        if f is None or not FOR_S_MIN <= f <= FOR_S_MAX:
            return Rejected(
                key, f"for_s = {shown(doc['for_s'])}: allowed {FOR_S_MIN:g} to {FOR_S_MAX:g} s"
            )
        for_s = f
    value = _value(spec, doc["value"], cfg, plain=False)
    if isinstance(value, Rejected):
        return value
    if "sent_s" in doc and not is_safety(key, value):
        stale = _stale(key, doc["sent_s"], wall_now_s, cfg)
        if stale is not None:
            return stale
    return Command(key, value, for_s)


def is_safety(key: str, value: str | float | bool) -> bool:
    """A command that only stops or reduces (SAFETY): taken whatever its sent_s says."""
    return any(type(value) is type(v) and value == v for v in SAFETY.get(key, ()))


def _stale(key: str, sent_s: Any, wall_now_s: float, cfg: EdgeConfig) -> Rejected | None:
    sent = _number(sent_s, plain=False)
    if sent is None:
        return Rejected(key, f"sent_s = {shown(sent_s)} is not a time (Unix seconds)")
    age = wall_now_s - sent
    if age > cfg.mqtt.command_max_age_s:
        return Rejected(
            key,
            f"sent {age:.0f} s ago, older than mqtt.command_max_age_s"
            f" ({cfg.mqtt.command_max_age_s:g} s)",
        )
    if age < -FUTURE_SLACK_S:
        return Rejected(key, f"sent_s is {-age:.0f} s in the future: check the clocks")
    return None


def _value(
    spec: CommandSpec, raw: Any, cfg: EdgeConfig, plain: bool
) -> str | float | bool | Rejected:
    """raw: the plain payload's text, or the JSON "value" (whose type must fit: a number,
    a string, or for a switch also true/false; 1 is not ON)."""
    key = spec.key
    if spec.component == "select":
        if not isinstance(raw, str) or raw not in spec.options:
            return Rejected(key, f"{key} {shown(raw)}: allowed {', '.join(spec.options)}")
        return raw
    if spec.bounds is not None:  # a number
        v = _number(raw, plain)
        b = spec.bounds(cfg)
        if v is None or not b.low <= v <= b.high:
            return Rejected(
                key, f"{key} = {shown(raw)}: allowed {b.low:g} to {b.high:g} {b.unit} ({b.source})"
            )
        return v
    if spec.component == "switch":
        if raw == "ON" or raw is True:
            return True
        if raw == "OFF" or raw is False:
            return False
        return Rejected(key, f"{key} = {shown(raw)}: allowed ON or OFF")
    if raw != "PRESS":
        return Rejected(key, f"{key} = {shown(raw)}: a button sends PRESS")
    return True


def apply_command(req: Requests, cmd: Command, now_s: float) -> Requests:
    """The requests after `cmd`, at now_s on the supervisor's clock."""
    until = now_s + cmd.for_s
    if cmd.key == "mode":
        if cmd.value == "auto":
            return replace(req, mode=RequestMode.AUTO, mode_until_s=math.inf)
        return replace(req, mode=RequestMode(str(cmd.value)), mode_until_s=until)
    if cmd.key == "force_charge_w":
        w = float(cmd.value)
        return replace(req, force_charge_w=w, force_charge_until_s=until if w > 0 else -math.inf)
    if cmd.key == "boost_hot_water":
        return replace(req, boost_hot_water_until_s=until)
    if cmd.key == "emergency_stop":
        return replace(req, emergency_stop=True)
    if cmd.key == "clear_trip":
        return replace(req, emergency_stop=False)
    if cmd.key == "diverter_enabled":
        return replace(req, diverter_enabled=bool(cmd.value))
    if cmd.key == "allow_battery_to_heat_water":
        return replace(req, allow_battery_to_heat_water=bool(cmd.value))
    if cmd.key == "reserve_soc_pct":
        return replace(req, reserve_soc_pct=float(cmd.value))
    if cmd.key == "max_charge_w":
        return replace(req, max_charge_w=float(cmd.value))
    if cmd.key == "export_limit_w":
        limit = float(cmd.value)
        return replace(req, export_limit_w=None if limit >= NO_EXPORT_LIMIT_W else limit)
    if cmd.key == "heat_pump_sg":
        if cmd.value == "auto":
            return replace(req, heat_pump_sg=None, heat_pump_sg_until_s=-math.inf)
        return replace(req, heat_pump_sg=str(cmd.value), heat_pump_sg_until_s=until)
    if cmd.key == "export_cap_w":
        cap = float(cmd.value)
        if cap >= NO_EXPORT_LIMIT_W:
            return replace(req, export_cap_w=None, export_cap_until_s=-math.inf)
        return replace(req, export_cap_w=cap, export_cap_until_s=until)
    raise ValueError(f"unknown command {cmd.key!r}")


def requests_state(req: Requests, now_s: float, cfg: EdgeConfig) -> dict[str, Any]:
    """What the state document shows of the requests and settings in force (HA entities
    read these)."""
    mode = req.mode if now_s < req.mode_until_s else "auto"
    forcing = now_s < req.force_charge_until_s and req.force_charge_w > 0
    return {
        "mode_request": mode,
        "force_charge_w": req.force_charge_w if forcing else 0.0,
        "boost_hot_water": "ON" if now_s < req.boost_hot_water_until_s else "OFF",
        "emergency_stop": "ON" if req.emergency_stop else "OFF",
        "diverter_enabled": "ON" if req.diverter_enabled else "OFF",
        "allow_battery_to_heat_water": "ON" if req.allow_battery_to_heat_water else "OFF",
        "reserve_soc_pct": (
            cfg.battery.reserve_soc_pct if req.reserve_soc_pct is None else req.reserve_soc_pct
        ),
        "max_charge_w": (
            float(cfg.inverter.max_charge_w) if req.max_charge_w is None else req.max_charge_w
        ),
        "export_limit_w": NO_EXPORT_LIMIT_W if req.export_limit_w is None else req.export_limit_w,
    }
