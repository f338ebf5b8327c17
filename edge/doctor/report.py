"""The doctor's rows and table: each check pass, skip, warn or fail, what was found, the
fix; the exit status is the worst row's (0 pass or skip, 1 warn, 2 fail)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.IntEnum):
    """The exit status a row asks for (a skip is a PASS with Check.skipped)."""

    PASS = 0
    WARN = 1
    FAIL = 2


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    found: str
    fix: str = ""
    skipped: bool = False

    @property
    def word(self) -> str:
        return "skip" if self.skipped else self.level.name.lower()


def passed(name: str, found: str) -> Check:
    return Check(name, Level.PASS, found)


def skipped(name: str, why: str, fix: str = "") -> Check:
    return Check(name, Level.PASS, why, fix, skipped=True)


def exit_status(checks: list[Check]) -> int:
    return max((int(c.level) for c in checks), default=0)


def table(checks: list[Check]) -> str:
    """A plain-text table: the journal and a pasted issue keep it aligned."""
    w = max((len(c.name) for c in checks), default=5)
    lines = [f"{'check':<{w}}  result  found / fix", f"{'-' * w}  ------  {'-' * 11}"]
    for c in checks:
        lines.append(f"{c.name:<{w}}  {c.word:<6}  {c.found}")
        if c.fix:
            lines.append(f"{'':<{w}}          fix: {c.fix}")
    worst = exit_status(checks)
    counts = {
        word: sum(c.word == word for c in checks) for word in ("pass", "skip", "warn", "fail")
    }
    lines.append(
        ", ".join(f"{n} {word}" for word, n in counts.items() if n) + f"; exit status {worst}"
    )
    return "\n".join(lines)
