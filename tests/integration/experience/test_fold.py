"""Folding ledger facts into the read model (real Redis, the real Lua script): each figure counts a
record once, whatever the order, repeats or replacements of its facts."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from revbridge_contracts.facts import FactKind
from revbridge_experience.readmodel import codec
from revbridge_experience.readmodel.fold import Folder
from revbridge_experience.readmodel.queries import CellFilter, ReadModel

from tests.integration.experience.conftest import T0, make

pytestmark = pytest.mark.anyio
CELL = "2026-10|US|USD"


async def sums(model: ReadModel) -> dict[str, int]:
    cells = await model.cells(CellFilter())
    return {k: v for c in cells for k, v in c.sums.items() if v}


async def test_a_redelivered_fact_is_a_duplicate_and_counts_once(folder: Folder, model: ReadModel) -> None:
    billed = make(FactKind.invoice_billed, "in_1", 12_000)
    first = await folder.fold_facts([billed])
    again = await folder.fold_facts([billed, billed])
    assert first.outcomes == {"applied": 1} and again.outcomes == {"duplicate": 2}
    assert await sums(model) == {"billings": 12_000, "n:billings": 1}


async def test_a_newer_version_replaces_the_old_by_the_difference(folder: Folder, model: ReadModel) -> None:
    await folder.fold_facts([make(FactKind.invoice_billed, "in_1", 12_000)])
    await folder.fold_facts([make(FactKind.invoice_billed, "in_2", 500)])
    newer = make(FactKind.invoice_billed, "in_1", 9_000, recorded_at=T0 + dt.timedelta(minutes=1))
    result = await folder.fold_facts([newer])
    assert result.outcomes == {"replaced": 1}
    assert (await sums(model))["billings"] == 9_500
    page = await model.page([f"dd:billings:{CELL}"], 10, None)
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
    assert (await model.page([f"dd:billings:{CELL}"], 10, None)).total == 0


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
    page = await model.page([f"um:invoice_posting:{CELL}"], 10, None)
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
    assert await model.percentiles([f"lat:{month}"]) == (1, 30.0, 30.0)
    assert await model.percentiles(["cycle"]) == (1, 2 * 86_400.0, 2 * 86_400.0)


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
    assert await model.percentiles([f"lat:{m}" for m in months]) == (1, 3.0, 3.0)


async def test_a_read_model_stored_before_the_compact_form_folds_on_and_reads_the_same(
    folder: Folder, model: ReadModel, redis
) -> None:
    """Documents written with their long names (before ``codec``) are still replaced, paired and read."""
    billed = make(FactKind.invoice_billed, "in_1", 700, trace_id="t1")
    other = make(FactKind.invoice_billed, "in_2", 300, invoice_id="in_2")
    await folder.fold_facts([billed, other])
    compact_answer = await model.fact("invoice.billed", "in_1")
    for item in (billed, other):  # as the previous layout stored them: the entry, amount, _o/_r/_rm
        long_form = {
            **item.to_fields(),
            "amount": item.amount,
            "_o": codec.ms(item.occurred_at),
            "_r": codec.ms(item.recorded_at),
            "_rm": item.recorded_at.strftime("%Y-%m"),
        }
        await redis.hset(folder.facts_key, f"invoice.billed|{item.key}", json.dumps(long_form))
    assert {k: v for k, v in (await model.fact("invoice.billed", "in_1") or {}).items() if k != "_rm"} == {
        k: v for k, v in (compact_answer or {}).items() if k != "_rm"
    }

    moved = make(
        FactKind.invoice_billed, "in_1", 700, period="2026-11", occurred_at=T0 + dt.timedelta(days=30)
    )
    posted = make(FactKind.invoice_posted, "in_2", 300, invoice_id="in_2", record_id="78")
    result = await folder.fold_facts([moved, posted])
    assert result.outcomes == {"replaced": 1, "applied": 1}
    october = await model.cells(CellFilter(period="2026-10"))
    november = await model.cells(CellFilter(period="2026-11"))
    assert october[0].sums["billings"] == 300 and november[0].sums["billings"] == 700
    assert october[0].unmatched["invoice_posting"] == 0  # paired with the long-form billed in_2
    assert await model.percentiles(["lat:" + posted.recorded_at.strftime("%Y-%m")]) == (1, 5.0, 5.0)
    assert await model.index("invoice", "in_1") == ["invoice.billed|in_1"]
