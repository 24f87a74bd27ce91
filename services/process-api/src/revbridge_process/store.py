"""The integration's own working set in Redis: onboarding status, Idempotency-Keys and (inherited
from ``exception_queue``) the exception queue.

None is the system of record for money (ARCHITECTURE §3): losing them costs re-processing, never a
duplicate posting, so each expires (statuses and keys by TTL, resolved exceptions after 30 days).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from revbridge_contracts.process import OnboardingStatus

from revbridge_process.config import Config
from revbridge_process.exception_queue import RedisExceptionQueue, exception_id, utcnow
from revbridge_process.settings import Settings

__all__ = ["STATUS_TTL_SECONDS", "RedisStore", "build_store", "exception_id", "utcnow"]

STATUS_TTL_SECONDS = 30 * 86_400
"""Onboarding statuses expire this long after their last change; the CRM keeps the ids for good."""


class RedisStore(RedisExceptionQueue):
    """Implements ``ports.StatusStore`` and (inherited) ``ports.ExceptionSink``; also the API's read side."""

    # --- onboarding status ---------------------------------------------------------------------

    async def get_status(self, contract_id: str) -> OnboardingStatus | None:
        raw = await self._redis.get(self._key("onboarding", contract_id))
        return OnboardingStatus.model_validate_json(raw) if raw else None

    async def put_status(self, status: OnboardingStatus) -> None:
        await self._redis.set(
            self._key("onboarding", status.contract_id), status.model_dump_json(), ex=STATUS_TTL_SECONDS
        )

    async def claim_idempotency_key(
        self, key: str, value: str, ttl_seconds: int = 86_400
    ) -> tuple[str, bool]:
        """Remember ``value`` under a client's Idempotency-Key: ``(value stored first, claimed now)``."""
        redis_key = self._key("idempotency", key)
        if await self._redis.set(redis_key, value, nx=True, ex=ttl_seconds):
            return value, True
        stored = await self._redis.get(redis_key)
        return (_text(stored), False) if stored is not None else (value, False)


def build_store(redis: Redis, settings: Settings, config: Config) -> RedisStore:
    """The store as both composition roots (API and worker) wire it."""
    return RedisStore(
        redis,
        settings.key_prefix,
        config.exceptions,
        flow_sla_hours=config.retries.sla_hours(),
        resolved_ttl_seconds=int(settings.resolved_ttl_days * 86_400),
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
