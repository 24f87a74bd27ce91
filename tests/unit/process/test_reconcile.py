"""Reconciliation's comparison (pure): each kind of difference is found, a duplicate made without
a key is found by its memo, records in flight are not judged (but records a test clock dated ahead
are), refunds are reconciled like credit notes, and another flow's records are not taken for
strangers."""

from __future__ import annotations

import datetime as dt

from revbridge_contracts.models import (
    CreditNote,
    Dispute,
    ErpTransaction,
    Payment,
    Refund,
    Subscription,
    SubscriptionItem,
)
from revbridge_contracts.process import ReconciliationCategory as C
from revbridge_contracts.process import ReconciliationPair
from revbridge_process.reconcile import (
    INVOICE_STATUS_IN_ERP,
    SPECS,
    InFlight,
    compare,
    contract_rec,
    credit_note_rec,
    dispute_rec,
    erp_rec,
    invoice_rec,
    payment_recs,
    refund_rec,
    subscription_rec,
)

from tests.unit.process.fakes import NOW, contract, invoice, mappings

CUTOFF = InFlight(NOW + dt.timedelta(days=30))  # everything judged


def erp(
    internal_id: str,
    external_id: str | None,
    total: int = 300000,
    *,
    memo: str | None = None,
    status: str | None = "B",
    currency: str = "USD",
    record_type: str = "invoice",
) -> ErpTransaction:
    return ErpTransaction(
        record_type=record_type,
        internal_id=internal_id,
        external_id=external_id,
        total=total,
        currency=currency,
        status=status,
        memo=memo,
    )


def credit_note(note_id: str, total: int, status: str = "issued") -> CreditNote:
    return CreditNote(
        id=note_id,
        invoice_id="in_1",
        customer_id="cus_1",
        status=status,
        currency="USD",
        total=total,
        issued_at=NOW,
    )


def _kinds(result: object) -> dict[str, list[C]]:
    return {f.key: [c for c, _ in f.problems] for f in result.findings}  # type: ignore[attr-defined]


def test_invoices_each_difference_is_named_by_the_source_key() -> None:
    sources = [
        invoice_rec(invoice(f"in_{n}", number=f"INV-{n}"), "default")
        for n in ("ok", "gone", "twice", "short", "euro", "open")
    ]
    sources[-1] = invoice_rec(invoice("in_open", number="INV-open", paid=False), "default")
    targets = [
        erp("1", "in_ok"),
        erp("2", "in_twice"),
        erp("3", None, memo="in_twice"),  # a copier's duplicate: no key, the invoice id as memo
        erp("4", "in_short", total=299999),
        erp("5", "in_euro", currency="EUR"),
        erp("6", "in_open", status="B"),  # the ERP says paid in full, billing says open
        erp("7", None, memo=None),  # names nothing
    ]
    result = compare(SPECS[ReconciliationPair.invoice], sources, map(erp_rec, targets), CUTOFF)

    assert _kinds(result) == {
        "in_gone": [C.missing_in_target],
        "in_twice": [C.duplicated],
        "in_short": [C.amount_mismatch],
        "in_euro": [C.currency_mismatch],
        "in_open": [C.status_mismatch],
        "erp:invoice:7": [C.unexpected_in_target],
    }
    counts = result.counts
    assert (counts.matched, counts.source_records, counts.target_records) == (1, 6, 7)
    assert counts.unexpected_in_target == 1 and counts.duplicated == 1
    [twice] = [f for f in result.findings if f.key == "in_twice"]
    assert [t.id for t in twice.targets] == ["2", "3"]  # the keyed record first


def test_a_duplicate_named_by_invoice_number_is_found_too() -> None:
    source = invoice_rec(invoice("in_1", number="INV-0042"), "default")
    targets = [erp("1", "in_1"), erp("2", None, memo="INV-0042")]
    result = compare(SPECS[ReconciliationPair.invoice], [source], map(erp_rec, targets), CUTOFF)
    assert _kinds(result) == {"in_1": [C.duplicated]}


