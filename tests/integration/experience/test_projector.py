"""The projector on a real ledger: a row that can't be folded is recorded with its reason and never
blocks the ones after it; a fold interrupted or run by two projectors folds each row exactly once;
a row committed late, by a transaction that began before others, is still folded."""

from __future__ import annotations

import asyncio

import pytest
from revbridge_contracts.facts import FactKind
from revbridge_db import ledger
from revbridge_experience.projector import Projector
from revbridge_experience.readmodel.fold import Folder
from revbridge_experience.readmodel.queries import CellFilter, ReadModel
from revbridge_experience.settings import Settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.experience.conftest import make

pytestmark = pytest.mark.anyio


async def test_a_bad_row_is_recorded_and_the_next_one_is_applied(
    engine: AsyncEngine, folder: Folder, model: ReadModel
) -> None:
    await folder.write_roles()
    bad = ledger.fact_row(make(FactKind.invoice_billed, "in_bad", 5)) | {"kind": "no.such.kind"}
    await ledger.append(engine, [bad, ledger.fact_row(make(FactKind.invoice_billed, "in_1", 12_000))])
    result = await Projector(folder, Settings(batch_size=10)).step()
    assert result.bad == 1 and result.outcomes == {"applied": 1}
    assert (await model.cells(CellFilter()))[0].sums["billings"] == 12_000
    [recorded] = await model.bad_facts()
    assert "no.such.kind" in recorded["reason"] and recorded["fields"]["key"] == "in_bad"
    assert (await model.stats())["bad"] == "1"
    assert await model.projector_lag() == (0, 0)


async def test_two_projectors_fold_each_row_once(engine: AsyncEngine, model: ReadModel) -> None:
    facts = [make(FactKind.invoice_billed, f"in_{i}", 100) for i in range(300)]
    await ledger.append(engine, [ledger.fact_row(f) for f in facts])
    one, two = Folder(engine), Folder(engine)
    results = await asyncio.gather(*(f.fold_pending(25) for f in (one, two) for _ in range(8)))
    results += [await one.fold_all()]
    assert sum(r.outcomes.get("applied", 0) for r in results) == 300
    assert set().union(*(r.outcomes for r in results)) == {"applied"}
    assert (await model.cells(CellFilter()))[0].sums["billings"] == 30_000


async def test_a_row_committed_late_is_folded_not_skipped(
    engine: AsyncEngine, folder: Folder, model: ReadModel
) -> None:
    """A transaction takes its id, then a later one commits first and is folded; the early one's row,
    committed after that fold, has a lower id than the watermark — and is folded all the same."""
    async with engine.connect() as slow:
        await slow.execute(text("BEGIN"))
        await slow.execute(ledger.INSERT, [ledger.fact_row(make(FactKind.invoice_billed, "in_slow", 1))])
        await ledger.append(engine, [ledger.fact_row(make(FactKind.invoice_billed, "in_fast", 10))])
        assert (await folder.fold_all()).outcomes == {}  # held back: an older transaction is open
        await slow.commit()
    assert (await folder.fold_all()).outcomes == {"applied": 2}
    assert (await model.cells(CellFilter()))[0].sums["billings"] == 11
