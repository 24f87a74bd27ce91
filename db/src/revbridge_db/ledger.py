"""Appending facts to the ledger (``revbridge.ledger_fact``): one row per version of a fact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revbridge_contracts.facts import Fact
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_db.schema import ledger_fact

STAMPS = ("trace_id", "correlation_id", "flow", "source_event_id", "attempt")


def fact_row(item: Fact, **stamps: Any) -> dict[str, Any]:
    """The ledger row of ``item``; ``stamps`` fill what the fact leaves empty (trace, flow, event)."""
    row = item.model_dump(exclude={"kind"})
    row["kind"] = item.kind.value
    for name in STAMPS:
        row[name] = row.get(name) or stamps.get(name)
    return row


INSERT = insert(ledger_fact).on_conflict_do_nothing(constraint="ledger_fact_version")


async def append(engine: AsyncEngine, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` in one transaction; a version already there is skipped."""
    if rows:
        async with engine.begin() as conn:
            await conn.execute(INSERT, list(rows))
