"""Ratable revenue schedules: split by service days, sum exactly, post each due month once."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from revbridge_contracts.models import ErpCustomerUpsert, InvoiceLine, RecognitionRunRequest
from revbridge_process.flows.allocation import allocate
from revbridge_process.flows.invoice_posting import posting_plan
from revbridge_process.flows.revenue import (
    due,
    invoice_revenue,
    journal_plan,
    recognition_run,
    recognize_invoice,
    schedule,
)

from tests.unit.process.fakes import invoice, mappings
from tests.unit.process.fakes_money import FakeLedgerSystem, RecordingFacts

pytestmark = pytest.mark.anyio


@given(
    total=st.integers(min_value=-(10**9), max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=24).filter(any),
)
def test_allocation_never_loses_or_invents_a_minor_unit(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)
    assert all((p >= 0) if total >= 0 else (p <= 0) for p in parts)


def test_allocation_refuses_nothing_to_spread_over() -> None:
    for weights in ([], [0, 0], [1, -1]):
        with pytest.raises(ValueError):
            allocate(100, weights)


def _line(start: dt.date, end: dt.date, amount: int = 100000, line_id: str = "il_9") -> InvoiceLine:
    return InvoiceLine(
        id=line_id, product_code="SEAT", quantity=1, amount=amount, period_start=start, period_end=end
    )


def test_mid_month_service_period_splits_by_days_across_months() -> None:
    line = _line(dt.date(2026, 1, 15), dt.date(2026, 2, 14))  # 17 days in January, 14 in February
    plan = schedule(invoice(), line)
    assert [(e.period, e.amount) for e in plan.entries] == [("2026-01", 54839), ("2026-02", 45161)]
    assert sum(e.amount for e in plan.entries) == plan.total == 100000


def test_a_year_of_service_has_twelve_entries_that_sum_to_the_line() -> None:
    plan = schedule(invoice(), _line(dt.date(2026, 1, 1), dt.date(2026, 12, 31), amount=1_000_001))
    assert [e.period for e in plan.entries] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert sum(e.amount for e in plan.entries) == 1_000_001


def test_a_month_is_due_from_its_first_day() -> None:
    plan = schedule(invoice(), _line(dt.date(2026, 1, 15), dt.date(2026, 2, 14)))
    assert [due(e, dt.date(2026, 1, 31)) for e in plan.entries] == [True, False]
    assert [due(e, dt.date(2026, 2, 1)) for e in plan.entries] == [True, True]


def test_journal_moves_deferred_to_revenue_and_reverses_a_credit_line() -> None:
    inv = invoice()
    line = _line(dt.date(2026, 3, 10), dt.date(2026, 3, 31))
    entry = schedule(inv, line).entries[0]
    plan = journal_plan(inv, line, entry, "1", mappings())
    debit, credit = plan.lines
    assert (debit.account_id, debit.debit, credit.account_id, credit.credit) == ("3", 100000, "4", 100000)
    assert plan.tran_date == dt.date(2026, 3, 10) and plan.subsidiary_id == "1"
    credit_line = _line(dt.date(2026, 3, 10), dt.date(2026, 3, 31), amount=-2500)
    reverse = journal_plan(inv, credit_line, schedule(inv, credit_line).entries[0], "1", mappings())
    assert (reverse.lines[0].account_id, reverse.lines[0].debit) == ("4", 2500)
    assert (reverse.lines[1].account_id, reverse.lines[1].credit) == ("3", 2500)


async def test_recognition_posts_each_due_month_once_and_reads_it_back() -> None:
    system, facts = FakeLedgerSystem(), RecordingFacts()
    inv = invoice(lines=[_line(dt.date(2026, 3, 15), dt.date(2026, 4, 14), line_id="il_a")], total=100000)
    system.add(inv)
    first = await recognize_invoice(inv, "default", system, mappings(), facts, dt.date(2026, 3, 20))
    again = await recognize_invoice(inv, "default", system, mappings(), facts, dt.date(2026, 3, 20))
    assert (first.posted, again.posted) == (1, 1)  # the upsert is keyed: the second found the first
    assert list(system.erp_journals) == ["il_a:2026-03"]
    assert [f.key for f in facts.published] == ["il_a:2026-03", "il_a:2026-03"]
    assert facts.published[0].entity == "US" and facts.published[0].period == "2026-03"


async def test_recognition_run_posts_what_is_due_for_invoices_in_the_erp_only() -> None:
    system, facts = FakeLedgerSystem(), RecordingFacts()
    inv = invoice(lines=[_line(dt.date(2026, 3, 15), dt.date(2026, 4, 14), line_id="il_a")], total=100000)
    system.add(inv)
    run = RecognitionRunRequest(as_of=dt.date(2026, 4, 1))
    result = await recognition_run(system, mappings(), facts, run, dt.date(2026, 3, 20))
    assert (result.invoices, result.posted) == (0, 0)  # not posted to the ERP: nothing to recognise
    system.erp_customers["001A"] = ErpCustomerUpsert(
        name="Globex", subsidiary_id="1", currency="USD", crm_account_id="001A"
    )
    await system.upsert_erp_invoice("in_1", posting_plan(inv, "001A", mappings()).invoice)
    await recognize_invoice(inv, "default", system, mappings(), facts, dt.date(2026, 3, 20))
    result = await recognition_run(system, mappings(), facts, run, dt.date(2026, 3, 20))
    assert (result.invoices, result.posted, result.already_posted) == (1, 1, 1)
    assert sorted(system.erp_journals) == ["il_a:2026-03", "il_a:2026-04"]
    again = await recognition_run(system, mappings(), facts, run, dt.date(2026, 3, 20))
    assert (again.posted, again.already_posted) == (0, 2)

    view = await invoice_revenue(system, "default", "in_1")
    assert view.recognized == 100000 and view.deferred == 0
    assert [e.journal_entry_id for e in view.schedules[0].entries] == ["T-il_a:2026-03", "T-il_a:2026-04"]


async def test_void_and_draft_invoices_are_not_recognised() -> None:
    system, facts = FakeLedgerSystem(), RecordingFacts()
    for status in ("void", "draft"):
        inv = invoice(status=status, lines=[_line(dt.date(2026, 3, 1), dt.date(2026, 3, 31))])
        done = await recognize_invoice(inv, "default", system, mappings(), facts, dt.date(2026, 5, 1))
        assert done.posted == 0
    assert system.erp_journals == {} and facts.published == []
