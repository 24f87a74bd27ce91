"""Payment failures, voids and uncollectible invoices through the whole stack, in any order.

Webhooks are held in the Stripe sandbox and released in the order each test chooses (Stripe
guarantees no order), and notices are redelivered past the ingress dedupe (at-least-once);
every variant must leave the same state in Salesforce and NetSuite.
"""

from __future__ import annotations

import datetime as dt

from scripts.stack import Stack
from tests.e2e import money
from tests.support.procs import wait_until

DECLINE, VISA = "pm_card_chargeDeclined", "pm_card_visa"


def _pay(stack: Stack, deal: money.Onboarded, method: str) -> int:
    with money.stripe_http(stack, deal.account) as billing:
        response = billing.post(f"/v1/invoices/{deal.invoice_id}/pay", data={"payment_method": method})
    return response.status_code


def test_failed_payments_write_dunning_page_collections_and_payment_clears_it(stack: Stack) -> None:
    deal = money.onboard(stack, "default")
    assert [_pay(stack, deal, DECLINE) for _ in range(3)] == [402, 402, 402]
    money.drain(stack)
    contract = money.sf_record(stack, "Contract", deal.contract_id)
    account = money.sf_record(stack, "Account", deal.crm_account_id)
    assert (contract["Billing_Status__c"], contract["Dunning_Invoice_Id__c"]) == ("past_due", deal.invoice_id)
    assert contract["Payment_Attempts__c"] == 3 and contract["Amount_Past_Due__c"] > 0
    assert account["Billing_Status__c"] == "past_due"
    [record] = money.exceptions(stack, flow="invoice_dunning", business_key=deal.invoice_id)
    assert (record["error_class"], record["owner"], record["status"]) == (
        "payment_overdue",
        "collections",
        "open",
    )
    assert money.facts(stack, "payment.failed", deal.invoice_id)

    money.redeliver(stack, "default", ("billing.invoice.payment_failed", deal.invoice_id))  # a late duplicate
    assert _pay(stack, deal, VISA) == 200
    money.drain(stack)
    money.redeliver(
        stack, "default", ("billing.invoice.payment_failed", deal.invoice_id)
    )  # after the payment
    money.drain(stack)
    contract = money.sf_record(stack, "Contract", deal.contract_id)
    assert (contract["Billing_Status__c"], contract["Dunning_Invoice_Id__c"]) == ("active", None)
    [record] = money.exceptions(stack, flow="invoice_dunning", business_key=deal.invoice_id)
    assert record["status"] == "resolved"
    erp_invoice = money.one(stack, "invoice", deal.invoice_id)
    assert erp_invoice["status"] == "Paid In Full"


def test_void_is_one_write_off_credit_memo_however_often_and_whenever_announced(stack: Stack) -> None:
    deal = money.onboard(stack, "uk")
    with money.holding(stack), money.stripe_http(stack, "uk") as billing:
        invoice = billing.post(f"/v1/invoices/{deal.invoice_id}/void").raise_for_status().json()
        assert "invoice.voided" in money.release(stack, order="reverse")
    money.redeliver(
        stack,
        "uk",
        ("billing.invoice.voided", deal.invoice_id),
        ("billing.invoice.finalized", deal.invoice_id),  # finalized after void: not re-opened
        ("billing.invoice.voided", deal.invoice_id),
    )
    money.drain(stack)
    memo = money.one(stack, "creditMemo", f"{deal.invoice_id}:writeoff")
    assert round(memo["total"] * 100) == invoice["amount_due"] and memo["status"] == "Fully Applied"
    assert (memo["subsidiary"], memo["currency"]) == ("2", "2")
    erp_invoice = money.one(stack, "invoice", deal.invoice_id)
    assert erp_invoice["status"] == "Paid In Full" and erp_invoice["amountRemaining"] == 0
    assert money.facts(stack, "invoice.void_posted", deal.invoice_id)


