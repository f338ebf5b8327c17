"""Pure decision logic: decide(image, config, state) -> (setpoints, state).

No I/O, no asyncio, no clock reads, no logging: everything it knows comes in the
process image, so it runs the same under the live app, the simulator and the tests.
"""

from edge.core.decide import decide
from edge.core.model import (
    BmsReading,
    CoreConfig,
    CoreState,
    DabReading,
    InverterCommand,
    InverterMode,
    InverterReading,
    LoadKind,
    LoadsReading,
    PlanBattery,
    PlannedSlot,
    ProcessImage,
    RequestMode,
    Requests,
    Sample,
    Setpoints,
    SgState,
)

__all__ = [
    "BmsReading",
    "CoreConfig",
    "CoreState",
    "DabReading",
    "InverterCommand",
    "InverterMode",
    "InverterReading",
    "LoadKind",
    "LoadsReading",
    "PlanBattery",
    "PlannedSlot",
    "ProcessImage",
    "RequestMode",
    "Requests",
    "Sample",
    "Setpoints",
    "SgState",
    "decide",
]