def test_records_in_flight_are_not_judged_but_still_claim_their_targets() -> None:
    window = InFlight(NOW, grace=dt.timedelta(minutes=5))
    fresh = invoice_rec(invoice("in_new", issued_at=NOW - dt.timedelta(minutes=1)), "default")
    missing = invoice_rec(invoice("in_late", issued_at=NOW - dt.timedelta(minutes=4)), "default")
    skewed = invoice_rec(invoice("in_skew", issued_at=NOW + dt.timedelta(seconds=10)), "default")
    result = compare(
        SPECS[ReconciliationPair.invoice], [fresh, missing, skewed], [erp_rec(erp("1", "in_new"))], window
    )
    assert result.findings == [] and result.counts.in_grace == 3 and result.counts.matched == 0


def test_records_a_test_clock_dated_ahead_are_judged_not_held_in_grace() -> None:
    """A test clock advanced a month dates its invoices a month ahead of the wall clock: with no grace
    they are judged at once, and with a grace they are judged too (only records made within the grace
    of now are in flight), instead of waiting a month for the wall clock."""
    ahead = invoice_rec(invoice("in_clock", issued_at=NOW + dt.timedelta(days=31)), "default")
    posted = invoice_rec(invoice("in_posted", issued_at=NOW + dt.timedelta(days=31)), "default")
    targets = [erp_rec(erp("1", "in_posted"))]
    for grace in (dt.timedelta(0), dt.timedelta(minutes=5)):
        result = compare(SPECS[ReconciliationPair.invoice], [ahead, posted], targets, InFlight(NOW, grace))
        assert _kinds(result) == {"in_clock": [C.missing_in_target]}
        assert (result.counts.matched, result.counts.in_grace) == (1, 0)
    just_now = invoice_rec(invoice("in_now", issued_at=NOW), "default")
    result = compare(SPECS[ReconciliationPair.invoice], [just_now], [], InFlight(NOW))
    assert _kinds(result) == {"in_now": [C.missing_in_target]}  # grace 0: nothing is in flight


def test_void_invoices_need_nothing_unless_posted_and_then_must_be_closed() -> None:
    never_posted = invoice_rec(invoice("in_v1", paid=False, status="void"), "default")
    posted_open = invoice_rec(invoice("in_v2", paid=False, status="void"), "default")
    written_off = invoice_rec(invoice("in_v3", paid=False, status="void"), "default")
    targets = [erp("2", "in_v2", status="A"), erp("3", "in_v3", status="Paid In Full")]
    result = compare(
        SPECS[ReconciliationPair.invoice],
        [never_posted, posted_open, written_off],
        map(erp_rec, targets),
        CUTOFF,
    )
    assert _kinds(result) == {"in_v2": [C.status_mismatch]}
    assert result.counts.matched == 2


def test_erp_invoice_status_rule_written_off_paid_in_full_and_open_only_while_owed() -> None:
    """One rule (``INVOICE_STATUS_IN_ERP``): the write-off credit memo closes a void or uncollectible
    invoice (Paid In Full); one paid after being written off is Paid In Full with its payment once
    the write-off was removed; Open only while billing still collects it."""
    assert INVOICE_STATUS_IN_ERP == {
        "open": "open",
        "paid": "paid in full",
        "void": "paid in full",
        "uncollectible": "paid in full",
    }
    cases = {  # billing status, ERP status as read (record API words or SuiteQL codes) -> judged
        ("uncollectible", "Paid In Full"): [],  # written off
        ("uncollectible", "B"): [],
        ("void", "Paid In Full"): [],
        ("uncollectible", "Open"): [C.status_mismatch],  # the write-off missing, or removed too soon
        ("void", "A"): [C.status_mismatch],
        ("paid", "Paid In Full"): [],  # paid after all: write-off released, payment applied
        ("paid", "Open"): [C.status_mismatch],  # write-off released, payment not applied yet
        ("open", "Open"): [],
        ("open", "Paid In Full"): [C.status_mismatch],
    }
    for n, ((status, erp_status), expected) in enumerate(cases.items()):
        paid = status == "paid"
        source = invoice_rec(invoice(f"in_{n}", paid=paid, status=status), "default")
        result = compare(
            SPECS[ReconciliationPair.invoice],
            [source],
            [erp_rec(erp("1", f"in_{n}", status=erp_status))],
            CUTOFF,
        )
        assert [c for f in result.findings for c, _ in f.problems] == expected, (status, erp_status)


