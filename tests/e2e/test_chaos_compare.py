"""The chaos run's own Stripe ↔ NetSuite count finds every kind of difference it reports.

The chaos tests assert zeros; these prove the counter is not blind: each difference, planted in
plain records shaped like the platforms' (Stripe invoices with payments, NetSuite stored records),
shows up in its own column, and a faithful copy counts as matched.
"""

from __future__ import annotations

from typing import Any

from scripts.chaos_recon import compare

CURRENCIES = {"1": "USD", "2": "GBP"}


def stripe_invoice(n: int, total: int = 1000, status: str = "paid", currency: str = "usd") -> dict[str, Any]:
    payments = (
        [
            {
                "id": f"inpay_{n}",
                "status": "paid",
                "amount_paid": total,
                "payment": {"payment_intent": f"pi_{n}"},
            }
        ]
        if status == "paid"
        else []
    )
    return {
        "id": f"in_{n}",
        "number": f"ABC-{n:04d}",
        "total": total,
        "status": status,
        "currency": currency,
        "payments": {"data": payments},
    }


def ns_invoice(
    internal: int, key: str, total: float = 10.0, status: str = "Paid In Full", currency: str = "1"
) -> dict[str, Any]:
    return {"id": str(internal), "externalId": key, "total": total, "status": status, "currency": currency}


def ns_payment(internal: int, doc: int, amount: float = 10.0) -> dict[str, Any]:
    return {"id": str(internal), "payment": amount, "apply": [{"doc": str(doc), "amount": amount}]}


def test_a_faithful_copy_is_all_matched() -> None:
    report = compare(
        [stripe_invoice(1), stripe_invoice(2, status="open")],
        [ns_invoice(10, "in_1"), ns_invoice(11, "in_2", status="Open")],
        [ns_payment(20, 10)],
        CURRENCIES,
    )
    assert report.clean
    assert (report.invoices.matched, report.payments.matched) == (2, 1)


def test_each_planted_difference_lands_in_its_own_column() -> None:
    source = [
        stripe_invoice(1),  # missing in NetSuite, with its payment
        stripe_invoice(2),  # posted twice (the second copy found by memo, as a naive copier writes it)
        stripe_invoice(3, total=2000),  # posted with the wrong amount
        stripe_invoice(4, currency="gbp"),  # posted in USD
        stripe_invoice(5),  # paid in Stripe, still open in NetSuite, and its payment missing
        stripe_invoice(6),  # its payment posted twice
    ]
    target = [
        ns_invoice(12, "in_2"),
        {**ns_invoice(13, ""), "externalId": None, "memo": "in_2"},
        ns_invoice(14, "in_3", total=10.0),
        ns_invoice(15, "in_4", currency="1"),
        ns_invoice(16, "in_5", status="Open"),
        ns_invoice(17, "in_6"),
        ns_invoice(18, "in_999"),  # names no Stripe invoice
    ]
    payments = [
        ns_payment(22, 12),
        ns_payment(24, 14),
        ns_payment(25, 15),
        ns_payment(27, 17),
        ns_payment(28, 17),
    ]
    report = compare(source, target, payments, CURRENCIES)
    inv, pay = report.invoices, report.payments
    assert (inv.missing_in_target, inv.duplicated, inv.amount_mismatch) == (1, 1, 1)
    assert (inv.currency_mismatch, inv.status_mismatch, inv.unexpected_in_target) == (1, 1, 1)
    assert inv.examples["missing_in_target"] == ["in_1"]
    assert (pay.missing_in_target, pay.duplicated) == (2, 1)
    assert not report.clean
