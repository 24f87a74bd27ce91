"""A circuit breaker per upstream, so a dead upstream costs callers a fast 503, not a timeout each.

Closed: calls pass; ``threshold`` consecutive failures (connect errors, timeouts — never an upstream's
own HTTP answer, which is the upstream working) open it. Open: calls are refused at once with a
``Retry-After`` of the cooldown left. After the cooldown one call is let through as a probe
(half-open) while the others are still refused; its success closes the breaker, its failure opens
it for another cooldown. State is per replica: each gateway learns an outage on its own.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from revbridge_gateway.errors import CircuitOpen

log = logging.getLogger("revbridge.gateway.breaker")


class CircuitBreaker:
    def __init__(
        self, name: str, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self._threshold, self._cooldown, self._clock = threshold, cooldown, clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._probing else "open"

    def before(self) -> None:
        """Admit the call, or raise CircuitOpen (503 with Retry-After)."""
        if self._opened_at is None:
            return
        now = self._clock()
        left = self._opened_at + self._cooldown - now
        if left <= 0:
            # this call is the probe; the clock restarts so one probe goes per cooldown, even if
            # this one never reports back (a cancelled request)
            self._opened_at, self._probing = now, True
            return
        retry = str(max(1, math.ceil(left)))
        raise CircuitOpen(f"{self.name} API unavailable; circuit open", headers={"Retry-After": retry})

    def success(self) -> None:
        if self._opened_at is not None:
            log.info("gateway.breaker.closed", extra={"upstream": self.name})
        self._failures, self._opened_at, self._probing = 0, None, False

    def failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self._threshold:
            if self._opened_at is None:
                log.warning(
                    "gateway.breaker.opened", extra={"upstream": self.name, "failures": self._failures}
                )
            self._opened_at, self._probing = self._clock(), False
