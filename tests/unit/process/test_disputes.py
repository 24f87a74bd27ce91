"""A lost dispute posts the money returned as a refund of its own (credit memo, then customer
refund, keyed by the dispute id); a won or open one posts nothing; both are recorded for lineage."""

from __future__ import annotations

import datetime as dt

import pytest
from revbridge_contracts.facts import FactKind
from revbridge_contracts.models import Dispute, ErpCustomerUpsert
from revbridge_contracts.process import ErrorClass
from revbridge_process.errors import FlowFailure
from revbridge_process.flows import disputes

from tests.unit.process.fakes import account, contract, invoice, mappings
from tests.unit.process.fakes_money import FakeLedgerSystem, RecordingFacts

pytestmark = pytest.mark.anyio


def _world() -> FakeLedgerSystem:
    system = FakeLedgerSystem()
    system.add(contract(), account(), invoice())  # type: ignore[arg-type]
    system.erp_customers["001A"] = ErpCustomerUpsert(
        name="Globex", subsidiary_id="1", currency="USD", crm_account_id="001A"
    )
    return system


def _dispute(status: str, invoice_id: str | None = "in_1") -> Dispute:
    return Dispute(
        id="dp_1",
        charge_id="ch_1",
        payment_id="pi_1",
        invoice_id=invoice_id,
        amount=40000,
        currency="USD",
        status=status,
        reason="fraudulent",
        created_at=dt.datetime(2026, 3, 4, tzinfo=dt.UTC),
    )


async def test_a_lost_dispute_posts_a_credit_memo_and_a_customer_refund_once() -> None:
    system, facts = _world(), RecordingFacts()
    system.disputes["dp_1"] = _dispute("lost")
    for _ in range(2):  # redelivered: the same two keyed writes, nothing more
        await disputes.post_dispute("dp_1", "default", system, mappings(), facts)
    assert list(system.erp_credit_memos) == ["dp_1:credit"] and list(system.erp_refunds) == ["dp_1"]
    memo, refund = system.erp_credit_memos["dp_1:credit"], system.erp_refunds["dp_1"]
    assert sum(line.amount for line in memo.lines) == 40000 and memo.apply == []
    assert (refund.amount, refund.credit_memo_external_id) == (40000, "dp_1:credit")
    assert refund.memo.startswith("Lost dispute dp_1 (fraudulent) of ")
    kinds = {(f.kind, f.key, f.status) for f in facts.published}
    assert (FactKind.dispute_recorded, "dp_1", "lost") in kinds
    assert (FactKind.refund_issued, "dp_1", "succeeded") in kinds


@pytest.mark.parametrize("status", ["won", "needs_response", "warning_closed"])
async def test_a_dispute_not_lost_posts_nothing_and_is_recorded(status: str) -> None:
    system, facts = _world(), RecordingFacts()
    system.disputes["dp_1"] = _dispute(status)
    assert await disputes.post_dispute("dp_1", "default", system, mappings(), facts) is None
    assert system.erp_credit_memos == {} and system.erp_refunds == {}
    assert [(f.kind, f.status) for f in facts.published] == [(FactKind.dispute_recorded, status)]


async def test_a_lost_dispute_of_no_known_invoice_is_an_owned_failure_and_a_won_one_is_ignored() -> None:
    system = _world()
    system.disputes["dp_1"] = _dispute("lost", invoice_id=None)
    with pytest.raises(FlowFailure) as caught:
        await disputes.post_dispute("dp_1", "default", system, mappings(), RecordingFacts())
    assert caught.value.error_class == ErrorClass.validation
    system.disputes["dp_1"] = _dispute("won", invoice_id=None)
    assert await disputes.post_dispute("dp_1", "default", system, mappings(), RecordingFacts()) is None
