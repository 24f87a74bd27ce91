"""The audit trail for internal apps: who changed what through the gateway (every outcome) and every
action on an exception, from the append-only ``revbridge.audit_event``; newest first, paged by id.

Read-only: nothing here (nor anywhere in the application) updates or deletes a row. Times are
RFC 3339 with their offset (a bare number is not read as Unix time); ``cursor`` is the last id of
the previous page. While PostgreSQL does not answer: 503 problem+json.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from revbridge_contracts.experience import AuditEvent, AuditPage
from revbridge_contracts.problems import UpstreamUnavailable
from revbridge_db import audit
from revbridge_db.engine import is_unavailable
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_experience.deps import closed_query, invalid

router = APIRouter(dependencies=[Depends(closed_query)])
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"


async def _engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


Engine = Annotated[AsyncEngine, Depends(_engine)]
Text = Annotated[str | None, Query(min_length=1, max_length=255)]
Instant = Annotated[str | None, Query(pattern=RFC3339, description="RFC 3339 date-time with its offset")]


def _text(name: str, value: str | None) -> str | None:
    if value is not None and "\x00" in value:  # PostgreSQL text holds no NUL: nothing could match
        raise invalid(f"query.{name}", "must not contain NUL")
    return value


def _instant(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise invalid(f"query.{name}", "not a valid date-time") from None


@router.get("/v2/audit", operation_id="listAuditEvents", response_model=AuditPage)
async def list_audit_events(
    engine: Engine,
    actor: Text = None,
    business_key: Text = None,
    operation: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    since: Instant = None,
    until: Instant = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$", description="from next_cursor")] = None,
) -> AuditPage:
    where = audit.AuditFilter(
        actor=_text("actor", actor),
        business_key=_text("business_key", business_key),
        operation=_text("operation", operation),
        since=_instant("since", since),
        until=_instant("until", until),
    )
    try:
        rows = await audit.page(engine, where, limit + 1, int(cursor) if cursor else None)
    except Exception as exc:
        if is_unavailable(exc):
            raise UpstreamUnavailable("the audit database is unavailable; retry shortly") from exc
        raise
    items = [AuditEvent(**row) for row in rows[:limit]]
    return AuditPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)
