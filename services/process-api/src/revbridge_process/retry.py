"""Retries of transient failures: exponential backoff with jitter, honouring Retry-After.

A ``RetryPolicy`` is data (``config/retry-policies.yaml`` per flow step, the ``PROCESS_RETRY_*``
settings otherwise) with two levels: short in-process attempts (``delay``), then redeliveries of
the pending stream entry with gaps that grow with its delivery count (``redelivery_delay``; the
consumer schedules them, see ``consumer``), until the dead-letter stream. A policy may give up
sooner, which turns the failure into an owned exception (``step_runner``)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from revbridge_contracts.process import ErrorClass

from revbridge_process.errors import (
    DEFERRED,
    TRANSIENT,
    FlowFailure,
    SystemRateLimited,
    SystemUnavailable,
    error_class_of,
)

T = TypeVar("T")
log = logging.getLogger(__name__)


DEFAULT_RETRYABLE = frozenset({ErrorClass.upstream_unavailable, ErrorClass.rate_limited})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_seconds: float = 0.5
    max_seconds: float = 10.0
    max_retry_after_seconds: float = 30.0
    jitter: str = "full"
    """``full`` (0..cap), ``equal`` (cap/2..cap) or ``none`` (cap)."""
    retryable: frozenset[ErrorClass] = field(default=DEFAULT_RETRYABLE)
    """Classes retried in-process; a conflict not listed here waits for redelivery instead."""
    give_up: bool = False
    """After the last attempt: record and acknowledge (True) or leave pending for redelivery (False)."""
    max_deliveries: int | None = None
    """Redeliveries before the dead-letter stream; ``None`` means ``PROCESS_MAX_DELIVERIES``."""
    redeliver_base_seconds: float = 30.0
    redeliver_max_seconds: float = 900.0
    redeliver_jitter: str = "equal"
    """Gap before redelivery ``n``: ``base * 2**(n-1)`` capped at ``max``, jittered; Retry-After wins."""
    concurrency: int | None = None
    """Entries of this flow one worker handles at once; ``None`` means ``PROCESS_FLOW_CONCURRENCY``."""

    def delay(
        self, attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        backoff = _jittered(self.jitter, _capped(self.base_seconds, self.max_seconds, attempt), rand)
        if retry_after is not None:
            return max(backoff, min(retry_after, self.max_retry_after_seconds))
        return backoff

    def redelivery_delay(
        self, deliveries: int, retry_after: float | None, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds before a pending entry delivered ``deliveries`` times is delivered again.

        Retry-After from the last failure wins when longer (up to a day: a platform that says
        "come back in an hour" means it, and the entry waits without holding a worker)."""
        cap = _capped(self.redeliver_base_seconds, self.redeliver_max_seconds, deliveries)
        backoff = _jittered(self.redeliver_jitter, cap, rand)
        if retry_after is not None:
            return max(backoff, min(retry_after, MAX_REDELIVERY_RETRY_AFTER))
        return backoff


MAX_REDELIVERY_RETRY_AFTER = 86_400.0


def _capped(base: float, cap: float, n: int) -> float:
    """``base * 2**(n-1)`` capped at ``cap`` (the exponent is bounded so a high count never overflows)."""
    return min(cap, base * 2 ** min(max(n - 1, 0), 62))


def _jittered(jitter: str, cap: float, rand: Callable[[], float]) -> float:
    """``full``: 0..cap; ``equal``: cap/2..cap; ``none``: cap."""
    return {"none": cap, "equal": cap / 2 + rand() * cap / 2}.get(jitter, rand() * cap)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    attempt = 1
    while True:
        try:
            return await call()
        except TRANSIENT + DEFERRED as exc:
            if attempt >= policy.attempts or error_class_of(exc) not in policy.retryable:
                raise
            retry_after = exc.retry_after if isinstance(exc, SystemUnavailable) else None
            wait = policy.delay(attempt, retry_after)
            log.warning(
                "retry.transient",
                extra={"attempt": attempt, "wait_seconds": round(wait, 3), "error": str(exc)},
            )
            await sleep(wait)
            attempt += 1


def step_runner(
    step: str, policy: RetryPolicy, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]:
    """Run one step of a flow under its own policy; a policy that gives up turns the last transient
    failure into a ``FlowFailure`` (an owned exception, acknowledged) instead of a redelivery.

    A rate limit is never given up on: the platform said when to come back (Retry-After), so the
    429 goes on to the flow's own policy, which retries and redelivers after it. Giving up there
    would abandon every step a burst of traffic throttled, although nothing is wrong."""

    async def run(call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await with_retries(call, policy, sleep)
        except TRANSIENT + DEFERRED as exc:
            if not policy.give_up or isinstance(exc, SystemRateLimited):
                raise
            reason = f"{step} gave up after {policy.attempts} attempt(s): {exc}"
            raise FlowFailure(error_class_of(exc), reason) from exc

    return run
