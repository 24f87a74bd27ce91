"""The retention purge: the only deletion from revbridge's append-only record.

The ledger and the audit trail are kept ``DbSettings.retention_years`` (default 7: the usual
statutory period for accounting records); nothing durable expires by a TTL. ``purge`` deletes the
rows older than that, in batches, with ``revbridge.purge`` set in its transaction so the append-only
trigger lets it through; the read model keeps its figures (a rebuild afterwards folds only what is
left). Run it from a scheduler (``revbridge db purge``), e.g. monthly.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

PURGED = {"ledger_fact": "inserted_at", "audit_event": "at"}
"""Table → the column its age is measured by."""


def horizon(years: int, now: dt.datetime | None = None) -> dt.datetime:
    """The oldest instant still kept: ``years`` calendar years before ``now`` (29 Feb → 28 Feb)."""
    at = now or dt.datetime.now(dt.UTC)
    try:
        return at.replace(year=at.year - years)
    except ValueError:
        return at.replace(year=at.year - years, day=28)


async def purge(engine: AsyncEngine, years: int, batch: int = 10_000) -> dict[str, int]:
    """Delete what is older than ``years``; table → rows deleted."""
    before = horizon(years)
    deleted: dict[str, int] = {}
    for table, column in PURGED.items():
        deleted[table] = 0
        while True:
            async with engine.begin() as conn:
                await conn.execute(text("SET LOCAL revbridge.purge = 'on'"))
                result = await conn.execute(
                    text(
                        f"DELETE FROM revbridge.{table} WHERE id IN ("
                        f" SELECT id FROM revbridge.{table} WHERE {column} < :before LIMIT :batch)"
                    ),
                    {"before": before, "batch": batch},
                )
            deleted[table] += result.rowcount
            if result.rowcount < batch:
                break
    return deleted
