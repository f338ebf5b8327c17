"""The site file's settings as the running supervisor uses them: the core's CoreConfig
built from them, which of them apply live on a reload, and the reload's merge. All of it
is read from what each setting declares in edge/config.py (`setting(..., live=...,
core=...)`); nothing here names a setting but the one the core derives (bms_required)."""

from __future__ import annotations

from typing import Any

from edge.config import EdgeConfig, setting_specs
from edge.core import CoreConfig

SPECS = setting_specs(EdgeConfig)
# Settings a running supervisor takes at once (each declares live=True in edge/config.py);
# any other change needs a restart.
LIVE_KEYS = frozenset(s.key for s in SPECS if s.live)
# (setting's key, the CoreConfig field it feeds), as each declares with core=... .
CORE_FIELDS = tuple((s.key, s.core) for s in SPECS if s.core is not None)


def core_config(cfg: EdgeConfig) -> CoreConfig:
    """The core's config: each setting that declares core=... feeds that field; the rest
    follow from the site's devices. CoreConfig's other fields keep the core's defaults."""
    values = flatten(cfg.model_dump())
    fed = {core: _frozen(values[key]) for key, core in CORE_FIELDS}
    return CoreConfig(**fed, bms_required=cfg.battery.bms_port is not None)


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value  # CoreConfig is frozen


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested settings dict as {"section.key": value}."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def changed_keys(old: EdgeConfig, new: EdgeConfig) -> list[str]:
    a, b = flatten(old.model_dump()), flatten(new.model_dump())
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def is_live(key: str) -> bool:
    return key in LIVE_KEYS


def merge_live(running: EdgeConfig, new: EdgeConfig) -> EdgeConfig:
    """running with new's live settings; every other setting keeps its running value."""
    merged = running.model_dump()
    for key, value in flatten(new.model_dump()).items():
        if is_live(key):
            *path, leaf = key.split(".")
            node = merged
            for part in path:
                node = node[part]
            node[leaf] = value
    return EdgeConfig.model_validate(merged)
