"""What one tick's state document is read from, and the parts of it that the entities of
edge/mqtt/entities.py read.

A source reads one part of the tick: the inverter's reading with its last full block, the
BMS's limits, the loads, the DAB board. It reads None when that part is not there this
tick (a device not fitted, or not heard yet): the keys of the entities that read it are
then left out of the document, never sent as zeros. Signs as in edge.core.model: grid + =
import, battery + = discharge, DAB current + = into the string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from edge.config import EdgeConfig
from edge.core import ProcessImage, Setpoints
from edge.core.model import DabReading, InverterReading, LoadsReading, Requests
from edge.drivers.dab.registers import DabTelemetry
from edge.drivers.link_counters import LinkCounters
from edge.drivers.ports import BmsPort, DabPort, InverterPort, LoadsPort
from edge.drivers.pylontech.replies import BmsLimits
from edge.drivers.sofar.registers import SofarLive
from edge.mqtt.commands import requests_state
from edge.planner.status import PlanStatus
from edge.s2.status import LinkStatus
from edge.state_db import StorageHealth

T = TypeVar("T")


def on(flag: bool) -> str:
    """A binary sensor's state (Home Assistant's default payloads)."""
    return "ON" if flag else "OFF"


@dataclass(frozen=True)
class Devices:
    """The devices a supervisor drives (None where not fitted)."""

    inverter: InverterPort
    dab: DabPort | None = None
    bms: BmsPort | None = None
    loads: LoadsPort | None = None
    storage: StorageHealth | None = None  # the state file's writers (edge/state_db.py)
    s2: LinkStatus | None = None  # the S2 link, where [s2] is enabled (edge/s2/link.py)
    s2_more: tuple[LinkStatus, ...] = ()  # the other resources' S2 sessions (by their label)
    planner: PlanStatus | None = None  # the live planner, where [planner] is enabled


@dataclass(frozen=True)
class Tick:
    """Everything one tick's state document is read from."""

    image: ProcessImage
    sp: Setpoints
    devices: Devices
    requests: Requests
    cfg: EdgeConfig


@dataclass(frozen=True)
class Source(Generic[T]):
    """One part of the tick; read gives None when it is not there this tick."""

    name: str
    read: Callable[[Tick], T | None]


@dataclass(frozen=True)
class InverterNow:
    reading: InverterReading  # the image's, as the core saw it
    live: SofarLive  # the last full block: energy counters, state, faults


@dataclass(frozen=True)
class LoadsNow:
    reading: LoadsReading
    sp: Setpoints  # what the core asked of the loads
    diverter_writes: int


def _inverter(t: Tick) -> InverterNow | None:
    live = t.devices.inverter.last_live
    if t.image.inverter is None or live is None:
        return None
    return InverterNow(t.image.inverter.value, live)


def _bms(t: Tick) -> BmsLimits | None:
    sample = t.devices.bms.sample(t.image.t_s) if t.devices.bms is not None else None
    return None if sample is None else sample.value


def _loads(t: Tick) -> LoadsNow | None:
    if t.devices.loads is None or t.image.loads is None:
        return None
    return LoadsNow(t.image.loads.value, t.sp, t.devices.loads.writes.diverter)


def _dab_reading(t: Tick) -> DabReading | None:
    return None if t.image.dab is None else t.image.dab.value


def _dab_telemetry(t: Tick) -> DabTelemetry | None:
    return None if t.devices.dab is None else t.devices.dab.telemetry


TICK: Source[Tick] = Source("tick", lambda t: t)  # always there
# The requests and settings in force, as the controls show them (edge/mqtt/commands.py).
REQUESTS: Source[dict[str, Any]] = Source(
    "requests", lambda t: requests_state(t.requests, t.image.t_s, t.cfg)
)
INVERTER: Source[InverterNow] = Source("inverter", _inverter)
BMS: Source[BmsLimits] = Source("bms", _bms)
LOADS: Source[LoadsNow] = Source("loads", _loads)
DAB_READING: Source[DabReading] = Source("dab reading", _dab_reading)
DAB_BOARD: Source[DabPort] = Source("dab board", lambda t: t.devices.dab)
DAB_TELEMETRY: Source[DabTelemetry] = Source("dab telemetry", _dab_telemetry)
# Each device's link faults by class (diagnostics: a bad cable shows here first).
INVERTER_LINK: Source[LinkCounters] = Source("inverter link", lambda t: t.devices.inverter.counters)
DAB_LINK: Source[LinkCounters] = Source(
    "dab link", lambda t: None if t.devices.dab is None else t.devices.dab.counters
)
BMS_LINK: Source[LinkCounters] = Source(
    "bms link", lambda t: None if t.devices.bms is None else t.devices.bms.counters
)
STORAGE: Source[StorageHealth] = Source("storage", lambda t: t.devices.storage)
S2_LINK: Source[LinkStatus] = Source("s2 link", lambda t: t.devices.s2)


def _s2_session(label: str) -> Source[LinkStatus]:
    """Another resource's S2 session (edge/s2/link.py), where it runs."""
    return Source(
        f"s2 {label} link",
        lambda t: next((s for s in t.devices.s2_more if s.label == label), None),
    )


S2_TANK_LINK = _s2_session("tank")
S2_HEAT_PUMP_LINK = _s2_session("heat pump")
S2_EXPORT_LINK = _s2_session("export limit")
# The live planner's fields (edge/planner/status.py), where [planner] is enabled.
PLAN: Source[dict[str, Any]] = Source(
    "plan", lambda t: None if t.devices.planner is None else t.devices.planner.shown(t.image.t_s)
)
