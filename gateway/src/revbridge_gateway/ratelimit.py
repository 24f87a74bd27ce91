"""Per-client rate limits shared by every gateway replica, counted in Redis.

Algorithm: a sliding-window log in one Lua script (``ZREMRANGEBYSCORE``, ``ZCARD``, ``ZADD``,
``PEXPIRE``), run with ``EVALSHA`` — one atomic round trip per request, using Redis's own clock so
replicas with skewed clocks share one window. A moving window has no boundary burst: at most
``limit`` calls are admitted in any 60 s span. The key is the client id (plus the operation id when
the contract sets ``x-rate-limit``), never the token or the caller's IP, so fresh tokens or a
rotating ``X-Forwarded-For`` don't buy more budget; ``{client_id}`` is a hash tag for Redis Cluster.

Redis unreachable: reads (GET/HEAD) fail open under an in-process sliding window of the same size
(so each replica admits at most ``limit`` per minute on its own); writes fail closed with 503,
because an unmetered burst of money-moving POSTs is worse than a retry. After a failure the
gateway skips Redis for ``BACKOFF_SECONDS`` so an outage doesn't add a connect timeout to each call.

``has_headroom`` says whether the last decision this replica saw for a budget left plenty of it
(at least a tenth, and at least two calls): the pipeline then lets a read go upstream while its
decision is still on its way (see ``pipeline``). The answer is only a hint; every call still waits
for its own decision.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from revbridge_gateway.errors import RateLimiterUnavailable

WINDOW_MS = 60_000
BACKOFF_SECONDS = 1.0
FAIL_OPEN_METHODS = frozenset({"GET", "HEAD"})
HEADROOM_SHARE, HEADROOM_MIN = 10, 2
REMEMBERED_BUDGETS = 10_000  # bounds the hints kept (external issuers' callers are unbounded)

log = logging.getLogger("revbridge.gateway.ratelimit")

SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], window)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = window
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, count, reset}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    degraded: bool = False

    def headers(self) -> dict[str, str]:
        values = {
            "Limit": str(self.limit),
            "Remaining": str(self.remaining),
            "Reset": str(self.reset_seconds),
        }
        out = {f"RateLimit-{k}": v for k, v in values.items()}
        out.update({f"X-RateLimit-{k}": v for k, v in values.items()})
        out["RateLimit-Policy"] = f"{self.limit};w={WINDOW_MS // 1000}"
        if not self.allowed:
            out["Retry-After"] = str(max(1, self.reset_seconds))
        return out


class LocalWindow:
    """In-process sliding-window log: the fallback while Redis is unreachable."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._clock = clock

    def hit(self, key: str, limit: int) -> Decision:
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW_MS / 1000:
            hits.popleft()
        allowed = len(hits) < limit
        if allowed:
            hits.append(now)
        reset = hits[0] + WINDOW_MS / 1000 - now if hits else WINDOW_MS / 1000
        return Decision(allowed, limit, limit - len(hits), math.ceil(reset), degraded=True)


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(SLIDING_WINDOW)
        self._local = LocalWindow()
        self._skip_redis_until = 0.0
        self._remaining: dict[str, int] = {}  # last decision's remaining calls, per budget key

    def key(self, client_id: str, bucket: str) -> str:
        return f"{self._prefix}gw:rl:{{{client_id}}}:{bucket}"

    def has_headroom(self, client_id: str, bucket: str, limit: int) -> bool:
        left = self._remaining.get(self.key(client_id, bucket))
        return left is not None and left >= max(HEADROOM_MIN, limit // HEADROOM_SHARE)

    def _remember(self, key: str, decision: Decision) -> Decision:
        if len(self._remaining) >= REMEMBERED_BUDGETS and key not in self._remaining:
            self._remaining.clear()
        self._remaining[key] = decision.remaining if decision.allowed else 0
        return decision

    async def hit(self, client_id: str, bucket: str, limit: int, method: str) -> Decision:
        key = self.key(client_id, bucket)
        if time.monotonic() >= self._skip_redis_until:
            try:
                allowed, count, reset_ms = await self._script(
                    keys=[key], args=[limit, WINDOW_MS, uuid.uuid4().hex]
                )
                decision = Decision(
                    bool(allowed), limit, max(0, limit - int(count)), math.ceil(int(reset_ms) / 1000)
                )
                return self._remember(key, decision)
            except (RedisError, OSError) as exc:
                self._skip_redis_until = time.monotonic() + BACKOFF_SECONDS
                log.warning(
                    "gateway.ratelimit.redis_unavailable",
                    extra={"error": type(exc).__name__, "client_id": client_id},
                )
        if method in FAIL_OPEN_METHODS:
            return self._remember(key, self._local.hit(key, limit))
        raise RateLimiterUnavailable(
            "rate limiter unavailable; retry shortly",
            headers={"Retry-After": str(math.ceil(BACKOFF_SECONDS))},
        )
