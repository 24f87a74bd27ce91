"""The "now" of a customer's usage: the wall clock, or its Stripe test clock's frozen time.

A test clock moves only when a test or demo advances it, so its time is read through the system API
and kept ``ttl`` seconds per (account, clock) (``PROCESS_USAGE_CLOCK_CACHE_SECONDS``): a batch of a
thousand events costs one read, and an advanced clock is seen within that time. A clock the account
no longer has (Stripe deletes test clocks after 30 days) falls back to the wall clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from revbridge_process.errors import SystemNotFound
from revbridge_process.ports import MeterPort

log = logging.getLogger(__name__)


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Clocks:
    def __init__(
        self,
        system: MeterPort,
        ttl_seconds: float,
        now: Callable[[], dt.datetime] = wall_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._system, self._ttl = system, ttl_seconds
        self._now, self._monotonic = now, monotonic
        self._cache: dict[tuple[str, str], tuple[float, dt.datetime | None]] = {}

    def wall(self) -> dt.datetime:
        return self._now()

    async def now(self, account: str, clock_id: str | None) -> dt.datetime:
        if clock_id is None:
            return self._now()
        key = (account, clock_id)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._monotonic():
            return cached[1] or self._now()
        try:
            frozen: dt.datetime | None = (await self._system.get_test_clock(account, clock_id)).frozen_time
        except SystemNotFound:
            log.warning("usage.test_clock.missing", extra={"account": account, "clock_id": clock_id})
            frozen = None
        if len(self._cache) > 10_000:  # test clocks are few; bound it anyway
            self._cache.clear()
        self._cache[key] = (self._monotonic() + self._ttl, frozen)
        return frozen or self._now()
