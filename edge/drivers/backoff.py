"""Exponential backoff for reconnecting to a device."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    first_s: float = 0.5
    max_s: float = 10.0
    factor: float = 2.0
    _next_s: float = 0.0

    def next_delay_s(self) -> float:
        self._next_s = (
            self.first_s if self._next_s == 0.0 else min(self.max_s, self._next_s * self.factor)
        )
        return self._next_s

    def reset(self) -> None:
        self._next_s = 0.0
