"""One NetSuite concurrency budget for the whole account, shared in Redis by every replica.

NetSuite counts concurrent requests per account (15 on a standard tier) and answers 429 past the
limit. Every system API replica and poller shares one budget: a request holds a lease in a sorted
set (score: when the lease expires) for as long as it runs, so a replica that dies mid-request
frees its slots when their leases run out.

A 429 from NetSuite halves the account's shared limit for its Retry-After (else
``cooldown_default_seconds``); a further 429 halves it again, down to one slot, and a 429 at one
slot starts a shared cool-down that every holder waits out before its next request. Halving rather
than stopping everything at the first 429: a pause of the whole account per 429 turned a few
scattered 429s a second (another integration using the account, or the chaos run's injected 5%)
into NetSuite traffic stopped nearly all the time, while halving still backs off quickly when the
account really is saturated. The limit is whole again once the last 429's Retry-After has passed.

Only a 429 to a request sent after the last halving halves again (TCP's one reduction per window):
the requests already in flight when the limit was halved were sent under the larger limit, so their
429s say nothing about the smaller one. Without this, one burst of 429s to requests sent together
cut the limit to one slot and paused the account, however few slots the account was short.
A caller that would wait longer than ``max_wait_seconds`` gets ``RateLimited`` with the time left
as Retry-After, so the flow schedules its redelivery instead of holding a connection.

Hooked in as an httpx transport (``BudgetTransport``), so every NetSuite request the client makes,
whatever method sends it, goes through one place. If Redis does not answer, requests go on
without the shared budget (each process still keeps to ``limit`` itself) and a warning is logged:
the integration slows down or meets NetSuite's own 429s, but never fails because of its budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from revbridge_system.errors import RateLimited

log = logging.getLogger("revbridge_system.netsuite.budget")

# KEYS[1] leases (zset token -> expiry ms), KEYS[2] cool-down (until ms), KEYS[3] throttled limit
# ARGV now_ms, limit, lease_ms, token -> {1, 0} granted | {0, ms} cooling down | {0, -1} full
_ACQUIRE = """
local now = tonumber(ARGV[1])
local cool = tonumber(redis.call('GET', KEYS[2]) or '0')
if cool > now then return {0, cool - now} end
local limit = tonumber(ARGV[2])
local throttled = redis.call('GET', KEYS[3])
if throttled then limit = math.min(limit, tonumber(throttled)) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return {1, 0}
end
return {0, -1}
"""
# KEYS[1] throttled limit, KEYS[2] cool-down, KEYS[3] when the limit was last halved (ms);
# ARGV limit, ttl_ms, until_ms, sent_ms (when the refused request was sent; -1: unknown), now_ms
# -> the limit now in force (0: it was one slot already, so the account cools down instead;
#    -1: the request was sent before the last halving, so nothing changes)
_THROTTLE = """
local current = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
local halved_at = tonumber(redis.call('GET', KEYS[3]) or '-1')
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(ARGV[4]) < halved_at then return -1 end
redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[2])
if current <= 1 then
  local cool = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[3]) > cool then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2]) end
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[2])
  return 0
