"""The config model described for the menu: every setting with its unit, range, choices
and help text, all read from the pydantic model itself (edge/config.py is the one source
of truth)."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel

from edge.config import EdgeConfig

# Units from the names' suffixes (STYLE: units in names).
UNITS = (
    ("_degc", "°C"),
    ("_pct", "%"),
    ("_kwh", "kWh"),
    ("_wh", "Wh"),
    ("_ah", "Ah"),
    ("_hz", "Hz"),
    ("_mb", "MB"),
    ("_per_h", "per hour"),
    ("_s", "s"),
    ("_w", "W"),
    ("_v", "V"),
    ("_a", "A"),
)


@dataclass(frozen=True)
class Setting:
    key: str  # dotted, e.g. "policy.hold_s"
    kind: str  # "int" | "float" | "bool" | "str" | "choice" | "list"
    unit: str | None
    low: float | None  # inclusive bounds, when the model has them
    high: float | None
    exclusive_low: bool
    choices: tuple[Any, ...]  # for "choice" (and a list's items)
    optional: bool  # None is allowed (the key may be left out)
    default: Any
    help: str

    @property
    def section(self) -> str:
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition(".")[2]

    def range_text(self) -> str:
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.low is None and self.high is None:
            return ""
        low = "" if self.low is None else f"{'>' if self.exclusive_low else '≥'} {self.low:g}"
        high = "" if self.high is None else f"≤ {self.high:g}"
        return " and ".join(x for x in (low, high) if x)


def unit_of(name: str) -> str | None:
    for suffix, unit in UNITS:
        if name.endswith(suffix):
            return unit
    return None


def _describe(key: str, annotation: Any, field: Any) -> Setting:
    optional = False
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in args:
        optional = True
        annotation = next(a for a in args if a is not type(None))
    choices: tuple[Any, ...] = ()
    if get_origin(annotation) is Literal:
        kind, choices = "choice", get_args(annotation)
    elif get_origin(annotation) is list:
        (item,) = get_args(annotation)
        kind = "list"
        choices = get_args(item) if get_origin(item) is Literal else ()
    elif annotation is bool:
        kind = "bool"
    elif annotation is int:
        kind = "int"
    elif annotation is float:
        kind = "float"
    else:
        kind = "str"
    low = high = None
    exclusive = False
    for m in field.metadata:
        if isinstance(m, Ge):
            low = float(m.ge)  # type: ignore[arg-type]
        elif isinstance(m, Gt):
            low, exclusive = float(m.gt), True  # type: ignore[arg-type]
        elif isinstance(m, Le):
            high = float(m.le)  # type: ignore[arg-type]
        elif isinstance(m, Lt):
            high = float(m.lt)  # type: ignore[arg-type]
        elif isinstance(m, MinLen | MaxLen):
            pass
    name = key.rpartition(".")[2]
    return Setting(
        key=key,
        kind=kind,
        unit=unit_of(name),
        low=low,
        high=high,
        exclusive_low=exclusive,
        choices=tuple(choices),
        optional=optional,
        default=field.default,
        help=field.description or "",
    )


def settings(model: type[BaseModel] = EdgeConfig, prefix: str = "") -> list[Setting]:
    """Every leaf setting of the model, in the model's order."""
    out: list[Setting] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += settings(annotation, f"{prefix}{name}.")
        else:
            out.append(_describe(f"{prefix}{name}", annotation, field))
    return out


def sections() -> list[str]:
    seen: list[str] = []
    for s in settings():
        if s.section not in seen:
            seen.append(s.section)
    return seen
