"""Disputes opened by Stripe's dispute test cards, and their test-mode outcomes.

A charge paid with ``pm_card_createDispute`` (reason ``fraudulent``) or
``pm_card_createDisputeProductNotReceived`` succeeds and is disputed at once: the dispute is
``needs_response``, the amount and the dispute fee are withdrawn (an ``adjustment`` balance
transaction) and ``charge.dispute.created`` / ``charge.dispute.funds_withdrawn`` are sent.
Submitting evidence whose ``uncategorized_text`` is ``winning_evidence`` wins it (funds and fee
reinstated), ``losing_evidence`` loses it, as Stripe's test mode does; Stripe decides these
after a few minutes, the sandbox at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import money
from .cards import TestCard
from .state import Obj, new_id, now, snapshot

if TYPE_CHECKING:
    from .deps import Ctx

EVIDENCE_FIELDS = [
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
]
RESPONSE_WINDOW = 7 * 86400  # guess: evidence due a week after the dispute opens


def open_if_disputed(ctx: Ctx, charge: Obj, card: TestCard | None) -> None:
    """Dispute a charge just made with a dispute test card."""
    if card is None or card.dispute is None:
        return
    ts = now()
    amount = int(charge["amount_captured"])
    dispute: Obj = {
        "id": new_id("dp"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [
            money.transaction(
                new_id("txn"),
                -amount,
                charge["currency"],
                ts,
                "adjustment",
                "dispute",
                "",
                fee=money.DISPUTE_FEE,
                fee_type="stripe_fee",
                description=f"Chargeback withdrawal for {charge['id']}",
            )
        ],
        "charge": charge["id"],
        "created": ts,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {**dict.fromkeys(EVIDENCE_FIELDS), "appeal": None, "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": ts + RESPONSE_WINDOW,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card.brand,
                "case_type": "chargeback",
                "network": card.brand,
                "network_reason_code": None,
            },
            "type": "card",
        },
        "reason": card.dispute,
        "status": "needs_response",
    }
    dispute["balance_transactions"][0]["source"] = dispute["id"]
    ctx.account.put(dispute)
    charge["disputed"] = True
    ctx.emit("charge.dispute.created", dispute)
    ctx.emit("charge.dispute.funds_withdrawn", dispute)


def close(ctx: Ctx, dispute: Obj, won: bool) -> None:
    before = snapshot(dispute)
    dispute["status"] = "won" if won else "lost"
    if won:
        amount = int(dispute["amount"])
        dispute["balance_transactions"].append(
            money.transaction(
                new_id("txn"),
                amount,
                dispute["currency"],
                now(),
                "adjustment",
                "dispute_reversal",
                dispute["id"],
                fee=-money.DISPUTE_FEE,
                description=f"Chargeback reversal for {dispute['charge']}",
            )
        )
        ctx.emit("charge.dispute.funds_reinstated", dispute)
    ctx.emit_update("charge.dispute.updated", before, dispute)
    ctx.emit("charge.dispute.closed", dispute)
