"""Pure mappings for amendments, credit notes, refunds, write-offs, journals and dunning (no I/O)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError
from revbridge_contracts.events import EventType
from revbridge_contracts.models import (
    BillingLink,
    DunningStatus,
    ErpApplication,
    ErpCreditLine,
    ErpCreditMemoUpsert,
    ErpJournalEntryUpsert,
    ErpJournalLine,
    ErpRefundUpsert,
    SubscriptionItem,
    SubscriptionUpsert,
)
from revbridge_system.adapters.netsuite import mappers as ns
from revbridge_system.adapters.salesforce import mappers as sf
from revbridge_system.adapters.stripe import mappers as st


def _sub(items: list[tuple[str, str, int]], **metadata: str) -> Any:
    return {
        "id": "sub_1",
        "customer": "cus_1",
        "status": "active",
        "metadata": {"revbridge_crm_contract_id": "800A", **metadata},
        "items": {"data": [{"id": i, "price": {"lookup_key": key}, "quantity": q} for i, key, q in items]},
    }


def _cmd(items: list[tuple[str, int]], **kw: Any) -> SubscriptionUpsert:
    return SubscriptionUpsert(
        customer_id="cus_1",
        currency="USD",
        items=[SubscriptionItem(billing_price_ref=k, quantity=q) for k, q in items],
        **kw,
    )


def test_amendment_changes_quantities_drops_and_adds_items_prorated() -> None:
    raw = _sub([("si_1", "plat", 1), ("si_2", "seat", 40), ("si_3", "support", 1)])
    cmd = _cmd([("plat", 1), ("seat", 55), ("addon", 2)], revision="r2", proration_behavior="always_invoice")
    assert st.missing_price_refs(raw, cmd) == ["addon"]
    params = st.subscription_update_params(raw, cmd, {"addon": "price_addon"})
    assert params == {
        "metadata": {"revbridge_contract_revision": "r2"},
        "items": [
            {"id": "si_2", "quantity": 55},
            {"id": "si_3", "deleted": True},
            {"price": "price_addon", "quantity": 2},
        ],
        "proration_behavior": "always_invoice",
    }


def test_a_new_version_stamp_alone_changes_nothing_but_a_renewal_moves_the_term() -> None:
    raw = _sub([("si_1", "plat", 1)], revbridge_term_end="2027-02-28")
    assert st.subscription_update_params(raw, _cmd([("plat", 1)], revision="r9"), {}) is None
    renewed = _cmd([("plat", 1)], revision="r9", term_end=dt.date(2028, 2, 29))
    assert st.subscription_update_params(raw, renewed, {}) == {
        "metadata": {"revbridge_contract_revision": "r9", "revbridge_term_end": "2028-02-29"}
    }


def test_update_key_is_per_contract_version_and_terms() -> None:
    a = st.subscription_update_idempotency_key("uk", "800A", _cmd([("plat", 1)], revision="r1"))
    assert a == st.subscription_update_idempotency_key("uk", "800A", _cmd([("plat", 1)], revision="r1"))
    assert a != st.subscription_update_idempotency_key("uk", "800A", _cmd([("plat", 2)], revision="r1"))
    assert a != st.subscription_update_idempotency_key("uk", "800A", _cmd([("plat", 1)], revision="r2"))


def test_new_webhook_types_map_to_business_events() -> None:
    for vendor, ours, obj in (
        ("credit_note.created", EventType.credit_note_created, "cn_1"),
        ("charge.refunded", EventType.charge_refunded, "ch_1"),
        ("charge.dispute.created", EventType.dispute_created, "dp_1"),
        ("charge.dispute.closed", EventType.dispute_closed, "dp_1"),
    ):
        env = st.to_envelope({"id": "evt_1", "type": vendor, "data": {"object": {"id": obj}}}, "uk", {}, None)
        assert env is not None and (env.type, env.subject, env.account) == (ours, obj, "uk")


def test_credit_note_and_refund_links() -> None:
    raw: Any = {
        "id": "cn_1",
        "number": "ABC-0001-CN-01",
        "invoice": "in_1",
        "customer": "cus_1",
        "status": "issued",
        "currency": "gbp",
        "total": 5000,
        "pre_payment_amount": 0,
        "post_payment_amount": 5000,
        "refunds": [{"amount_refunded": 2000, "refund": "re_1", "type": "refund"}],
        "effective_at": 1767225600,
        "lines": {"data": [{"id": "cnli_1", "invoice_line_item": "il_1", "amount": 5000, "quantity": 1}]},
    }
    note = st.to_credit_note(raw)
    assert (note.currency, note.post_payment_amount, note.refund_ids) == ("GBP", 5000, ["re_1"])
    assert note.lines[0].invoice_line_id == "il_1"
    assert st.refunded_by_note([raw]) == {"re_1": "cn_1"}
    refund = st.to_refund(
        {"id": "re_1", "amount": 2000, "charge": "ch_1", "payment_intent": "pi_1", "currency": "gbp"},
        "in_1",
        "cn_1",
    )
    assert (refund.payment_id, refund.invoice_id, refund.credit_note_id) == ("pi_1", "in_1", "cn_1")


def test_invoice_carries_dunning_and_writeoff_fields() -> None:
    raw: Any = {
        "id": "in_1",
        "customer": "cus_1",
        "status": "open",
        "currency": "usd",
        "total": 100,
        "amount_paid": 0,
        "amount_due": 100,
        "amount_remaining": 100,
        "attempt_count": 2,
        "next_payment_attempt": 1767225600,
        "status_transitions": {"finalized_at": 1767139200, "voided_at": None},
    }
    invoice = st.to_invoice(raw)
    assert (invoice.attempt_count, invoice.remaining) == (2, 100)
    assert invoice.next_payment_attempt == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_netsuite_credit_memo_refund_and_journal_bodies() -> None:
    memo = ErpCreditMemoUpsert(
        customer_external_id="001A",
        currency="JPY",
        tran_date=dt.date(2026, 3, 1),
        lines=[ErpCreditLine(item_id="101", amount=1500, quantity=3)],
        apply=[ErpApplication(invoice_external_id="in_1", amount=1500)],
    )
    body = ns.credit_memo_body(memo, "7", "9", ["42"])
    assert body["item"]["items"][0]["amount"] == 1500.0 and body["item"]["items"][0]["rate"] == 500.0
    assert body["apply"]["items"] == [{"doc": {"id": "42"}, "apply": True, "amount": 1500.0}]
    refund = ErpRefundUpsert(
        customer_external_id="001A",
        credit_memo_external_id="cn_1",
        currency="GBP",
        amount=2050,
        tran_date=dt.date(2026, 3, 2),
    )
    assert ns.refund_body(refund, "7", "2", "43")["apply"]["items"][0] == {
        "doc": {"id": "43"},
        "apply": True,
        "amount": 20.5,
    }
    journal = ErpJournalEntryUpsert(
        subsidiary_id="2",
        currency="GBP",
        tran_date=dt.date(2026, 3, 1),
        lines=[ErpJournalLine(account_id="3", debit=999), ErpJournalLine(account_id="4", credit=999)],
    )
    lines = ns.journal_body(journal, "2", {})["line"]["items"]
    assert lines == [{"account": {"id": "3"}, "debit": 9.99}, {"account": {"id": "4"}, "credit": 9.99}]
    assert ns.journal_total(journal) == 999


def test_unbalanced_or_two_sided_journal_lines_are_refused() -> None:
    with pytest.raises(ValidationError, match="do not balance"):
        ErpJournalEntryUpsert(
            subsidiary_id="1",
            currency="USD",
            tran_date=dt.date(2026, 3, 1),
            lines=[ErpJournalLine(account_id="3", debit=10), ErpJournalLine(account_id="4", credit=9)],
        )
    with pytest.raises(ValidationError, match="exactly one positive"):
        ErpJournalEntryUpsert(
            subsidiary_id="1",
            currency="USD",
            tran_date=dt.date(2026, 3, 1),
            lines=[ErpJournalLine(account_id="3", debit=10, credit=10), ErpJournalLine(account_id="4")],
        )


def test_salesforce_dunning_patch_and_unchanged_write_back() -> None:
    status = DunningStatus(
        billing_status="past_due",
        invoice_id="in_1",
        attempt_count=2,
        next_attempt_at=dt.datetime(2026, 3, 4, tzinfo=dt.UTC),
        amount_due=125050,
        currency="USD",
        synced_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    patch = sf.dunning_patch(status, clear=False)
    assert patch["Payment_Attempts__c"] == 2 and patch["Amount_Past_Due__c"] == 1250.5
    assert patch["Next_Payment_Attempt__c"] == "2026-03-04T00:00:00.000+0000"
    cleared = sf.dunning_patch(status.model_copy(update={"billing_status": "active"}), clear=True)
    assert cleared["Dunning_Invoice_Id__c"] is None and cleared["Amount_Past_Due__c"] == 0
    link = BillingLink(
        billing_customer_id="cus_1", billing_status="active", synced_at=dt.datetime.now(dt.UTC)
    )
    assert sf.link_unchanged({"Billing_Customer_Id__c": "cus_1", "Billing_Status__c": "active"}, link)
    assert not sf.link_unchanged({"Billing_Customer_Id__c": "cus_1", "Billing_Status__c": "past_due"}, link)


def test_a_dispute_maps_with_the_invoice_its_payment_paid() -> None:
    raw: Any = {
        "id": "dp_1",
        "amount": 4000,
        "charge": "ch_1",
        "payment_intent": {"id": "pi_1"},
        "currency": "usd",
        "status": "lost",
        "reason": "fraudulent",
        "created": 1767225600,
    }
    dispute = st.to_dispute(raw, "in_1")
    assert (dispute.charge_id, dispute.payment_id, dispute.invoice_id) == ("ch_1", "pi_1", "in_1")
    assert (dispute.amount, dispute.currency, dispute.lost, dispute.reason) == (
        4000,
        "USD",
        True,
        "fraudulent",
    )
