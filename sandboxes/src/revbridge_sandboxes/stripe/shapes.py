"""Builders for Stripe objects in their current (basil and later) shapes, per the official fixtures.

Handlers fill these in; keeping the field lists here keeps the resource modules about behaviour.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os

from .invoice_shapes import (
    invoice,
    invoice_item_line,
    invoice_payment,
    invoiceitem,
    payment_intent,
    subscription_line,
)
from .payment_shapes import charge, refund
from .state import BASE62, Obj, new_id, now

__all__ = [
    "charge",
    "invoice",
    "invoice_item_line",
    "invoice_payment",
    "invoiceitem",
    "payment_intent",
    "refund",
    "subscription_line",
]


# byte -> BASE62[byte % 36].upper(): invoice prefixes are upper-case letters and digits
_PREFIX_OF_BYTE = bytes(ord(BASE62[b % 36].upper()) for b in range(256))


def add_interval(ts: int, interval: str, count: int = 1) -> int:
    """``ts`` plus ``count`` calendar intervals (UTC), clamping month ends like Stripe does."""
    if interval == "day":
        return ts + 86400 * count
    if interval == "week":
        return ts + 7 * 86400 * count
    start = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return int(start.replace(year=year, month=month + 1, day=day).timestamp())


def customer(object_id: str) -> Obj:
    return {
        "id": object_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": now(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": os.urandom(8).translate(_PREFIX_OF_BYTE).decode("ascii"),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def product(object_id: str) -> Obj:
    return {
        "id": object_id,
        "object": "product",
        "active": True,
        "created": now(),
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": "",
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": now(),
        "url": None,
    }


def price(object_id: str) -> Obj:
    return {
        "id": object_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": now(),
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": None,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": None,
        "unit_amount_decimal": None,
    }


def recurring(interval: str, interval_count: int, usage_type: str = "licensed") -> Obj:
    return {
        "interval": interval,
        "interval_count": interval_count,
        "meter": None,
        "trial_period_days": None,
        "usage_type": usage_type,
    }


def subscription_item(
    sub_id: str, price_obj: Obj, quantity: int, metadata: dict[str, str], start: int
) -> Obj:
    rec = price_obj.get("recurring") or {"interval": "month", "interval_count": 1}
    return {
        "id": new_id("si", 14),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": now(),
        "current_period_end": add_interval(start, rec["interval"], rec["interval_count"]),
        "current_period_start": start,
        "discounts": [],
        "metadata": metadata,
        "plan": plan(price_obj),
        "price": dict(price_obj),
        "quantity": quantity,
        "subscription": sub_id,
        "tax_rates": [],
    }


def plan(price_obj: Obj) -> Obj:
    """The legacy ``plan`` view of a recurring price, still present on subscription items."""
    rec = price_obj.get("recurring") or {}
    return {
        "id": price_obj["id"],
        "object": "plan",
        "active": price_obj["active"],
        "amount": price_obj["unit_amount"],
        "amount_decimal": price_obj["unit_amount_decimal"],
        "billing_scheme": price_obj["billing_scheme"],
        "created": price_obj["created"],
        "currency": price_obj["currency"],
        "interval": rec.get("interval", "month"),
        "interval_count": rec.get("interval_count", 1),
        "livemode": False,
        "metadata": dict(price_obj["metadata"]),
        "meter": rec.get("meter"),
        "nickname": price_obj["nickname"],
        "product": price_obj["product"],
        "tiers_mode": price_obj["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": rec.get("trial_period_days"),
        "usage_type": rec.get("usage_type", "licensed"),
    }


def subscription(object_id: str, customer_id: str, currency: str) -> Obj:
    ts = now()
    return {
        "id": object_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": ts,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic"},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": ts,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": {"type": "self"},
        },
        "items": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={object_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "managed_payments": {"enabled": False},
        "metadata": {},
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": ts,
        "status": "incomplete",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }
