"""Folding the ledger into the read model (real PostgreSQL, the real PL/pgSQL fold): each figure counts
a record once, whatever the order, repeats or replacements of its facts."""

from __future__ import annotations

import datetime as dt

import pytest
from revbridge_contracts.facts import FactKind
from revbridge_experience.readmodel.fold import Folder
from revbridge_experience.readmodel.queries import CellFilter, ReadModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.experience.conftest import T0, make

pytestmark = pytest.mark.anyio
ALL = CellFilter()
CONTRACT = "800000000000001AAA"


async def sums(model: ReadModel) -> dict[str, int]:
    cells = await model.cells(CellFilter())
    return {k: v for c in cells for k, v in c.sums.items() if v}


async def test_a_fact_written_again_counts_once(folder: Folder, model: ReadModel) -> None:
    """The same version again (a retried write) adds no ledger row; one in the same millisecond but
    another row (a re-run flow racing itself) is folded as a duplicate."""
    billed = make(FactKind.invoice_billed, "in_1", 12_000)
    first = await folder.fold_facts([billed])
    again = await folder.fold_facts([billed, billed])
    same_ms = billed.model_copy(update={"recorded_at": billed.recorded_at + dt.timedelta(microseconds=1)})
    racing = await folder.fold_facts([same_ms])
    assert first.outcomes == {"applied": 1} and again.outcomes == {} and racing.outcomes == {"duplicate": 1}
    assert await sums(model) == {"billings": 12_000, "n:billings": 1}


async def test_a_newer_version_replaces_the_old_by_the_difference(folder: Folder, model: ReadModel) -> None:
    await folder.fold_facts([make(FactKind.invoice_billed, "in_1", 12_000)])
    await folder.fold_facts([make(FactKind.invoice_billed, "in_2", 500)])
    newer = make(FactKind.invoice_billed, "in_1", 9_000, recorded_at=T0 + dt.timedelta(minutes=1))
    result = await folder.fold_facts([newer])
    assert result.outcomes == {"replaced": 1}
    assert (await sums(model))["billings"] == 9_500
    page = await model.page_measure("billings", await model.cells(ALL), ALL, 10, None)
    assert sorted(d["amount"] for d in page.items) == [500, 9_000]
    assert page.total == 2


async def test_an_older_version_arriving_late_is_stale_and_changes_nothing(
    folder: Folder, model: ReadModel
) -> None:
    newer = make(FactKind.invoice_billed, "in_1", 9_000, recorded_at=T0 + dt.timedelta(minutes=1))
    older = make(FactKind.invoice_billed, "in_1", 12_000)
    result = await folder.fold_facts([newer, older])
    assert result.outcomes == {"applied": 1, "stale": 1}
    assert (await sums(model))["billings"] == 9_000


async def test_a_replacement_that_moves_period_moves_the_amount_between_cells(
    folder: Folder, model: ReadModel
) -> None:
    await folder.fold_facts([make(FactKind.invoice_billed, "in_1", 700)])
    moved = make(
        FactKind.invoice_billed, "in_1", 700, period="2026-11", occurred_at=T0 + dt.timedelta(days=30)
    )
    await folder.fold_facts([moved])
    october = await model.cells(CellFilter(period="2026-10"))
    november = await model.cells(CellFilter(period="2026-11"))
    assert october[0].sums.get("billings") == 0 and november[0].sums["billings"] == 700
    where = CellFilter(period="2026-10")
    assert (await model.page_measure("billings", await model.cells(where), where, 10, None)).total == 0


async def test_posting_before_billing_still_pairs_them(folder: Folder, model: ReadModel) -> None:
    """Out of order: the ERP posting's fact arrives before the billing one."""
    posted = make(FactKind.invoice_posted, "in_1", 12_000, record_id="77")
    await folder.fold_facts([posted])
    cells = await model.cells(CellFilter())
    assert cells[0].unmatched["invoice_posting"] == 1  # an ERP invoice without its billing invoice
    await folder.fold_facts([make(FactKind.invoice_billed, "in_1", 12_000)])
    cells = await model.cells(CellFilter())
    assert cells[0].unmatched["invoice_posting"] == 0
    assert cells[0].sums["billings"] == cells[0].sums["posted_invoices"] == 12_000
    assert await model.sync_counts() == {"US|invoice_posting|src": 1, "US|invoice_posting|ok": 1}


async def test_a_billed_invoice_without_posting_is_unmatched_until_posted(
    folder: Folder, model: ReadModel
) -> None:
    await folder.fold_facts([make(FactKind.invoice_billed, "in_1", 12_000)])
    assert (await model.cells(CellFilter()))[0].unmatched["invoice_posting"] == 1
    page = await model.page_unmatched("invoice_posting", await model.cells(ALL), ALL, 10, None)
    assert [d["key"] for d in page.items] == ["in_1"]
    await folder.fold_facts([make(FactKind.invoice_posted, "in_1", 12_000, record_id="77")])
    assert (await model.cells(CellFilter()))[0].unmatched["invoice_posting"] == 0


async def test_lineage_indexes_follow_replacements(folder: Folder, model: ReadModel) -> None:
    await folder.fold_facts([make(FactKind.payment_collected, "py_1", 100, invoice_id="in_1")])
    await folder.fold_facts(
        [
            make(
                FactKind.payment_collected,
                "py_1",
                100,
                invoice_id="in_2",
                recorded_at=T0 + dt.timedelta(hours=1),
            )
        ]
    )
    assert await model.index("invoice", "in_1") == []
    assert await model.index("invoice", "in_2") == ["payment.collected|py_1"]


