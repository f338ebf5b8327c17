"""The config model described for the menu: every setting with its unit, range, choices,
help text and whether it applies at once, all read from the pydantic model itself
(edge/config.py declares each setting once)."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel

from edge.config import EdgeConfig, SettingSpec, setting_specs


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
    live: bool  # a running supervisor takes a new value on a reload, without a restart

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


def _describe(spec: SettingSpec) -> Setting:
    field = spec.field
    annotation = field.annotation
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
    return Setting(
        key=spec.key,
        kind=kind,
        unit=spec.unit,
        low=low,
        high=high,
        exclusive_low=exclusive,
        choices=tuple(choices),
        optional=optional,
        default=field.default,
        help=spec.help,
        live=spec.live,
    )


def settings(model: type[BaseModel] = EdgeConfig) -> list[Setting]:
    """Every leaf setting of the model, in the model's order."""
    return [_describe(spec) for spec in setting_specs(model)]


def sections() -> list[str]:
    seen: list[str] = []
    for s in settings():
        if s.section not in seen:
            seen.append(s.section)
    return seen
