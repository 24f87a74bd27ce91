"""Disputes opened by Stripe's dispute test cards, and their test-mode outcomes.

A charge paid with ``pm_card_createDispute`` (reason ``fraudulent``) or
``pm_card_createDisputeProductNotReceived`` succeeds and is disputed at once: the dispute is
``needs_response``, the amount and the dispute fee are withdrawn (an ``adjustment`` balance
transaction) and ``charge.dispute.created`` / ``charge.dispute.funds_withdrawn`` are sent.
``pm_card_createDisputeInquiry`` opens an inquiry instead (``warning_needs_response``, no funds
taken): winning evidence or closing it ends it as ``warning_closed``; losing evidence escalates it.
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


def _withdrawal(dispute: Obj) -> Obj:
    """The ``adjustment`` taking the disputed amount and the dispute fee from the balance."""
    return money.transaction(
        new_id("txn"),
        -int(dispute["amount"]),
        dispute["currency"],
        now(),
        "adjustment",
        "dispute",
        dispute["id"],
        fee=money.DISPUTE_FEE,
        fee_type="stripe_fee",
        description=f"Chargeback withdrawal for {dispute['charge']}",
    )


def open_if_disputed(ctx: Ctx, charge: Obj, card: TestCard | None) -> None:
    """Dispute a charge just made with a dispute test card: a chargeback, or an inquiry (which
    takes no funds until it escalates)."""
    if card is None or card.dispute is None:
        return
    ts = now()
    amount = int(charge["amount_captured"])
    dispute: Obj = {
        "id": new_id("dp"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
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
                "case_type": "inquiry" if card.inquiry else "chargeback",
                "network": card.brand,
                "network_reason_code": None,
            },
            "type": "card",
        },
        "reason": card.dispute,
        "status": "warning_needs_response" if card.inquiry else "needs_response",
    }
    ctx.account.put(dispute)
    charge["disputed"] = True
    ctx.emit("charge.dispute.created", dispute)
    if not card.inquiry:
        dispute["balance_transactions"].append(_withdrawal(dispute))
        ctx.emit("charge.dispute.funds_withdrawn", dispute)


def is_inquiry(dispute: Obj) -> bool:
    return str(dispute["status"]).startswith("warning_")


def escalate(ctx: Ctx, dispute: Obj) -> None:
    """An inquiry lost becomes a chargeback needing a response, and the funds are withdrawn
    (guess: Stripe's test mode escalates an inquiry given ``losing_evidence`` this way)."""
    before = snapshot(dispute)
    dispute["status"] = "needs_response"
    dispute["payment_method_details"]["card"]["case_type"] = "chargeback"
    dispute["balance_transactions"].append(_withdrawal(dispute))
    ctx.emit_update("charge.dispute.updated", before, dispute)
    ctx.emit("charge.dispute.funds_withdrawn", dispute)


def close(ctx: Ctx, dispute: Obj, won: bool) -> None:
    """Decide the dispute; an inquiry closes as ``warning_closed`` whoever closes it."""
    before = snapshot(dispute)
    if is_inquiry(dispute):
        dispute["status"] = "warning_closed"
        ctx.emit_update("charge.dispute.updated", before, dispute)
        ctx.emit("charge.dispute.closed", dispute)
        return
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
