"""The durable record of usage intake (``revbridge.usage_acceptance``, append-only): one row per event
received, with the answer it got (accepted, duplicate or rejected, and why).

Redis keeps the working set the sender needs (the usage stream, the dedup marks); this is what
survives it. A batch's rows are written in one transaction after the intake's script answered; while
PostgreSQL does not answer the write waits (``wait_seconds``), then the request fails with 503. Its
accepted events are queued by then, so a resend answers ``duplicate`` for them, and the record of
that answer (with the event as sent) is written instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from revbridge_db.engine import DatabaseUnavailable, retrying
from revbridge_db.schema import usage_acceptance
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_process.errors import SystemUnavailable
from revbridge_process.exception_queue import clean_text


class RecordsUnavailable(SystemUnavailable):
    """PostgreSQL did not answer in time: the batch is answered 503."""


@dataclass(frozen=True)
class Acceptance:
    """One event's answer, as recorded."""

    sender: str
    batch_index: int
    outcome: str
    event_id: str | None = None
    reason: str | None = None
    field: str | None = None
    message: str | None = None
    meter: str | None = None
    quantity: Decimal | None = None
    occurred_at: dt.datetime | None = None
    billed_at: dt.datetime | None = None
    contract_id: str | None = None
    customer: str | None = None
    billing_account: str | None = None
    billing_customer_id: str | None = None
    identifier: str | None = None
    exception_id: str | None = None
    trace_id: str | None = None
    raw: Any = None


class AcceptanceLog(Protocol):
    async def append(self, rows: Sequence[Acceptance]) -> None: ...


class PgAcceptances:
    """Implements ``AcceptanceLog`` on ``revbridge.usage_acceptance``."""

    def __init__(self, engine: AsyncEngine, wait_seconds: float = 10.0) -> None:
        self._engine, self._wait = engine, wait_seconds

    async def append(self, rows: Sequence[Acceptance]) -> None:
        if not rows:
            return
        values = [_row(r) for r in rows]

        async def go() -> None:
            async with self._engine.begin() as conn:
                await conn.execute(insert(usage_acceptance), values)

        try:
            await retrying(go, wait_seconds=self._wait)
        except DatabaseUnavailable as exc:
            raise RecordsUnavailable(str(exc)) from exc


class NoAcceptances:
    """A log that keeps nothing (unit tests of the intake that do not look at the record)."""

    async def append(self, rows: Sequence[Acceptance]) -> None:
        return None


def _row(row: Acceptance) -> dict[str, Any]:
    """The row of ``row``: text PostgreSQL takes (no NUL, no lone surrogate), the raw event as JSON."""
    values = {k: clean_text(v) if isinstance(v, str) else v for k, v in row.__dict__.items()}
    if values["raw"] is not None:
        dumped = json.dumps(values["raw"], default=str, ensure_ascii=False)
        values["raw"] = json.loads(clean_text(dumped).replace("\\u0000", "\\ufffd"))
    return values