async def test_invoice_latency_and_cycle_time_are_measured_once_both_sides_are_known(
    folder: Folder, model: ReadModel
) -> None:
    booked = make(
        FactKind.contract_booked, "800000000000001AAA", 50_000, occurred_at=T0 - dt.timedelta(days=2)
    )
    billed = make(FactKind.invoice_billed, "in_1", 12_000)
    posted = make(
        FactKind.invoice_posted, "in_1", 12_000, record_id="77", recorded_at=T0 + dt.timedelta(seconds=30)
    )
    await folder.fold_facts([posted, billed, booked])
    month = (T0 + dt.timedelta(seconds=30)).strftime("%Y-%m")
    assert await model.latency([month]) == (1, 30.0, 30.0)
    assert await model.cycle() == (1, 2 * 86_400.0, 2 * 86_400.0)


async def test_cycle_time_runs_to_the_first_bill_whichever_bill_is_folded_first(
    folder: Folder, model: ReadModel
) -> None:
    """Booked, then the second month's bill folded before the first month's: the cycle is booking to
    the earliest bill, and each later bill leaves it as it is."""
    booked = make(FactKind.contract_booked, CONTRACT, 50_000, occurred_at=T0 - dt.timedelta(days=2))
    second = make(FactKind.invoice_billed, "in_2", 12_000, occurred_at=T0 + dt.timedelta(days=30))
    first = make(FactKind.invoice_billed, "in_1", 12_000)
    third = make(FactKind.invoice_billed, "in_3", 12_000, occurred_at=T0 + dt.timedelta(days=60))
    await folder.fold_facts([booked])
    await folder.fold_facts([second])
    assert await model.cycle() == (1, 32 * 86_400.0, 32 * 86_400.0)
    await folder.fold_facts([first])
    await folder.fold_facts([third])
    assert await model.cycle() == (1, 2 * 86_400.0, 2 * 86_400.0)


async def test_a_rerun_posting_does_not_stretch_the_invoice_latency(folder: Folder, model: ReadModel) -> None:
    """The paid event converges the posting again days later: the latency stays the first posting's."""
    await folder.fold_facts([make(FactKind.invoice_billed, "in_1", 12_000)])
    first = T0 + dt.timedelta(seconds=3)
    await folder.fold_facts(
        [make(FactKind.invoice_posted, "in_1", 12_000, record_id="77", recorded_at=first)]
    )
    again = T0 + dt.timedelta(days=2)
    rerun = make(
        FactKind.invoice_posted, "in_1", 12_000, record_id="77", occurred_at=again, recorded_at=again
    )
    assert (await folder.fold_facts([rerun])).outcomes == {"replaced": 1}
    months = await model.latency_months()
    assert await model.latency(months) == (1, 3.0, 3.0)


async def test_a_rebuild_from_the_ledger_gives_the_same_figures(folder: Folder, model: ReadModel) -> None:
    await folder.fold_facts(
        [
            make(FactKind.invoice_billed, "in_1", 700),
            make(FactKind.invoice_billed, "in_1", 900, recorded_at=T0 + dt.timedelta(minutes=1)),
            make(FactKind.invoice_posted, "in_1", 900, record_id="77"),
            make(FactKind.invoice_billed, "in_2", 300, invoice_id="in_2"),
        ]
    )
    before = (
        await model.cells(ALL),
        await model.sync_counts(),
        await model.index("contract", "800000000000001AAA"),
    )
    result = await folder.rebuild()
    assert result.outcomes == {"applied": 3, "replaced": 1}
    assert (
        await model.cells(ALL),
        await model.sync_counts(),
        await model.index("contract", "800000000000001AAA"),
    ) == before


async def test_the_ledger_is_append_only(folder: Folder, engine: AsyncEngine) -> None:
    await folder.fold_facts([make(FactKind.invoice_billed, "in_1", 700)])
    for statement in (
        "UPDATE revbridge.ledger_fact SET amount = 1",
        "DELETE FROM revbridge.ledger_fact",
        "TRUNCATE revbridge.ledger_fact",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT amount FROM revbridge.ledger_fact"))).scalar_one() == 700


async def test_a_drill_down_over_a_year_pages_newest_first_across_its_months(
    folder: Folder, model: ReadModel
) -> None:
    """A year's page merges its months newest first, its cursor carries on across them, and records
    of another year or entity stay out."""
    months = [("2026-09", 0), ("2026-10", 30), ("2026-11", 60)]
    facts = [
        make(
            FactKind.invoice_billed,
            f"in_{m}_{i}",
            100,
            period=m,
            occurred_at=T0 + dt.timedelta(days=d, hours=i),
        )
        for m, d in months
        for i in range(3)
    ]
    facts.append(
        make(FactKind.invoice_billed, "in_old", 100, period="2025-12", occurred_at=T0 + dt.timedelta(days=90))
    )
    facts.append(make(FactKind.invoice_billed, "in_gb", 100, period="2026-10", entity="GB"))
    await folder.fold_facts(facts)
    where = CellFilter(period="2026", entity="US")
    cells = await model.cells(where)
    seen: list[str] = []
    cursor: tuple[int, str] | None = None
    while True:
        page = await model.page_measure("billings", cells, where, 4, cursor)
        seen += [d["key"] for d in page.items]
        if page.next_cursor is None:
            break
        o, _, fid = page.next_cursor.partition(":")
        cursor = (int(o), fid)
    assert seen == [f"in_{m}_{i}" for m, _ in reversed(months) for i in (2, 1, 0)]