def test_payments_match_by_key_and_a_copier_payment_by_its_invoice_memo() -> None:
    paid = invoice("in_1")  # payment py_1, 300000
    second = invoice("in_2").model_copy(
        update={
            "payments": [
                Payment(
                    id="py_2",
                    invoice_id="in_2",
                    amount=300000,
                    currency="USD",
                    status="succeeded",
                    paid_at=NOW,
                )
            ]
        }
    )
    sources = payment_recs(paid, "default") + payment_recs(second, "default")
    targets = [
        erp("10", "py_1", record_type="customerpayment", status="C"),
        erp("11", None, memo="in_1", record_type="customerpayment", status="C"),  # copied twice
        erp("12", "py_2", total=3000, record_type="customerpayment", status="C"),
    ]
    result = compare(SPECS[ReconciliationPair.payment], sources, map(erp_rec, targets), CUTOFF)
    assert _kinds(result) == {"py_1": [C.duplicated], "py_2": [C.amount_mismatch]}


def test_credit_notes_void_in_billing_must_be_gone_and_flow_memos_are_not_strangers() -> None:
    live, voided = credit_note("cn_1", 5000), credit_note("cn_2", 7000, status="void")
    sources = [credit_note_rec(live, "default"), credit_note_rec(voided, "default")]
    targets = [
        erp("20", "cn_1", 5000, record_type="creditMemo", status="A"),
        erp("21", "cn_2", 7000, record_type="creditMemo", status="A"),
        erp("22", "in_9:writeoff", 1000, record_type="creditMemo", status="B"),  # the write-off flow's
        erp("23", "re_1:credit", 1000, record_type="creditMemo", status="B"),  # the refund flow's
    ]
    result = compare(SPECS[ReconciliationPair.credit_note], sources, map(erp_rec, targets), CUTOFF)
    assert _kinds(result) == {"cn_2": [C.status_mismatch]}
    assert result.counts.matched == 1 and result.counts.unexpected_in_target == 0


def test_contracts_and_subscriptions_compare_items_currency_and_liveness() -> None:
    m = mappings()
    contracts = [contract_rec(contract(f"80000000000000{n}"), m) for n in range(1, 5)]
    plat, seat = m.products["PLAT-ENT"].billing_price_ref, m.products["SEAT"].billing_price_ref

    def sub(
        sub_id: str, contract_id: str | None, status: str = "active", seats: int = 40, **kw: object
    ) -> object:
        items = [
            SubscriptionItem(billing_price_ref=plat, quantity=1),
            SubscriptionItem(billing_price_ref=seat, quantity=seats),
        ]
        fields = {"id": sub_id, "customer_id": "cus_1", "crm_contract_id": contract_id, "status": status}
        return Subscription.model_validate(fields | {"items": items, "currency": "USD"} | kw)

    subs = [
        sub("sub_1", "800000000000001"),
        sub("sub_1old", "800000000000001", status="canceled"),  # history, not a duplicate
        sub("sub_2", "800000000000002", seats=39),
        sub("sub_3", "800000000000003", status="canceled"),
        sub("sub_x", "800000000000099"),  # a live subscription no activated contract explains
        sub("sub_y", "800000000000098", status="canceled"),  # a dead one: ignored
    ]  # 800000000000004 has none
    result = compare(
        SPECS[ReconciliationPair.contract_subscription],
        contracts,
        [subscription_rec(s, "default") for s in subs],  # type: ignore[arg-type]
        CUTOFF,
    )
    assert _kinds(result) == {
        "800000000000002": [C.amount_mismatch],
        "800000000000003": [C.status_mismatch],
        "800000000000004": [C.missing_in_target],
        "800000000000099": [C.unexpected_in_target],
    }
    assert result.counts.matched == 1


