"""Writing and paging the audit trail (``revbridge.audit_event``, append-only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_db.schema import audit_event


async def record(
    engine: AsyncEngine,
    *,
    source: str,
    operation: str,
    outcome: str,
    actor: str | None = None,
    client: str | None = None,
    method: str | None = None,
    path: str | None = None,
    business_key: str | None = None,
    status: int | None = None,
    trace_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(audit_event).values(
                source=source,
                operation=operation,
                outcome=outcome,
                actor=actor,
                client=client,
                method=method,
                path=path,
                business_key=business_key,
                status=status,
                trace_id=trace_id,
                detail=detail or {},
            )
        )


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    business_key: str | None = None
    operation: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def page(
    engine: AsyncEngine, where: AuditFilter, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Newest first, ``limit`` rows with an id below ``before_id`` (the previous page's last id)."""
    q = select(audit_event).order_by(audit_event.c.id.desc()).limit(limit)
    if before_id is not None:
        q = q.where(audit_event.c.id < before_id)
    if where.actor:
        q = q.where(audit_event.c.actor == where.actor)
    if where.business_key:
        q = q.where(audit_event.c.business_key == where.business_key)
    if where.operation:
        q = q.where(audit_event.c.operation == where.operation)
    if where.since:
        q = q.where(audit_event.c.at >= where.since)
    if where.until:
        q = q.where(audit_event.c.at < where.until)
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(q)).all()]
