"""Credit notes become credit memos and refunds customer refunds, the same whatever the order."""

from __future__ import annotations

import pytest
from revbridge_contracts.facts import FactKind
from revbridge_contracts.models import CreditNoteLine, ErpCustomerUpsert
from revbridge_contracts.process import ErrorClass
from revbridge_process.errors import FlowFailure
from revbridge_process.flows import credits, refunds
from revbridge_process.flows.billing_context import invoice_context

from tests.unit.process.fakes import account, contract, invoice, mappings
from tests.unit.process.fakes_money import FakeLedgerSystem, RecordingFacts, credit_note, open_invoice, refund

pytestmark = pytest.mark.anyio


def _world(*records: object) -> FakeLedgerSystem:
    system = FakeLedgerSystem()
    system.add(contract(), account(), *records)  # type: ignore[arg-type]
    system.erp_customers["001A"] = ErpCustomerUpsert(
        name="Globex", subsidiary_id="1", currency="USD", crm_account_id="001A"
    )
    return system


async def test_pre_payment_note_credits_its_lines_and_is_applied_to_the_invoice() -> None:
    system = _world(open_invoice(amount_due=250000, amount_remaining=250000))
    line = CreditNoteLine(id="cnli_1", invoice_line_id="il_2", amount=50000, description="10 seats back")
    ctx = await invoice_context(system, mappings(), "default", "in_1")
    plan = credits.credit_memo_plan(credit_note(pre=50000, lines=[line]), ctx, mappings())
    assert [(li.item_id, li.amount, li.description) for li in plan.lines] == [("102", 50000, "10 seats back")]
    assert [(a.invoice_external_id, a.amount) for a in plan.apply] == [("in_1", 50000)]


async def test_amount_only_post_payment_note_is_spread_and_left_unapplied() -> None:
    system = _world(invoice())
    ctx = await invoice_context(system, mappings(), "default", "in_1")
    plan = credits.credit_memo_plan(credit_note(total=30000, post=30000), ctx, mappings())
    assert [(li.item_id, li.amount) for li in plan.lines] == [("101", 20000), ("102", 10000)]
    assert plan.apply == []


async def test_note_whose_lines_exceed_its_total_is_refused() -> None:
    system = _world(invoice())
    ctx = await invoice_context(system, mappings(), "default", "in_1")
    lines = [CreditNoteLine(id="x", invoice_line_id="il_1", amount=90000)]
    with pytest.raises(FlowFailure) as caught:
        credits.credit_memo_plan(credit_note(total=50000, post=50000, lines=lines), ctx, mappings())
    assert caught.value.error_class == ErrorClass.validation


async def test_credit_note_before_its_invoice_posts_the_invoice_first_then_once() -> None:
    system, facts = _world(open_invoice(amount_due=250000)), RecordingFacts()
    system.credit_notes["cn_1"] = credit_note(pre=50000)
    for _ in range(2):  # a duplicate changes nothing
        await credits.post_credit_note("cn_1", "default", system, mappings(), facts)
    assert [w[:2] for w in system.writes if w[0] != "upsert_erp_invoice"] == [
        ("upsert_erp_credit_memo", "cn_1"),
        ("upsert_erp_credit_memo", "cn_1"),
    ]
    assert len(system.erp_invoices) == 1 and len(system.erp_credit_memos) == 1
    kinds = {f.kind for f in facts.published}
    assert {FactKind.credit_issued, FactKind.credit_posted, FactKind.invoice_posted} <= kinds


async def test_refund_before_its_credit_note_converges_to_memo_then_refund() -> None:
    system, facts = _world(invoice()), RecordingFacts()
    system.credit_notes["cn_1"] = credit_note(total=50000, post=50000, refund_ids=["re_1"])
    system.refunds["ch_1"] = [refund("re_1", 20000, credit_note_id="cn_1")]
    await refunds.post_refunds("ch_1", "default", system, mappings(), facts)
    await credits.post_credit_note("cn_1", "default", system, mappings(), facts)  # its own event, later
    await refunds.post_refunds("ch_1", "default", system, mappings(), facts)  # redelivered
    assert list(system.erp_credit_memos) == ["cn_1"] and list(system.erp_refunds) == ["re_1"]
    assert system.erp_refunds["re_1"].credit_memo_external_id == "cn_1"
    assert system.erp_refunds["re_1"].amount == 20000
    assert {f.key for f in facts.published if f.kind == FactKind.refund_posted} == {"re_1"}


async def test_refund_without_a_credit_note_draws_on_a_credit_of_its_own() -> None:
    system = _world(invoice())
    system.refunds["ch_1"] = [refund("re_1", 30000), refund("re_2", 5000)]
    await refunds.post_refunds("ch_1", "default", system, mappings(), RecordingFacts())
    assert sorted(system.erp_credit_memos) == ["re_1:credit", "re_2:credit"]
    assert sum(li.amount for li in system.erp_credit_memos["re_1:credit"].lines) == 30000
    assert system.erp_credit_memos["re_1:credit"].apply == []
    assert system.erp_refunds["re_2"].credit_memo_external_id == "re_2:credit"


async def test_refund_of_no_known_invoice_is_an_owned_failure() -> None:
    system = _world(invoice())
    system.refunds["ch_1"] = [refund("re_1").model_copy(update={"invoice_id": None})]
    with pytest.raises(FlowFailure) as caught:
        await refunds.post_refunds("ch_1", "default", system, mappings(), RecordingFacts())
    assert caught.value.error_class == ErrorClass.validation and "re_1" in caught.value.reason
