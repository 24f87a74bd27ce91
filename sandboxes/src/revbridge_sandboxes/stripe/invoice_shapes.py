"""Builders for invoice-side objects (invoices, lines, payments, charges, refunds, credit notes).

Split from ``shapes.py`` to keep each module short; field lists follow the official fixtures.
"""

from __future__ import annotations

from decimal import Decimal

from .state import Obj, new_id, now


def invoice(object_id: str, cust: Obj, currency: str, collection_method: str) -> Obj:
    ts = now()
    return {
        "id": object_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "revbridge sandbox",
        "account_tax_ids": None,
        "amount_due": 0,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
            "disabled_reason": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": "manual",
        "collection_method": collection_method,
        "created": ts,
        "currency": currency,
        "custom_fields": None,
        "customer": cust["id"],
        "customer_account": None,
        "customer_address": cust.get("address"),
        "customer_email": cust.get("email"),
        "customer_name": cust.get("name"),
        "customer_phone": cust.get("phone"),
        "customer_shipping": cust.get("shipping"),
        "customer_tax_exempt": cust.get("tax_exempt", "none"),
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {"object": "list", "data": [], "has_more": False, "url": f"/v1/invoices/{object_id}/lines"},
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "payments": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/invoice_payments?invoice={object_id}",
        },
        "period_end": ts,
        "period_start": ts,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 0,
        "subtotal_excluding_tax": 0,
        "subscription": None,
        "test_clock": None,
        "total": 0,
        "total_discount_amounts": [],
        "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def subscription_line(inv_id: str, sub: Obj, item: Obj, product_name: str) -> Obj:
    price_obj = item["price"]
    unit = int(price_obj.get("unit_amount") or 0)
    quantity = int(item["quantity"])
    rec = price_obj.get("recurring") or {"interval": "month"}
    unit_text = _money(unit, price_obj["currency"])
    return {
        "id": new_id("il"),
        "object": "line_item",
        "amount": unit * quantity,
        "currency": price_obj["currency"],
        "description": f"{quantity} \u00d7 {product_name} (at {unit_text} / {rec['interval']})",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": inv_id,
        "livemode": False,
        "metadata": dict(sub.get("metadata") or {}),
        "parent": {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": sub["id"],
                "subscription_item": item["id"],
            },
        },
        "period": {"start": item["current_period_start"], "end": item["current_period_end"]},
        "pretax_credit_amounts": [],
        "pricing": {
            "type": "price_details",
            "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
            "unit_amount_decimal": str(unit),
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": sub["id"],
        "subtotal": unit * quantity,
        "taxes": [],
    }


def money_text(amount: Decimal, currency: str) -> str:
    """A decimal amount in minor units as an invoice shows it ($0.02, or $0.005 for fractions of a cent)."""
    major = amount / 100
    shown = f"{major:.2f}" if major == round(major, 2) else format(major.normalize(), "f")
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower())
    return f"{symbol}{shown}" if symbol else f"{shown} {currency.upper()}"


def _money(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower())
    return f"{symbol}{amount / 100:.2f}" if symbol else f"{amount / 100:.2f} {currency.upper()}"


def payment_intent(amount: int, currency: str, customer_id: str | None, description: str | None) -> Obj:
    object_id = new_id("pi")
    return {
        "id": object_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{object_id}_secret_{new_id('x')[2:]}",
        "confirmation_method": "automatic",
        "created": now(),
        "currency": currency,
        "customer": customer_id,
        "description": description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def invoice_payment(inv: Obj, pi_id: str) -> Obj:
    return {
        "id": new_id("inpay"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": inv["amount_remaining"],
        "created": now(),
        "currency": inv["currency"],
        "invoice": inv["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": pi_id},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }


def invoiceitem(customer: Obj, currency: str) -> Obj:
    ts = now()
    return {
        "id": new_id("ii"),
        "object": "invoiceitem",
        "amount": 0,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "date": ts,
        "description": None,
        "discountable": True,
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": {},
        "net_amount": 0,
        "parent": None,
        "period": {"start": ts, "end": ts},
        "pricing": {"type": "price_details", "price_details": None, "unit_amount_decimal": "0"},
        "proration": False,
        "quantity": 1,
        "quantity_decimal": "1",
        "tax_rates": [],
        "test_clock": customer.get("test_clock"),
    }


def invoice_item_line(inv_id: str, ii: Obj) -> Obj:
    sub_id = ((ii.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    return {
        "id": new_id("il"),
        "object": "line_item",
        "amount": ii["amount"],
        "currency": ii["currency"],
        "description": ii["description"],
        "discount_amounts": [],
        "discountable": ii["discountable"],
        "discounts": [],
        "invoice": inv_id,
        "livemode": False,
        "metadata": dict(ii["metadata"]),
        "parent": {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": ii["id"],
                "proration": ii["proration"],
                "proration_details": {"credited_items": None},
                "subscription": sub_id,
            },
            "subscription_item_details": None,
        },
        "period": dict(ii["period"]),
        "pretax_credit_amounts": [],
        "pricing": dict(ii["pricing"]),
        "quantity": ii["quantity"],
        "quantity_decimal": str(ii["quantity"]),
        "subscription": sub_id,
        "subtotal": ii["amount"],
        "taxes": [],
    }
