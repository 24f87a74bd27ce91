"""The integration's own working set in Redis: onboarding status and the exception queue.

Neither is the system of record for money (ARCHITECTURE §3): losing them costs re-processing,
never a duplicate posting. Exception records are keyed by (flow, business key) and updated by one
Lua script, so concurrent workers repeating a failure count attempts instead of duplicating it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from revbridge_contracts.process import ErrorClass, ExceptionRecord, OnboardingStatus

from revbridge_process.config import ExceptionPolicies

_RECORD_EXCEPTION = """
local status = redis.call('HGET', KEYS[1], 'status')
if (not status) or status == 'resolved' then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'flow', ARGV[2], 'business_key', ARGV[3],
             'first_seen', ARGV[7], 'attempts', 0, 'status', 'open')
end
if redis.call('HGET', KEYS[1], 'error_class') ~= ARGV[4] then
  redis.call('HSET', KEYS[1], 'sla_due', ARGV[8])
end
redis.call('HSET', KEYS[1], 'error_class', ARGV[4], 'reason', ARGV[5], 'owner', ARGV[6], 'last_seen', ARGV[7])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def exception_id(flow: str, business_key: str) -> str:
    return f"{flow}:{business_key}"


class RedisStore:
    """Implements ``ports.StatusStore`` and ``ports.ExceptionSink``; also the API's read side."""

    def __init__(
        self, redis: Redis, prefix: str, policies: ExceptionPolicies, now: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._policies = policies
        self._now = now
        self._record = redis.register_script(_RECORD_EXCEPTION)

    def _key(self, *parts: str) -> str:
        return self._prefix + "process:" + ":".join(parts)

    # --- onboarding status ---------------------------------------------------------------------

    async def get_status(self, contract_id: str) -> OnboardingStatus | None:
        raw = await self._redis.get(self._key("onboarding", contract_id))
        return OnboardingStatus.model_validate_json(raw) if raw else None

    async def put_status(self, status: OnboardingStatus) -> None:
        await self._redis.set(self._key("onboarding", status.contract_id), status.model_dump_json())

    async def claim_idempotency_key(
        self, key: str, value: str, ttl_seconds: int = 86_400
    ) -> tuple[str, bool]:
        """Remember ``value`` under a client's Idempotency-Key: ``(value stored first, claimed now)``."""
        redis_key = self._key("idempotency", key)
        if await self._redis.set(redis_key, value, nx=True, ex=ttl_seconds):
            return value, True
        stored = await self._redis.get(redis_key)
        return (_text(stored), False) if stored is not None else (value, False)

    # --- exception queue -----------------------------------------------------------------------

    async def record_exception(
        self, flow: str, business_key: str, error_class: ErrorClass, reason: str
    ) -> ExceptionRecord:
        record_id = exception_id(flow, business_key)
        policy = self._policies.for_class(error_class)
        now = self._now()
        args = [
            record_id,
            flow,
            business_key,
            error_class.value,
            reason,
            policy.owner,
            now.isoformat(),
            policy.due(now).isoformat(),
        ]
        flat = await self._record(
            keys=[self._key("exception", record_id), self._key("exceptions")], args=args
        )
        return _exception(dict(zip(flat[::2], flat[1::2], strict=True)))

    async def resolve_exception(self, flow: str, business_key: str) -> None:
        key = self._key("exception", exception_id(flow, business_key))
        if await self._redis.exists(key):
            await self._redis.hset(key, mapping={"status": "resolved", "last_seen": self._now().isoformat()})

    async def get_exception(self, flow: str, business_key: str) -> ExceptionRecord | None:
        raw = await self._redis.hgetall(self._key("exception", exception_id(flow, business_key)))
        return _exception(raw) if raw else None

    async def list_exceptions(
        self, status: str | None = None, flow: str | None = None
    ) -> list[ExceptionRecord]:
        ids = sorted(_text(i) for i in await self._redis.smembers(self._key("exceptions")))  # type: ignore[misc]
        async with self._redis.pipeline(transaction=False) as pipe:
            for record_id in ids:
                pipe.hgetall(self._key("exception", record_id))
            rows = await pipe.execute()
        records = [_exception(row) for row in rows if row]
        selected = [
            r for r in records if (status is None or r.status == status) and (flow is None or r.flow == flow)
        ]
        return sorted(selected, key=lambda r: r.last_seen, reverse=True)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _exception(raw: dict[Any, Any]) -> ExceptionRecord:
    return ExceptionRecord.model_validate({_text(k): _text(v) for k, v in raw.items()})
