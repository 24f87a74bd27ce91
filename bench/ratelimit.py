"""Why the gateway counts rate limits with its own Lua script rather than slowapi/limits.

The gateway must answer every call with RateLimit-Remaining/-Reset, so a decision is "hit, then
read the window". Measured against the same local Redis, interleaved, N decisions each:

  lua       the gateway's RateLimiter.hit: one EVALSHA (sliding-window log), headers included
  limits    limits' async MovingWindowRateLimiter on redis-py: hit() + get_window_stats()
  limits-1  the same without the stats read (what slowapi does before it builds headers)

slowapi itself wraps ``limits``' synchronous storage, which blocks the event loop for each
Redis round trip; the async API of ``limits`` is the fair comparison. Not a pass/fail test.

    uv run python bench/ratelimit.py [N]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from revbridge_gateway.ratelimit import RateLimiter

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


async def main(n: int) -> None:
    prefix = f"rbbench:{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(REDIS_URL)
    ours = RateLimiter(redis, prefix)
    storage = RedisStorage(
        REDIS_URL.replace("redis://", "async+redis://"),
        implementation="redispy",
        key_prefix=prefix + "limits",
    )
    theirs = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(1_000_000)
    times: dict[str, list[float]] = {"lua": [], "limits": [], "limits-1": []}

    async def lua() -> None:
        await ours.hit("bench-client", "default", 1_000_000, "GET")

    async def limits_full() -> None:
        await theirs.hit(item, "bench-client")
        await theirs.get_window_stats(item, "bench-client")

    async def limits_hit() -> None:
        await theirs.hit(item, "bench-client-2")

    runs = {"lua": lua, "limits": limits_full, "limits-1": limits_hit}
    for fn in runs.values():  # warm-up: connections, script load
        for _ in range(20):
            await fn()
    for _ in range(n):
        for name, fn in runs.items():
            start = time.perf_counter()
            await fn()
            times[name].append((time.perf_counter() - start) * 1e6)
    base = statistics.median(times["lua"])
    print(f"rate-limit decision latency against {REDIS_URL}, {n} each, interleaved")
    for name, values in times.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=100)[94]
        print(f"  {name:9s} p50 {p50:7.1f} us  p95 {p95:7.1f} us  ratio to lua {p50 / base:4.2f}x")
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
