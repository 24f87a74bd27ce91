"""The circuit breaker's states with a fake clock: open after N failures, one probe per cooldown."""

from __future__ import annotations

import pytest
from revbridge_gateway.breaker import CircuitBreaker
from revbridge_gateway.errors import CircuitOpen

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_refuses_with_retry_after():
    clock = Clock()
    breaker = CircuitBreaker("process", threshold=3, cooldown=10, clock=clock)
    for _ in range(2):
        breaker.before()
        breaker.failure()
    breaker.before()
    breaker.success()  # a success resets the count
    for _ in range(3):
        breaker.before()
        breaker.failure()
    clock.now += 4
    with pytest.raises(CircuitOpen) as refused:
        breaker.before()
    assert refused.value.headers["Retry-After"] == "6"
    assert breaker.state == "open"


def test_after_cooldown_one_probe_passes_and_its_success_closes():
    clock = Clock()
    breaker = CircuitBreaker("process", threshold=1, cooldown=5, clock=clock)
    breaker.failure()
    clock.now += 5
    breaker.before()  # the probe
    assert breaker.state == "half-open"
    with pytest.raises(CircuitOpen):
        breaker.before()  # others wait while the probe runs
    breaker.success()
    assert breaker.state == "closed"
    breaker.before()


def test_failed_probe_opens_for_another_cooldown():
    clock = Clock()
    breaker = CircuitBreaker("process", threshold=2, cooldown=5, clock=clock)
    breaker.failure()
    breaker.failure()
    clock.now += 6
    breaker.before()
    breaker.failure()
    assert breaker.state == "open"
    clock.now += 4
    with pytest.raises(CircuitOpen):
        breaker.before()
    clock.now += 1
    breaker.before()  # next probe after a full cooldown
