"""In-process retries of transient failures: exponential backoff with jitter, honouring Retry-After.

A ``RetryPolicy`` is data (``config/retry-policies.yaml`` per flow step, the ``PROCESS_RETRY_*``
settings otherwise). After the last attempt the error propagates: the message stays pending, so the
bus (XAUTOCLAIM, then the dead-letter stream) takes over, unless the policy gives up sooner, which
turns the failure into an owned exception (``step_runner``)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from revbridge_contracts.process import ErrorClass

from revbridge_process.errors import DEFERRED, TRANSIENT, FlowFailure, SystemUnavailable, error_class_of

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

    def delay(
        self, attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        cap = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        backoff = {"none": cap, "equal": cap / 2 + rand() * cap / 2}.get(self.jitter, rand() * cap)
        if retry_after is not None:
            return max(backoff, min(retry_after, self.max_retry_after_seconds))
        return backoff


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
    failure into a ``FlowFailure`` (an owned exception, acknowledged) instead of a redelivery."""

    async def run(call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await with_retries(call, policy, sleep)
        except TRANSIENT + DEFERRED as exc:
            if not policy.give_up:
                raise
            reason = f"{step} gave up after {policy.attempts} attempt(s): {exc}"
            raise FlowFailure(error_class_of(exc), reason) from exc

    return run
