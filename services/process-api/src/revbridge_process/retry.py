"""In-process retries of transient failures: exponential backoff with full jitter, honouring
Retry-After. After the last attempt the error propagates and the message stays pending, so the
bus (XAUTOCLAIM, then the dead-letter stream) takes over from there."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from revbridge_process.errors import TRANSIENT, SystemUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_seconds: float = 0.5
    max_seconds: float = 10.0
    max_retry_after_seconds: float = 30.0

    def delay(
        self, attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        backoff = rand() * min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
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
        except TRANSIENT as exc:
            if attempt >= policy.attempts:
                raise
            retry_after = exc.retry_after if isinstance(exc, SystemUnavailable) else None
            wait = policy.delay(attempt, retry_after)
            log.warning(
                "retry.transient",
                extra={"attempt": attempt, "wait_seconds": round(wait, 3), "error": str(exc)},
            )
            await sleep(wait)
            attempt += 1
