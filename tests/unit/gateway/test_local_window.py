"""The in-process fallback limiter (used while Redis is down) is a true sliding window."""

from __future__ import annotations

import pytest
from revbridge_gateway.ratelimit import LocalWindow

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_admits_limit_then_refuses_until_the_oldest_hit_leaves_the_window():
    clock = Clock()
    window = LocalWindow(clock)
    assert [window.hit("k", 3).allowed for _ in range(4)] == [True, True, True, False]
    clock.now += 30
    refused = window.hit("k", 3)
    assert not refused.allowed and refused.reset_seconds == 30 and refused.headers()["Retry-After"] == "30"
    clock.now += 30.5
    assert window.hit("k", 3).allowed


def test_keys_are_independent():
    window = LocalWindow(Clock())
    assert window.hit("a", 1).allowed and window.hit("b", 1).allowed and not window.hit("a", 1).allowed