end
local halved = math.floor(current / 2)
redis.call('SET', KEYS[1], halved, 'PX', ARGV[2])
return halved
"""


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After in delta-seconds (what NetSuite sends); an HTTP date or garbage counts as absent."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class NetSuiteBudget:
    """The account-wide concurrency budget and 429 cool-down (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        key_prefix: str,
        limit: int = 15,
        lease_seconds: float = 35.0,
        max_wait_seconds: float = 10.0,
        cooldown_default_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_seconds: float = 0.02,
    ) -> None:
        self.limit = limit
        self._redis = redis
        self.leases_key = f"{key_prefix}netsuite:budget:leases"
        self.cooldown_key = f"{key_prefix}netsuite:budget:cooldown"
        self.throttle_key = f"{key_prefix}netsuite:budget:throttled"
        self.halved_at_key = f"{key_prefix}netsuite:budget:halved_at"
        self._lease_ms = int(lease_seconds * 1000)
        self._max_wait, self._cooldown_default = max_wait_seconds, cooldown_default_seconds
        self._clock, self._sleep, self._poll = clock, sleep, poll_seconds
        self._local = asyncio.Semaphore(limit)
        self._acquire = redis.register_script(_ACQUIRE)
        self._throttle = redis.register_script(_THROTTLE)

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the account's slots for the duration of the block."""
        async with self._local:
            token = await self._take()
            try:
                yield
            finally:
                if token:
                    await self._give_back(token)

    async def _take(self) -> str | None:
        """A lease token; None when Redis is unavailable (the budget then fails open)."""
        token, started = uuid.uuid4().hex, self._clock()
        while True:
            try:
                granted, wait_ms = await self._acquire(
                    keys=[self.leases_key, self.cooldown_key, self.throttle_key],
                    args=[self.now_ms(), self.limit, self._lease_ms, token],
                )
            except (RedisError, OSError) as exc:
                log.warning("netsuite.budget.unavailable", extra={"error": type(exc).__name__})
                return None
            if int(granted):
                return token
            waited = self._clock() - started
            if int(wait_ms) >= 0:  # cooling down after a 429
                remaining = int(wait_ms) / 1000
                if waited + remaining > self._max_wait:
                    raise RateLimited(
                        "netsuite is cooling down after a 429", retry_after=str(math.ceil(remaining))
                    )
                await self._sleep(remaining)
                continue
            if waited >= self._max_wait:
                raise RateLimited("netsuite concurrency budget exhausted", retry_after="1")
            await self._sleep(self._poll * (0.5 + random.random()))

    async def _give_back(self, token: str) -> None:
        with contextlib.suppress(RedisError, OSError):  # the lease expires on its own
            await self._redis.zrem(self.leases_key, token)

    async def throttle(self, seconds: float | None, sent_ms: int | None = None) -> None:
        """NetSuite answered 429 to a request sent at ``sent_ms`` (None: count it whenever sent):
        halve the shared limit for ``seconds`` (default ``cooldown_default_seconds``); at one slot
        already, every holder cools down instead. A request sent before the last halving changes
        nothing (see the module docstring)."""
        wait_ms = max(int((self._cooldown_default if seconds is None else seconds) * 1000), 1)
        now = self.now_ms()
        try:
            limit = await self._throttle(
                keys=[self.throttle_key, self.cooldown_key, self.halved_at_key],
                args=[self.limit, wait_ms, now + wait_ms, now if sent_ms is None else sent_ms, now],
            )
        except (RedisError, OSError) as exc:
            log.warning("netsuite.budget.unavailable", extra={"error": type(exc).__name__})
            return
        if int(limit) < 0:
            log.info("netsuite.budget.throttle_in_flight", extra={"seconds": wait_ms / 1000})
        elif int(limit):
            log.warning("netsuite.budget.throttled", extra={"limit": int(limit), "seconds": wait_ms / 1000})
        else:
            log.warning("netsuite.budget.cooling_down", extra={"seconds": wait_ms / 1000})

    async def limit_now(self) -> int:
        """The limit in force: ``limit``, or less while a 429 has it halved."""
        raw = await self._redis.get(self.throttle_key)
        return min(self.limit, int(raw)) if raw else self.limit

    async def cooldown_remaining(self) -> float:
        raw = await self._redis.get(self.cooldown_key)
        return max(0.0, (int(raw) - self.now_ms()) / 1000) if raw else 0.0

    async def holders(self) -> int:
        """Leases held now (expired ones not counted)."""
        return int(await self._redis.zcount(self.leases_key, self.now_ms() + 1, "+inf"))


class BudgetTransport(httpx.AsyncBaseTransport):
    """Sends each request inside a budget slot; a 429 answer halves the shared limit (``throttle``)."""

    def __init__(self, budget: NetSuiteBudget, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._budget = budget
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with self._budget.slot():
            sent_ms = self._budget.now_ms()
            response = await self._inner.handle_async_request(request)
            try:
                await response.aread()  # the slot is held until the whole answer is in
            except BaseException:
                await response.aclose()
                raise
            if response.status_code == 429:
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                await self._budget.throttle(retry_after, sent_ms)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