def test_a_subscription_that_ended_with_its_contracts_term_is_not_a_status_mismatch() -> None:
    start = dt.date(2027, 1, 15)
    contracts = [
        contract_rec(contract(f"80000000000000{n}", start_date=start, term_months=36), mappings())
        for n in (1, 2)
    ]

    def ended(contract_id: str, on: dt.datetime) -> object:
        fields = {"id": f"sub_{contract_id}", "customer_id": "cus_1", "crm_contract_id": contract_id}
        return Subscription.model_validate(fields | {"status": "canceled", "currency": "USD", "ended_at": on})

    subs = [
        ended("800000000000001", dt.datetime(2030, 1, 15, tzinfo=dt.UTC)),  # the schedule ended with the term
        ended("800000000000002", dt.datetime(2028, 6, 1, tzinfo=dt.UTC)),  # canceled in the middle of it
    ]
    result = compare(
        SPECS[ReconciliationPair.contract_subscription],
        contracts,
        [subscription_rec(s, "default") for s in subs],  # type: ignore[arg-type]
        CUTOFF,
    )
    assert _kinds(result) == {"800000000000002": [C.status_mismatch]}


def refund(refund_id: str, amount: int, status: str = "succeeded", currency: str = "USD") -> Refund:
    return Refund(
        id=refund_id,
        charge_id="ch_1",
        amount=amount,
        currency=currency,
        status=status,
        created_at=NOW,
    )


def test_refunds_compare_existence_amount_and_currency_and_a_failed_one_must_be_gone() -> None:
    sources = [
        refund_rec(r, "default")
        for r in (
            refund("re_ok", 1500),
            refund("re_gone", 1500),
            refund("re_short", 1500),
            refund("re_euro", 1500),
            refund("re_failed", 1500, status="failed"),  # posted while pending, then failed
            refund("re_canceled", 900, status="canceled"),  # never posted: nothing needed
        )
    ]
    targets = [
        erp("30", "re_ok", 1500, record_type="customerRefund", status=None),
        erp("31", "re_short", 1400, record_type="customerRefund", status=None),
        erp("32", "re_euro", 1500, record_type="customerRefund", status=None, currency="EUR"),
        erp("33", "re_failed", 1500, record_type="customerRefund", status=None),
        erp("34", "re_other", 700, record_type="customerRefund", status=None),
    ]
    result = compare(SPECS[ReconciliationPair.refund], sources, map(erp_rec, targets), CUTOFF)
    assert _kinds(result) == {
        "re_gone": [C.missing_in_target],
        "re_short": [C.amount_mismatch],
        "re_euro": [C.currency_mismatch],
        "re_failed": [C.status_mismatch],
        "re_other": [C.unexpected_in_target],
    }
    assert result.counts.matched == 2  # re_ok, and re_canceled with nothing
    [gone] = [f for f in result.findings if f.key == "re_gone"]
    assert gone.source is not None and gone.source.owners == ("refund_posting:ch_1",)


def _dispute(dispute_id: str, status: str) -> Dispute:
    return Dispute(
        id=dispute_id, charge_id="ch_9", amount=2500, currency="USD", status=status, created_at=NOW
    )


def test_a_lost_dispute_must_have_its_customer_refund_and_a_won_one_none() -> None:
    sources = [
        dispute_rec(_dispute(d, status), "default")
        for d, status in (
            ("dp_lost", "lost"),
            ("dp_unposted", "lost"),
            ("dp_won", "won"),
            ("dp_open", "needs_response"),
        )
    ]
    targets = [
        erp("40", "dp_lost", 2500, record_type="customerRefund", status=None),
        erp("41", "dp_won", 2500, record_type="customerRefund", status=None),
    ]
    result = compare(SPECS[ReconciliationPair.refund], sources, map(erp_rec, targets), CUTOFF)
    assert _kinds(result) == {"dp_unposted": [C.missing_in_target], "dp_won": [C.status_mismatch]}
    assert result.counts.matched == 2  # dp_lost, and dp_open with nothing
    [unposted] = [f for f in result.findings if f.key == "dp_unposted"]
    assert unposted.source is not None and unposted.source.owners == ("dispute_posting:dp_unposted",)
