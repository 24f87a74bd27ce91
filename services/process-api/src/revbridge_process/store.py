"""The integration's own state: onboarding statuses and (inherited from ``exception_queue``) the
exception queue in PostgreSQL, kept for the retention period (``DbSettings.retention_years``), never
by TTL; the Idempotency-Keys of ``POST /v1/onboardings`` in Redis (a 24 h working set).

Losing Redis loses no status and no exception: only claims of Idempotency-Keys younger than a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from redis.asyncio import Redis
from revbridge_contracts.process import FlowState, OnboardingStatus
from revbridge_db.audit import record as audit_record
from revbridge_db.schema import onboarding_status
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_process.config import Config, ExceptionPolicies
from revbridge_process.exception_queue import (
    PgExceptionQueue,
    StoreUnavailable,
    clean_text,
    exception_id,
    storable,
    utcnow,
)
from revbridge_process.settings import Settings

__all__ = ["PgStore", "StoreUnavailable", "build_store", "exception_id", "utcnow"]

STATUS_FIELDS = ("state", "billing_customer_id", "billing_subscription_id", "erp_customer_id", "error")


class PgStore(PgExceptionQueue):
    """Implements ``ports.StatusStore`` and (inherited) ``ports.ExceptionSink``; also the API's read side."""

    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        prefix: str,
        policies: ExceptionPolicies,
        now: Callable[[], dt.datetime] = utcnow,
        flow_sla_hours: Mapping[str, float] | None = None,
        wait_seconds: float = 10.0,
    ) -> None:
        super().__init__(engine, policies, now, flow_sla_hours, wait_seconds)
        self._redis, self._prefix = redis, prefix

    # --- onboarding status ---------------------------------------------------------------------

    async def get_status(self, contract_id: str) -> OnboardingStatus | None:
        if not storable(contract_id):
            return None
        query = select(onboarding_status).where(onboarding_status.c.contract_id == contract_id)

        async def go() -> OnboardingStatus | None:
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).one_or_none()
            if row is None:
                return None
            values = row._mapping
            return OnboardingStatus(
                contract_id=values["contract_id"],
                state=FlowState(values["state"]),
                billing_customer_id=values["billing_customer_id"],
                billing_subscription_id=values["billing_subscription_id"],
                erp_customer_id=values["erp_customer_id"],
                error=values["error"],
                updated_at=values["updated_at"].astimezone(dt.UTC),
            )

        return await self._read(go)

    async def put_status(self, status: OnboardingStatus) -> None:
        values = {name: _clean(getattr(status, name)) for name in STATUS_FIELDS}
        values["state"] = status.state.value
        statement = (
            insert(onboarding_status)
            .values(contract_id=status.contract_id, updated_at=status.updated_at, **values)
            .on_conflict_do_update(
                index_elements=["contract_id"], set_={**values, "updated_at": status.updated_at}
            )
        )

        async def go() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(statement)

        await self._write(go)

    # --- the audit trail of operator actions -----------------------------------------------------

    async def audit(
        self,
        operation: str,
        outcome: str,
        *,
        business_key: str,
        actor: str | None,
        client: str | None,
        trace_id: str | None,
        status: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one row to ``revbridge.audit_event`` (source ``process``)."""
        facts = {k: clean_text(v) if isinstance(v, str) else v for k, v in (detail or {}).items()}
        await self._write(
            lambda: audit_record(
                self.engine,
                source="process",
                operation=operation,
                outcome=outcome,
                actor=_clean(actor),
                client=_clean(client),
                business_key=clean_text(business_key),
                trace_id=trace_id,
                status=status,
                detail=facts,
            )
        )

    # --- Idempotency-Keys (Redis: a working set of a day) ----------------------------------------

    def _key(self, *parts: str) -> str:
        return self._prefix + "process:" + ":".join(parts)

    async def claim_idempotency_key(
        self, key: str, value: str, ttl_seconds: int = 86_400
    ) -> tuple[str, bool]:
        """Remember ``value`` under a client's Idempotency-Key: ``(value stored first, claimed now)``."""
        redis_key = self._key("idempotency", key)
        if await self._redis.set(redis_key, value, nx=True, ex=ttl_seconds):
            return value, True
        stored = await self._redis.get(redis_key)
        return (_text(stored), False) if stored is not None else (value, False)


def build_store(redis: Redis, engine: AsyncEngine, settings: Settings, config: Config) -> PgStore:
    """The store as the composition roots (API, worker, usage sender) wire it."""
    return PgStore(
        engine,
        redis,
        settings.key_prefix,
        config.exceptions,
        flow_sla_hours=config.retries.sla_hours(),
        wait_seconds=settings.ledger_wait_seconds,
    )


def _clean(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