def _uncollectible_then_paid(stack: Stack, order: str) -> money.Onboarded:
    deal = money.onboard(stack, "default")
    with money.holding(stack):
        with money.stripe_http(stack) as billing:
            billing.post(f"/v1/invoices/{deal.invoice_id}/mark_uncollectible").raise_for_status()
        if order == "reverse":
            assert _pay(stack, deal, VISA) == 200
            sent = money.release(stack, order="reverse")
            assert sent.index("invoice.paid") < sent.index("invoice.marked_uncollectible")
        else:
            money.release(stack)
    if order == "forward":
        wait_until(
            lambda: money.netsuite(stack, "creditMemo", f"{deal.invoice_id}:writeoff"),
            timeout=30,
            message="the write-off",
        )
        assert _pay(stack, deal, VISA) == 200
        money.drain(stack)
    return deal


def test_uncollectible_then_paid_converges_to_paid_in_either_order(stack: Stack) -> None:
    for order in ("forward", "reverse"):
        deal = _uncollectible_then_paid(stack, order)
        assert money.netsuite(stack, "creditMemo", f"{deal.invoice_id}:writeoff") == [], order
        erp_invoice = money.one(stack, "invoice", deal.invoice_id)
        payments = [
            p for p in money.netsuite(stack, "customerpayment") if p["apply"][0]["doc"] == erp_invoice["id"]
        ]
        assert erp_invoice["status"] == "Paid In Full" and len(payments) == 1, order
        assert payments[0]["payment"] == erp_invoice["total"], order


def test_finalized_after_paid_posts_one_invoice_one_payment_and_revenue_once(stack: Stack) -> None:
    with money.holding(stack):  # everything Stripe says about the new subscription waits
        deal = money.onboard(stack, "default", wait_for_erp=False)
        assert _pay(stack, deal, VISA) == 200
        sent = money.release(stack, order="reverse")
        assert sent.index("invoice.paid") < sent.index("invoice.finalized")  # paid is announced first
    money.redeliver(stack, "default", ("billing.invoice.finalized", deal.invoice_id))
    money.drain(stack)
    erp_invoice = money.one(stack, "invoice", deal.invoice_id)
    payments = [
        p for p in money.netsuite(stack, "customerpayment") if p["apply"][0]["doc"] == erp_invoice["id"]
    ]
    assert erp_invoice["status"] == "Paid In Full" and len(payments) == 1
    with money.stripe_http(stack) as billing:
        lines = billing.get(f"/v1/invoices/{deal.invoice_id}").json()["lines"]["data"]
    keys = [j["externalId"] for j in money.netsuite(stack, "journalEntry")]
    this_month = dt.datetime.fromtimestamp(lines[0]["period"]["start"], dt.UTC).strftime("%Y-%m")
    for line in lines:  # the month the service started is due: its revenue posted once, nothing later
        assert [k for k in keys if k.startswith(f"{line['id']}:")] == [f"{line['id']}:{this_month}"]


def test_replayed_finalized_notice_releases_the_write_off_of_an_invoice_paid_after_all(
    stack: Stack,
) -> None:
    """The paid notice is lost; replay by business key re-runs posting with ``invoice.finalized``,
    which must converge like the paid notice: write-off removed, payment applied, once."""
    deal = money.onboard(stack, "default")
    with money.stripe_http(stack) as billing:
        billing.post(f"/v1/invoices/{deal.invoice_id}/mark_uncollectible").raise_for_status()
    wait_until(
        lambda: money.netsuite(stack, "creditMemo", f"{deal.invoice_id}:writeoff"),
        timeout=30,
        message="the write-off",
    )
    with money.holding(stack):  # the paid notice is held until the end, as if lost
        assert _pay(stack, deal, VISA) == 200
        money.redeliver(stack, "default", ("billing.invoice.finalized", deal.invoice_id))
        wait_until(lambda: money.bus_idle(stack), timeout=30, interval=0.2, message="the replay")
        assert money.netsuite(stack, "creditMemo", f"{deal.invoice_id}:writeoff") == []
        erp_invoice = money.one(stack, "invoice", deal.invoice_id)
        payments = [
            p for p in money.netsuite(stack, "customerpayment") if p["apply"][0]["doc"] == erp_invoice["id"]
        ]
        assert erp_invoice["status"] == "Paid In Full" and len(payments) == 1
