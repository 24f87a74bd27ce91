"""Builders for payment-side objects: charges (one per payment attempt) and refunds.

Split from ``invoice_shapes.py`` to keep modules short; field lists follow the official fixtures.
"""

from __future__ import annotations

from .cards import CARDS, TestCard, charge_card_details, no_billing_details
from .state import Obj, new_id, now


def charge(pi: Obj, pm: str, failure: Obj | None, card: TestCard | None = None) -> Obj:
    """The charge a payment attempt makes: ``succeeded`` (captured) or ``failed`` with the decline."""
    object_id = new_id("ch")
    card = card or CARDS.get(pm) or CARDS["pm_card_visa"]
    return {
        "id": object_id,
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": 0 if failure else pi["amount"],
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None if failure else new_id("txn"),
        "billing_details": no_billing_details(),
        "calculated_statement_descriptor": "REVBRIDGE SANDBOX",
        "captured": failure is None,
        "created": now(),
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure.get("code") if failure else None,
        "failure_message": failure.get("message") if failure else None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "declined_by_network" if failure else "approved_by_network",
            "reason": failure.get("decline_code") if failure else None,
            "seller_message": "The bank did not return any further details with this decline."
            if failure
            else "Payment complete.",
            "type": "issuer_declined" if failure else "authorized",
        },
        "paid": failure is None,
        "payment_intent": pi["id"],
        "payment_method": pm,
        "payment_method_details": {"card": charge_card_details(card, int(pi["amount"])), "type": "card"},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{object_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "failed" if failure else "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def refund(ch: Obj, amount: int, reason: str | None) -> Obj:
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": ch["id"],
        "created": now(),
        "currency": ch["currency"],
        "customer": ch["customer"],
        "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": {},
        "payment_intent": ch["payment_intent"],
        "payment_method": ch["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
