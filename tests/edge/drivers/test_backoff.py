"""Reconnect delays: double from the first, up to the cap; a success starts again."""

from __future__ import annotations

from edge.drivers.backoff import Backoff


def test_the_delays_double_up_to_the_cap():
    b = Backoff()
    assert [b.next_delay_s() for _ in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_reset_starts_again_from_the_first_delay():
    b = Backoff()
    for _ in range(4):
        b.next_delay_s()
    b.reset()
    assert [b.next_delay_s() for _ in range(2)] == [0.5, 1.0]


def test_its_own_first_factor_and_cap():
    b = Backoff(first_s=1.0, max_s=20.0, factor=3.0)
    assert [b.next_delay_s() for _ in range(5)] == [1.0, 3.0, 9.0, 20.0, 20.0]
