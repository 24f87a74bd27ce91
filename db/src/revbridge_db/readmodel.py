"""Folding the ledger into the read model, and rebuilding it (``revbridge rebuild``).

The fold itself is SQL (``revbridge.rm_fold_pending``, migration 0001); what each fact kind
contributes (``rm_role``) is written by the experience projector from its ``keys.ROLES``.
"""

from __future__ import annotations

from sqlalchemy import delete, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from revbridge_db.engine import is_unavailable
from revbridge_db.schema import READ_MODEL

FOLD = text("SELECT outcome, n FROM revbridge.rm_fold_pending(:batch, :guarded)")
UNFOLDED_SQL = (
    "SELECT count(*) FROM revbridge.ledger_fact l WHERE (l.txid, l.id) > ("
    " coalesce((SELECT text_value::xid8 FROM revbridge.rm_state WHERE name = 'watermark'), '0'::xid8),"
    " coalesce((SELECT value FROM revbridge.rm_state WHERE name = 'watermark'), 0))"
)
"""Ledger rows past the fold's watermark (not folded yet): the read model's lag."""
FOLD_LOCK = 7_311_002


async def fold_pending(engine: AsyncEngine, batch: int = 500) -> dict[str, int]:
    """Fold up to ``batch`` ledger rows past the watermark (one transaction): outcome → count.

    First on the fast path; when a row of the batch fails to fold, the batch rolls back and is
    folded again guarded, so the failing row is recorded as bad and the others fold."""
    try:
        return await _fold(engine, batch, guarded=False)
    except DBAPIError as exc:
        if is_unavailable(exc):
            raise
        return await _fold(engine, batch, guarded=True)


async def _fold(engine: AsyncEngine, batch: int, *, guarded: bool) -> dict[str, int]:
    async with engine.begin() as conn:
        rows = (await conn.execute(FOLD, {"batch": batch, "guarded": guarded})).all()
    return {outcome: int(n) for outcome, n in rows}


async def fold_all(engine: AsyncEngine, batch: int = 2000) -> dict[str, int]:
    """Fold until nothing is pending."""
    total: dict[str, int] = {}
    while step := await fold_pending(engine, batch):
        for k, v in step.items():
            total[k] = total.get(k, 0) + v
    return total


async def clear(engine: AsyncEngine) -> None:
    """Empty the read model (not the ledger, not ``rm_role``) and reset the watermark."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FOLD_LOCK})
        for table in READ_MODEL:
            await conn.execute(delete(table))


async def rebuild(engine: AsyncEngine, batch: int = 2000) -> dict[str, int]:
    """Empty the read model and fold the whole ledger again."""
    await clear(engine)
    return await fold_all(engine, batch)
