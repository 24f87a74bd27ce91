"""Cash through the official SDK, as finance reconciles it: every charge, refund, dispute and
payout is a balance transaction (amount, fee, net, source); the balance is their sum; Stripe's
dispute test cards open a dispute at once, and evidence wins or loses it as in Stripe's test mode.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from tests.integration.conformance.test_stripe_sdk import sdk
from tests.support.procs import sandbox

pytestmark = pytest.mark.integration


@pytest.fixture
def client() -> Iterator[stripe.StripeClient]:
    with sandbox("stripe") as url:  # one account per test: balances start at zero
        yield sdk(url, retries=0)


def _pay(client: stripe.StripeClient, amount: int, card: str = "pm_card_visa") -> stripe.PaymentIntent:
    customer = client.v1.customers.create({"name": "Cash Co"})
    pm = client.v1.payment_methods.attach(card, {"customer": customer.id})
    return client.v1.payment_intents.create(
        {
            "amount": amount,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": pm.id,
            "confirm": True,
        }
    )


def test_charges_and_refunds_are_balance_transactions_with_fees_and_the_balance_sums_them(
    client: stripe.StripeClient,
) -> None:
    paid = _pay(client, 10_000)
    charge = client.v1.charges.retrieve(str(paid.latest_charge))
    client.v1.refunds.create({"charge": charge.id, "amount": 2_500})

    txn = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
    assert (txn.type, txn.amount, txn.fee, txn.net, txn.source) == ("charge", 10_000, 320, 9_680, charge.id)
    assert txn.status == "pending" and txn.available_on > txn.created
    assert txn.fee_details[0].type == "stripe_fee"

    listed = client.v1.balance_transactions.list({"limit": 10}).data
    assert sorted((t.type, t.net) for t in listed) == [("charge", 9_680), ("refund", -2_500)]
    balance = client.v1.balance.retrieve()
    assert (balance.pending[0].amount, balance.available[0].amount) == (9_680, -2_500)

    with pytest.raises(stripe.InvalidRequestError) as short:
        client.v1.payouts.create({"amount": 100, "currency": "usd"})
    assert short.value.code == "balance_insufficient"


def test_a_dispute_test_card_opens_a_dispute_that_winning_evidence_wins(client: stripe.StripeClient) -> None:
    paid = _pay(client, 5_000, "pm_card_createDispute")
    assert paid.status == "succeeded"
    disputes = client.v1.disputes.list({"payment_intent": paid.id}).data
    assert len(disputes) == 1
    dispute = disputes[0]
    assert (dispute.status, dispute.reason, dispute.amount) == ("needs_response", "fraudulent", 5_000)
    assert client.v1.charges.retrieve(str(paid.latest_charge)).disputed is True
    withdrawal = dispute.balance_transactions[0]
    assert (withdrawal.amount, withdrawal.fee, withdrawal.reporting_category) == (-5_000, 1_500, "dispute")

    won = client.v1.disputes.update(dispute.id, {"evidence": {"uncategorized_text": "winning_evidence"}})
    assert won.status == "won" and won.evidence_details.submission_count == 1
    assert [t.reporting_category for t in won.balance_transactions] == ["dispute", "dispute_reversal"]
    types = [e.type for e in client.v1.events.list({"limit": 20}).data]
    assert {
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
    } <= set(types)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(dispute.id)


def test_losing_evidence_loses_staged_evidence_waits_and_close_accepts_the_loss(
    client: stripe.StripeClient,
) -> None:
    first = client.v1.disputes.list({"payment_intent": _pay(client, 4_000, "pm_card_createDispute").id}).data[
        0
    ]
    staged = client.v1.disputes.update(first.id, {"evidence": {"customer_name": "A. Buyer"}, "submit": False})
    assert staged.status == "needs_response" and staged.evidence.customer_name == "A. Buyer"
    lost = client.v1.disputes.update(first.id, {"evidence": {"uncategorized_text": "losing_evidence"}})
    assert lost.status == "lost" and len(lost.balance_transactions) == 1

    second = client.v1.disputes.list(
        {"payment_intent": _pay(client, 3_000, "pm_card_createDisputeProductNotReceived").id}
    ).data[0]
    assert second.reason == "product_not_received"
    assert client.v1.disputes.close(second.id).status == "lost"


def test_an_inquiry_takes_no_funds_and_winning_evidence_closes_it_losing_escalates_it(
    client: stripe.StripeClient,
) -> None:
    def inquiry() -> stripe.Dispute:
        paid = _pay(client, 2_500, "pm_card_createDisputeInquiry")
        return client.v1.disputes.list({"payment_intent": paid.id}).data[0]

    first = inquiry()
    assert (first.status, first.balance_transactions) == ("warning_needs_response", [])
    assert first.payment_method_details is not None and first.payment_method_details.card is not None
    assert first.payment_method_details.card.case_type == "inquiry"
    assert (
        client.v1.balance.retrieve().pending[0].amount == 2_500 - 103
    )  # the charge less its fee, nothing withdrawn
    closed = client.v1.disputes.update(first.id, {"evidence": {"uncategorized_text": "winning_evidence"}})
    assert (closed.status, closed.balance_transactions) == ("warning_closed", [])

    second = inquiry()
    escalated = client.v1.disputes.update(second.id, {"evidence": {"uncategorized_text": "losing_evidence"}})
    assert escalated.status == "needs_response" and len(escalated.balance_transactions) == 1
    assert escalated.balance_transactions[0].amount == -2_500

    third = inquiry()
    assert client.v1.disputes.close(third.id).status == "warning_closed"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(third.id)
