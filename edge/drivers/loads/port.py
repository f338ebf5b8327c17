"""The flexible loads behind one small port: the diverter's proportional output, the heat
pump's SG-Ready contacts, and what they draw now with the tank's temperature.

A backend implements LoadOutputs (real ones in hardware.py; the simulated house's,
EmulatedLoads, in sim.py); LoadsDriver adds
what every backend needs: a deadband on the diverter output, write counters, and the
reading's age for the core's staleness check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from edge.core.model import LoadsReading, Sample, SgState
from edge.drivers.budget import Gate, WriteBudget

# SG-Ready contacts (1, 2) per state (loads-baseline-s2.md §2.1).
SG_CONTACTS: Mapping[SgState, tuple[bool, bool]] = {
    SgState.LOCK: (True, False),
    SgState.NORMAL: (False, False),
    SgState.RECOMMEND: (False, True),
    SgState.FORCE: (True, True),
}


class LoadOutputs(Protocol):
    def set_diverter_w(self, power_w: float) -> None: ...
    def set_sg_contacts(self, contact1: bool, contact2: bool) -> None: ...
    def read(self) -> LoadsReading: ...
    def age_s(self) -> float:
        """Wall seconds since read()'s data was measured (0: in-process, always fresh)."""
        ...

    def close(self) -> None: ...


@dataclass
class LoadWrites:
    diverter: int = 0
    relays: int = 0


class LoadsDriver:
    def __init__(
        self,
        outputs: LoadOutputs,
        deadband_w: float,
        budget: WriteBudget | None = None,
        clock: Callable[[], float] = lambda: 0.0,
    ) -> None:
        """budget: diverter settings per day (a satellite's radio, an SSR's controller);
        past it the element goes off once and stays off until the next day. clock: the
        supervisor's clock, for the budget's day."""
        self.outputs = outputs
        self.deadband_w = deadband_w
        self.budget = budget or WriteBudget("diverter", 1_000_000)
        self.clock = clock
        self.writes = LoadWrites()
        self.diverter_w = 0.0
        self.sg_state = SgState.NORMAL
        outputs.set_diverter_w(0.0)
        outputs.set_sg_contacts(*SG_CONTACTS[SgState.NORMAL])

    def sample(self, now_s: float) -> Sample[LoadsReading]:
        """The outputs' reading with its age (in-process outputs: always fresh)."""
        del now_s
        return Sample(self.outputs.read(), self.outputs.age_s())

    testing: str | None = None  # an output test in progress (commissioning)

    def start_test(self, what: str, element_w: float) -> None:
        """Commissioning: the diverter at 10 % of the element, or one SG-Ready relay
        closed, everything else off; the decisions wait until end_test()."""
        self.testing = what
        self.outputs.set_diverter_w(0.1 * element_w if what == "diverter" else 0.0)
        self.outputs.set_sg_contacts(what == "relay1", what == "relay2")

    def end_test(self) -> None:
        """Back to the decisions: both outputs are written again at the next apply()."""
        self.testing = None
        self.outputs.set_diverter_w(0.0)
        self.outputs.set_sg_contacts(*SG_CONTACTS[SgState.NORMAL])
        self.diverter_w, self.sg_state = 0.0, SgState.NORMAL

    def apply(self, diverter_w: float, sg: SgState) -> None:
        """Set the outputs; the diverter only on a change beyond the deadband or to 0."""
        if self.testing is not None:
            return
        if abs(diverter_w - self.diverter_w) >= self.deadband_w or (
            diverter_w == 0.0 and self.diverter_w != 0.0
        ):
            now = self.clock()
            gate = self.budget.gate(now, safe=diverter_w == 0.0, safe_sent=self.diverter_w == 0.0)
            if gate is not Gate.SEND:
                diverter_w = 0.0  # the day's budget is spent: element off
            if diverter_w != self.diverter_w:
                self.outputs.set_diverter_w(diverter_w)
                self.diverter_w = diverter_w
                self.writes.diverter += 1
                self.budget.take(now)
        if sg is not self.sg_state:
            self.outputs.set_sg_contacts(*SG_CONTACTS[sg])
            self.sg_state = sg
            self.writes.relays += 1

    def close(self) -> None:
        """Element off, heat pump back to its own control."""
        self.apply(0.0, SgState.NORMAL)
        self.outputs.close()
