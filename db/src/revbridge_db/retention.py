"""The retention purge: the only deletion from revbridge's durable record.

Everything revbridge keeps of itself is kept ``DbSettings.retention_years`` (default 7: the usual
statutory period for accounting records); nothing durable expires by a TTL. ``purge`` deletes, in
batches, what is older than that, with ``revbridge.purge`` set in its transaction so the
append-only triggers let it through. Each rule names the instant a row's age is measured from:

- the ledger (``inserted_at``), the audit trail (``at``), usage acceptances (``received_at``);
- exception records once **resolved** for longer (``resolved_at``), with their action history in
  the same transaction; an open or retrying record is live work and is never purged, however old;
- reconciliation runs by ``started_at``, with their differences;
- onboarding statuses not updated for longer (``updated_at``).

The read model keeps its figures (a rebuild afterwards folds only what is left). Run it from a
scheduler (``revbridge db purge``), e.g. monthly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class Rule:
    table: str
    key: str
    old: str
    """The condition on ``table`` of a row past retention (``:before`` is the horizon)."""
    children: tuple[tuple[str, str], ...] = ()
    """(table, column holding ``key``): rows deleted with their parent, first."""


RULES = (
    Rule("ledger_fact", "id", "inserted_at < :before"),
    Rule("audit_event", "id", "at < :before"),
    Rule("usage_acceptance", "id", "received_at < :before"),
    Rule(
        "exception_record",
        "id",
        "status = 'resolved' AND resolved_at < :before",
        children=(("exception_action", "exception_id"),),
    ),
    Rule(
        "reconciliation_run",
        "id",
        "started_at < :before",
        children=(("reconciliation_difference", "run_id"),),
    ),
    Rule("onboarding_status", "contract_id", "updated_at < :before"),
)


def horizon(years: int, now: dt.datetime | None = None) -> dt.datetime:
    """The oldest instant still kept: ``years`` calendar years before ``now`` (29 Feb → 28 Feb)."""
    at = now or dt.datetime.now(dt.UTC)
    try:
        return at.replace(year=at.year - years)
    except ValueError:
        return at.replace(year=at.year - years, day=28)


async def purge(engine: AsyncEngine, years: int, batch: int = 10_000) -> dict[str, int]:
    """Delete what is older than ``years``; table → rows deleted (children included)."""
    before = horizon(years)
    deleted: dict[str, int] = {}
    for rule in RULES:
        deleted[rule.table] = 0
        for child, _ in rule.children:
            deleted[child] = 0
        while True:
            async with engine.begin() as conn:
                await conn.execute(text("SET LOCAL revbridge.purge = 'on'"))
                keys = (
                    (
                        await conn.execute(
                            text(
                                f"SELECT {rule.key} FROM revbridge.{rule.table} WHERE {rule.old}"
                                f" LIMIT :batch FOR UPDATE"
                            ),
                            {"before": before, "batch": batch},
                        )
                    )
                    .scalars()
                    .all()
                )
                if keys:
                    for child, column in rule.children:
                        gone = await conn.execute(
                            text(f"DELETE FROM revbridge.{child} WHERE {column} = ANY(:keys)"),
                            {"keys": keys},
                        )
                        deleted[child] += gone.rowcount
                    gone = await conn.execute(
                        text(f"DELETE FROM revbridge.{rule.table} WHERE {rule.key} = ANY(:keys)"),
                        {"keys": keys},
                    )
                    deleted[rule.table] += gone.rowcount
            if len(keys) < batch:
                break
    return deleted
