"""Payment failures become dunning status (and an owned exception past the threshold); void and
uncollectible invoices are written off in the ERP once, whatever order the events arrive in."""

from __future__ import annotations

import datetime as dt

import pytest
from revbridge_contracts.facts import FactKind
from revbridge_contracts.models import ErpCustomerUpsert
from revbridge_contracts.process import ErrorClass
from revbridge_process.config import DunningPolicy
from revbridge_process.errors import FlowFailure
from revbridge_process.flows import dunning, writeoff
from revbridge_process.flows.billing_context import invoice_context

from tests.unit.process.fakes import NOW, FakeExceptions, account, contract, invoice, mappings
from tests.unit.process.fakes_money import FakeLedgerSystem, RecordingFacts, open_invoice

pytestmark = pytest.mark.anyio
POLICY = DunningPolicy(exception_after_attempts=3)


def _world(*invoices: object) -> FakeLedgerSystem:
    system = FakeLedgerSystem()
    system.add(contract(), account(), *invoices)  # type: ignore[arg-type]
    system.erp_customers["001A"] = ErpCustomerUpsert(
        name="Globex", subsidiary_id="1", currency="USD", crm_account_id="001A"
    )
    return system


def _failed(attempts: int, **overrides: object) -> object:
    retry = NOW + dt.timedelta(days=3)
    return open_invoice(attempt_count=attempts, next_payment_attempt=retry, **overrides)


async def test_failed_payment_writes_past_due_with_attempts_and_next_retry() -> None:
    system, facts = _world(_failed(1)), RecordingFacts()
    status = await dunning.on_payment_failed(
        "in_1", "default", system, mappings(), POLICY, facts, lambda: NOW
    )
    assert (status.billing_status, status.attempt_count, status.amount_due) == ("past_due", 1, 300000)
    assert status.next_attempt_at == NOW + dt.timedelta(days=3)
    assert system.dunning == [("800000000000001", status)]
    assert [(f.kind, f.key, f.amount, f.entity) for f in facts.published] == [
        (FactKind.payment_failed, "in_1", 300000, "US")
    ]


async def test_third_failure_pages_collections_after_writing_the_status() -> None:
    system = _world(_failed(3))
    with pytest.raises(FlowFailure) as caught:
        await dunning.on_payment_failed("in_1", "default", system, mappings(), POLICY, RecordingFacts())
    assert caught.value.error_class == ErrorClass.payment_overdue and "3 failed" in caught.value.reason
    assert [s.billing_status for _, s in system.dunning] == ["past_due"]


async def test_late_failure_notice_for_a_paid_invoice_converges_to_current() -> None:
    system = _world(invoice(attempt_count=2))  # paid since the failure was announced
    status = await dunning.on_payment_failed("in_1", "default", system, mappings(), POLICY, RecordingFacts())
    assert status.billing_status == "active" and status.amount_due == 0


async def test_settling_clears_only_the_contracts_own_past_due_invoice() -> None:
    system, exceptions = _world(_failed(1)), FakeExceptions()
    await dunning.on_payment_failed("in_1", "default", system, mappings(), POLICY, RecordingFacts())
    await exceptions.record_exception(dunning.FLOW, "in_1", ErrorClass.payment_overdue, "3 attempts")
    system.invoices["default"]["in_1"] = invoice(attempt_count=1)  # paid now
    ctx = await invoice_context(system, mappings(), "default", "in_1")
    assert await dunning.settle(ctx, system, exceptions) is True
    assert system.dunning[-1][1].billing_status == "active"
    assert exceptions.records[(dunning.FLOW, "in_1")].status == "resolved"
    other = invoice("in_2", attempt_count=0)
    system.add(other)
    ctx = await invoice_context(system, mappings(), "default", "in_2")
    assert await dunning.settle(ctx, system, exceptions) is False  # not the one in dunning: no write


def test_writeoff_takes_what_was_left_to_collect_spread_over_the_lines() -> None:
    inv = open_invoice(status="void", amount_due=240000, amount_paid=0, voided_at=NOW)
    plan = writeoff.writeoff_plan(inv, "001A", mappings())
    assert plan is not None
    assert [(li.item_id, li.amount) for li in plan.lines] == [("101", 160000), ("102", 80000)]
    assert [(a.invoice_external_id, a.amount) for a in plan.apply] == [("in_1", 240000)]
    assert plan.tran_date == NOW.date() and "voided" in (plan.memo or "")
    assert writeoff.writeoff_plan(invoice(status="void"), "001A", mappings()) is None  # nothing was owed


async def test_void_is_written_off_once_and_a_never_posted_invoice_is_posted_first() -> None:
    system, facts = (
        _world(open_invoice(status="uncollectible", marked_uncollectible_at=NOW)),
        RecordingFacts(),
    )
    await writeoff.write_off("in_1", "default", system, mappings(), facts)
    assert [w[:2] for w in system.writes] == [
        ("upsert_erp_invoice", "in_1"),
        ("upsert_erp_credit_memo", "in_1:writeoff"),
    ]
    system.invoices["default"]["in_1"] = open_invoice(status="void", voided_at=NOW, amount_remaining=0)
    await writeoff.write_off("in_1", "default", system, mappings(), facts)  # uncollectible → void
    await writeoff.write_off("in_1", "default", system, mappings(), facts)  # duplicate
    memos = [w for w in system.writes if w[0] == "upsert_erp_credit_memo"]
    assert len(memos) == 1 and sum(li.amount for li in memos[0][2].lines) == 300000
    kinds = [f.kind for f in facts.published]
    assert kinds.count(FactKind.invoice_voided) == 3 and kinds.count(FactKind.invoice_void_posted) == 3


async def test_uncollectible_invoice_paid_after_all_loses_its_writeoff() -> None:
    system = _world(open_invoice(status="uncollectible", marked_uncollectible_at=NOW))
    await writeoff.write_off("in_1", "default", system, mappings(), RecordingFacts())
    system.invoices["default"]["in_1"] = invoice()
    await writeoff.write_off("in_1", "default", system, mappings(), RecordingFacts())
    assert system.deleted == ["in_1:writeoff"] and system.erp_credit_memos == {}
    assert await writeoff.release("in_1", system) is False  # already gone


async def test_open_invoice_is_not_written_off() -> None:
    system = _world(open_invoice())
    await writeoff.write_off("in_1", "default", system, mappings(), RecordingFacts())
    assert system.writes == []
