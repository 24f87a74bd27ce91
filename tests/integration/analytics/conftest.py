"""A migrated database of the test's own (``database_url``), facts appended to its ledger and folded
into its read model, and the SQL examples of docs/analytics.md."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_db import ledger, readmodel
from revbridge_db.engine import create_engine
from revbridge_experience.readmodel.fold import Folder
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "analytics.md"
T0 = dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)


def doc_sql(name: str) -> str:
    """The SQL block of docs/analytics.md marked ``<!-- sql:NAME -->``."""
    found = re.search(rf"<!-- sql:{re.escape(name)} -->\s*```sql\n(.*?)```", DOC.read_text(), re.S)
    assert found, f"docs/analytics.md has no SQL block {name}"
    return found.group(1)


def make(kind: FactKind, key: str, amount: int | None = None, **values: Any) -> Fact:
    """A fact of contract C1's USD invoice in 2026-10 (US), ``values`` overriding."""
    defaults: dict[str, Any] = {
        "contract_id": "800000000000001AAA",
        "customer_id": "001000000000001AAA",
        "invoice_id": "in_1",
        "entity": "US",
        "currency": "USD",
        "period": "2026-10",
        "occurred_at": T0,
        "recorded_at": T0 + dt.timedelta(seconds=5),
    }
    record_id = values.pop("record_id", key)
    return fact(kind, key, record_id, amount=amount, **(defaults | values))


UNFOLDED = text(readmodel.UNFOLDED_SQL)


async def fold_everything(engine: AsyncEngine, wait_seconds: float = 30.0) -> None:
    """Fold the whole ledger: the fold leaves rows newer than a transaction still open anywhere on
    the server (another test's, another run's) for later, so fold again until none is left."""
    folder = Folder(engine)
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        await folder.fold_all()
        async with engine.connect() as conn:
            if not (await conn.execute(UNFOLDED)).scalar_one():
                return
        assert asyncio.get_running_loop().time() < deadline, "ledger rows left unfolded"
        await asyncio.sleep(0.1)


def load(url: str, facts: Sequence[Fact], rows: Sequence[dict[str, Any]] = (), fold: bool = True) -> None:
    """Append ``facts`` (then raw ledger ``rows``) to the ledger; fold when ``fold``."""

    async def go() -> None:
        engine = create_engine(url=url)
        try:
            await ledger.append(engine, [ledger.fact_row(f) for f in facts])
            await ledger.append(engine, list(rows))
            if fold:
                await fold_everything(engine)
        finally:
            await engine.dispose()

    asyncio.run(go())
