"""The decision lines of the supervisor's log, bounded however long a state lasts.

A decision's reason carries numbers that change every tick ("safe state: inverter data
12.0 s old"), so reasons are compared by their kind, the reason with its numbers masked.
One line when a kind of decision begins ("decision: ..."), one when it ends ("decision
ended after 25 min: ..."), and while it lasts a reminder every remind_s ("decision still:
... (for 10 min)"): a day of a dead inverter is about 150 lines, not 86 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REMIND_S = 600.0  # a reminder while one kind of decision lasts, in clock seconds
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def reason_kind(reason: str) -> str:
    """The reason with each number masked: what is compared from tick to tick."""
    return _NUMBER.sub("#", reason)


def duration(seconds: float) -> str:
    """A span for the log: "12 s", "25 min", "3 h 5 min" (rounded down)."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


@dataclass
class DecisionLog:
    remind_s: float = REMIND_S
    kind: str | None = None  # the kind of the decision in force; None before the first
    reason: str = ""  # its latest reason, numbers and all
    since_s: float = 0.0  # clock seconds when it began
    said_s: float = 0.0  # clock seconds of its last line (the first or a reminder)

    def update(self, now_s: float, reason: str) -> tuple[list[str], bool]:
        """This tick's decision: the lines to log, and whether a new kind began."""
        kind = reason_kind(reason)
        lines: list[str] = []
        if kind == self.kind:
            self.reason = reason
            if now_s - self.said_s >= self.remind_s:
                self.said_s = now_s
                lines.append(f"decision still: {reason} (for {duration(now_s - self.since_s)})")
            return lines, False
        if self.kind is not None:
            lines.append(f"decision ended after {duration(now_s - self.since_s)}: {self.reason}")
        lines.append(f"decision: {reason}")
        self.kind, self.reason, self.since_s, self.said_s = kind, reason, now_s, now_s
        return lines, True
