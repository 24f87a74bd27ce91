"""SOQL polling for activated contracts: the safety net under the signed push.

Every ``SALESFORCE_POLL_INTERVAL_SECONDS`` the one replica holding a Redis lock (SET NX PX,
renewed each iteration) reads the watermark (SystemModstamp + Id), queries activated contracts
at or after it, publishes ``crm.contract.activated`` (source ``salesforce.poll``) for each row
past the watermark, then advances it. Downstream is idempotent, so re-publishing a contract the
push already announced is harmless; a missed push is never a missed contract.

revbridge's own write-backs (billing ids, billing and dunning status, last sync) move a contract's
SystemModstamp too, which would announce every onboarded contract again after each of them. So
the poller keeps a digest of the fields onboarding reads (``mappers.CONTRACT_BUSINESS_FIELDS``)
as it last published them, per contract, and skips a row whose digest is unchanged: a change
only to write-back fields. (Skipping rows the integration user modified last would not do: the
sandbox's Contract has no LastModifiedById, and a person's edit after ours would be lost with it.)
A digest that expired (after ``DIGEST_TTL_SECONDS``) or was lost costs one harmless re-publish.
Run with ``python -m revbridge_system.poller``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import uuid
from typing import Any

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
DIGEST_KEY = "digest:salesforce:contract:"
DIGEST_TTL_SECONDS = 30 * 86_400
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


def business_digest(row: dict[str, Any]) -> str:
    """A digest of what onboarding reads from the row; the write-back fields do not change it."""
    values = [row.get(name) for name in mappers.CONTRACT_BUSINESS_FIELDS]
    return hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()


class Digests:
    """Per contract, the business digest of the row last published (expiring: a working set)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis, self._prefix = redis, prefix

    async def read(self, contract_ids: list[str]) -> dict[str, str]:
        if not contract_ids:
            return {}
        found = await self._redis.mget([self._prefix + i for i in contract_ids])
        pairs = zip(contract_ids, found, strict=True)
        return {i: v.decode() if isinstance(v, bytes) else str(v) for i, v in pairs if v}

    async def write(self, contract_id: str, digest: str) -> None:
        await self._redis.set(self._prefix + contract_id, digest, ex=DIGEST_TTL_SECONDS)


async def poll_once(crm: SalesforceCrm, bus: EventBus, watermark: Watermark, digests: Digests) -> int:
    """One iteration: publish every activated contract past the watermark whose business fields
    changed since it was last published, advance the watermark; returns the count published."""
    current = await watermark.read()
    rows = await crm.activated_since(current[0] if current else None)
    fresh = [(row, mappers.position(row)) for row in rows]
    fresh = [(row, position) for row, position in fresh if current is None or position > current]
    known = await digests.read([position[1] for _, position in fresh])
    published = skipped = 0
    for row, position in fresh:  # past the watermark, oldest first
        digest = business_digest(row)
        if known.get(position[1]) == digest:
            skipped += 1  # only write-back fields changed: revbridge's own write
        else:
            event = mappers.contract_activated(position[1], POLL_SOURCE, current_trace_fields(), None)
            await bus.publish(event)
            await digests.write(position[1], digest)
            published += 1
        await watermark.write(position)
    if published or skipped:
        log.info("salesforce.poll.published", extra={"count": published, "unchanged": skipped})
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
    digests = Digests(redis, bus.key(DIGEST_KEY))
    try:
        while not stop.is_set():
            try:
                if await lock.hold():
                    await poll_once(crm, bus, watermark, digests)
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
