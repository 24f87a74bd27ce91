"""Disputes through the whole stack: Stripe's dispute test card opens one on the invoice's payment,
evidence decides it. A lost dispute posts a credit memo and a customer refund in NetSuite once,
however often its notice comes; a won one posts nothing; both are in the lineage facts
(reconciliation's rule for them is in ``tests/unit/process/test_reconcile.py``)."""

from __future__ import annotations

from typing import Any

from scripts.stack import Stack
from tests.e2e import money
from tests.support.procs import wait_until


def _disputed_deal(stack: Stack) -> tuple[money.Onboarded, dict[str, Any]]:
    deal = money.onboard(stack, "default")
    with money.stripe_http(stack) as billing:
        billing.post(
            f"/v1/invoices/{deal.invoice_id}/pay", data={"payment_method": "pm_card_createDispute"}
        ).raise_for_status()
        invoice = billing.get(f"/v1/invoices/{deal.invoice_id}").raise_for_status().json()
        intent = invoice["payments"]["data"][0]["payment"]["payment_intent"]
        dispute = billing.get("/v1/disputes", params={"payment_intent": intent}).json()["data"][0]
    money.drain(stack)
    return deal, dispute


def _decide(stack: Stack, dispute_id: str, evidence: str) -> None:
    with money.stripe_http(stack) as billing:
        decided = billing.post(
            f"/v1/disputes/{dispute_id}", data={"evidence[uncategorized_text]": evidence}
        ).raise_for_status()
    assert decided.json()["status"] in ("won", "lost")
    money.drain(stack)


def test_a_lost_dispute_posts_its_refund_once_and_a_won_one_nothing(stack: Stack) -> None:
    lost_deal, lost = _disputed_deal(stack)
    assert money.facts(stack, "dispute.recorded", lost["id"])  # opened: recorded, nothing posted
    assert money.netsuite(stack, "customerRefund", lost["id"]) == []
    _decide(stack, lost["id"], "losing_evidence")
    money.redeliver(
        stack, "default", ("billing.dispute.closed", lost["id"]), ("billing.dispute.closed", lost["id"])
    )
    money.drain(stack)

    credit = money.one(stack, "creditMemo", f"{lost['id']}:credit")
    refund = money.one(stack, "customerRefund", lost["id"])
    assert credit["total"] == refund["total"] == lost["amount"] / 100
    assert refund["apply"][0]["doc"] == credit["id"]
    assert money.one(stack, "invoice", lost_deal.invoice_id)["status"] == "Paid In Full"
    statuses = {f["status"] for f in money.facts(stack, "dispute.recorded", lost["id"])}
    assert "lost" in statuses and money.facts(stack, "refund.posted", lost["id"])

    _, won = _disputed_deal(stack)
    _decide(stack, won["id"], "winning_evidence")
    wait_until(
        lambda: any(f["status"] == "won" for f in money.facts(stack, "dispute.recorded", won["id"])),
        timeout=30,
        message="the won dispute recorded",
    )
    assert money.netsuite(stack, "customerRefund", won["id"]) == []
    assert money.netsuite(stack, "creditMemo", f"{won['id']}:credit") == []
