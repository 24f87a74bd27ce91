"""SOQL polling for activated contracts: the safety net under the signed push.

Every ``SALESFORCE_POLL_INTERVAL_SECONDS`` the one replica holding a Redis lock (SET NX PX,
renewed each iteration) reads the watermark (SystemModstamp + Id), queries activated contracts
at or after it, publishes ``crm.contract.activated`` (source ``salesforce.poll``) for each row
past the watermark, then advances it. Downstream is idempotent, so re-publishing a contract the
push already announced is harmless; a missed push is never a missed contract.
Run with ``python -m revbridge_system.poller``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError
from revbridge_contracts.tracing import current_trace_fields

from revbridge_system.adapters.salesforce import mappers
from revbridge_system.adapters.salesforce.client import SalesforceCrm
from revbridge_system.bus import EventBus
from revbridge_system.errors import ServiceError
from revbridge_system.settings import Settings

log = logging.getLogger("revbridge_system.poller")
WATERMARK_KEY = "watermark:salesforce:contract"
LOCK_KEY = "lock:poller:salesforce:contract"
POLL_SOURCE = "salesforce.poll"
# Extend the lock only if we still hold it (compare-and-pexpire).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class Watermark:
    """The (SystemModstamp, Id) of the last contract published, kept in Redis."""

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis, self._key = redis, key

    async def read(self) -> tuple[dt.datetime, str] | None:
        raw = await self._redis.get(self._key)
        if not raw:
            return None
        data = json.loads(raw)
        return dt.datetime.fromisoformat(data["system_modstamp"]), str(data["id"])

    async def write(self, position: tuple[dt.datetime, str]) -> None:
        await self._redis.set(
            self._key, json.dumps({"system_modstamp": position[0].isoformat(), "id": position[1]})
        )


async def poll_once(crm: SalesforceCrm, bus: EventBus, watermark: Watermark) -> int:
    """One iteration: publish every activated contract past the watermark, advance it; returns the count."""
    current = await watermark.read()
    rows = await crm.activated_since(current[0] if current else None)
    published = 0
    for row in rows:
        position = mappers.position(row)
        if current is not None and position <= current:
            continue  # the watermark record itself (and same-second rows already seen)
        await bus.publish(mappers.contract_activated(position[1], POLL_SOURCE, current_trace_fields(), None))
        await watermark.write(position)
        current, published = position, published + 1
    if published:
        log.info("salesforce.poll.published", extra={"count": published})
    return published


class PollerLock:
    """A Redis lease so exactly one poller replica runs; lost leases stop the holder's next iteration."""

    def __init__(self, redis: Redis, key: str, ttl_ms: int) -> None:
        self._redis, self._key, self._ttl_ms = redis, key, ttl_ms
        self._token = uuid.uuid4().hex
        self._renew = redis.register_script(_RENEW)

    async def hold(self) -> bool:
        """Acquire the lease or renew ours; False when another replica holds it."""
        if await self._renew(keys=[self._key], args=[self._token, self._ttl_ms]):
            return True
        return bool(await self._redis.set(self._key, self._token, nx=True, px=self._ttl_ms))

    async def release(self) -> None:
        if await self._redis.get(self._key) == self._token.encode():
            await self._redis.delete(self._key)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    from revbridge_contracts.telemetry import setup_tracing

    setup_tracing("system-api-poller")
    stop = stop or asyncio.Event()
    interval = settings.salesforce.poll_interval_seconds
    redis = Redis.from_url(settings.redis_url)
    bus = EventBus(redis, settings.key_prefix, settings.stream_maxlen)
    crm = SalesforceCrm(settings.salesforce)
    lock = PollerLock(redis, bus.key(LOCK_KEY), ttl_ms=int(max(interval * 3, 10) * 1000))
    watermark = Watermark(redis, bus.key(WATERMARK_KEY))
    try:
        while not stop.is_set():
            try:
                if await lock.hold():
                    await poll_once(crm, bus, watermark)
            except ServiceError as exc:
                log.warning(
                    "salesforce.poll.failed", extra={"error": type(exc).__name__, "status": exc.status}
                )
            except (RedisError, OSError) as exc:  # Redis restarting: keep polling once it is back
                log.warning("salesforce.poll.redis_unavailable", extra={"error": type(exc).__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
    finally:
        await lock.release()
        await crm.aclose()
        await redis.aclose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(Settings()))


if __name__ == "__main__":
    main()
