"""Pure mappings between Stripe's wire shapes and revbridge's canonical models (no I/O).

Invoices follow the "basil" shape (2025-03-31 and later): the subscription and its metadata sit
under ``parent.subscription_details`` and payments are ``invoice_payment`` objects. Stripe amounts
are already integer minor units; timestamps are unix seconds (UTC). Line periods become
inclusive service dates: Stripe's ``end`` is the instant the period ends, so the last service day
is the UTC date one second before it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from revbridge_contracts.events import EventEnvelope, EventType
from revbridge_contracts.models import (
    BillingCustomer,
    BillingCustomerUpsert,
    Invoice,
    InvoiceLine,
    Payment,
    Subscription,
    SubscriptionUpsert,
)

from revbridge_system.adapters.stripe.types import (
    METADATA_CRM_ACCOUNT,
    METADATA_CRM_CONTRACT,
    METADATA_CURRENCY,
    METADATA_PRODUCT_CODE,
    StripeCustomer,
    StripeEvent,
    StripeInvoice,
    StripeInvoicePayment,
    StripeLineItem,
    StripeSubscription,
)

EVENT_TYPES: dict[str, EventType] = {
    "invoice.finalized": EventType.invoice_finalized,
    "invoice.paid": EventType.invoice_paid,
    "invoice.payment_failed": EventType.invoice_payment_failed,
    "invoice.voided": EventType.invoice_voided,
    "invoice.marked_uncollectible": EventType.invoice_marked_uncollectible,
}
WEBHOOK_SOURCE = "stripe.webhook"


def customer_idempotency_key(account: str, crm_account_id: str) -> str:
    return f"revbridge:customer:{account}:{crm_account_id}"


def subscription_idempotency_key(account: str, crm_contract_id: str) -> str:
    return f"revbridge:subscription:{account}:{crm_contract_id}"


def _quote(value: str) -> str:
    """A Stripe search query string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def customer_search_query(crm_account_id: str) -> str:
    return f"metadata[{_quote(METADATA_CRM_ACCOUNT)}]:{_quote(crm_account_id)}"


def _id_of(value: str | dict[str, Any] | None) -> str | None:
    if isinstance(value, dict):
        return str(value["id"]) if value.get("id") else None
    return value


def _datetime(ts: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC) if ts else None


def _date(ts: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date()


# --- events ---------------------------------------------------------------------------------


def to_envelope(
    event: StripeEvent, account: str, trace: dict[str, str], correlation_id: str | None
) -> EventEnvelope | None:
    """The bus notification for a verified webhook event, or None for types revbridge ignores."""
    event_type = EVENT_TYPES.get(event.get("type", ""))
    subject = _id_of(event.get("data", {}).get("object"))
    if event_type is None or not subject:
        return None
    extra = {"correlation_id": correlation_id} if correlation_id else {}
    return EventEnvelope(
        type=event_type,
        source=WEBHOOK_SOURCE,
        subject=subject,
        account=account,
        vendor_event_id=event["id"],
        traceparent=trace.get("traceparent"),
        tracestate=trace.get("tracestate"),
        **extra,
    )


# --- customers ------------------------------------------------------------------------------


def customer_create_params(crm_account_id: str, cmd: BillingCustomerUpsert) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": cmd.name,
        "metadata": {METADATA_CRM_ACCOUNT: crm_account_id, METADATA_CURRENCY: cmd.currency},
    }
    if cmd.email:
        params["email"] = cmd.email
    if cmd.country:
        params["address"] = {"country": cmd.country}
    return params


def crm_account_of(raw: StripeCustomer) -> str | None:
    return (raw.get("metadata") or {}).get(METADATA_CRM_ACCOUNT)


def to_billing_customer(raw: StripeCustomer, *, created: bool) -> BillingCustomer:
    metadata = raw.get("metadata") or {}
    currency = raw.get("currency") or metadata.get(METADATA_CURRENCY)
    return BillingCustomer(
        id=raw["id"],
        crm_account_id=metadata.get(METADATA_CRM_ACCOUNT),
        name=raw.get("name"),
        currency=currency.upper() if currency else None,
        created=created,
    )


# --- subscriptions --------------------------------------------------------------------------


def crm_contract_of(raw: StripeSubscription) -> str | None:
    return (raw.get("metadata") or {}).get(METADATA_CRM_CONTRACT)


def subscription_create_params(
    crm_contract_id: str, cmd: SubscriptionUpsert, price_ids: list[str]
) -> dict[str, Any]:
    """``price_ids[i]`` is the resolved price of ``cmd.items[i]``."""
    return {
        "customer": cmd.customer_id,
        "items": [
            {"price": price, "quantity": item.quantity}
            for price, item in zip(price_ids, cmd.items, strict=True)
        ],
        "collection_method": "send_invoice",
        "days_until_due": cmd.days_until_due,
        "metadata": {METADATA_CRM_CONTRACT: crm_contract_id},
    }


def to_subscription(raw: StripeSubscription, *, created: bool) -> Subscription:
    return Subscription(
        id=raw["id"],
        customer_id=_id_of(raw["customer"]) or "",
        crm_contract_id=crm_contract_of(raw),
        status=raw["status"],
        latest_invoice_id=_id_of(raw.get("latest_invoice")),
        created=created,
    )


# --- invoices -------------------------------------------------------------------------------


def _price_details(line: StripeLineItem) -> dict[str, Any]:
    pricing = line.get("pricing") or {}
    return pricing.get("price_details") or {}


def line_product_ids(raw: StripeInvoice) -> set[str]:
    """Products whose codes ``to_invoice`` needs (looked up by the client)."""
    out = set()
    for line in raw.get("lines", {}).get("data", []):
        product = _id_of(_price_details(line).get("product"))
        if product:
            out.add(product)
    return out


def product_code_of(product: dict[str, Any]) -> str | None:
    return (product.get("metadata") or {}).get(METADATA_PRODUCT_CODE)


def to_invoice_line(line: StripeLineItem, product_codes: dict[str, str | None]) -> InvoiceLine:
    period = line["period"]
    end = period["end"] - 1 if period["end"] > period["start"] else period["end"]
    product = _id_of(_price_details(line).get("product"))
    return InvoiceLine(
        id=line["id"],
        product_code=product_codes.get(product) if product else None,
        description=line.get("description"),
        quantity=line.get("quantity") or 1,
        amount=line["amount"],
        period_start=_date(period["start"]),
        period_end=_date(end),
    )


def to_payment(raw: StripeInvoicePayment, invoice_id: str, currency: str) -> Payment:
    payment = raw.get("payment") or {}
    intent = _id_of(payment.get(payment.get("type") or "payment_intent"))
    paid_at = (raw.get("status_transitions") or {}).get("paid_at")
    return Payment(
        id=intent or raw["id"],
        invoice_id=invoice_id,
        amount=raw.get("amount_paid") or 0,
        currency=(raw.get("currency") or currency).upper(),
        paid_at=_datetime(paid_at),
        status=raw.get("status") or "unknown",
    )


def to_invoice(raw: StripeInvoice, product_codes: dict[str, str | None] | None = None) -> Invoice:
    codes = product_codes or {}
    details = (raw.get("parent") or {}).get("subscription_details") or {}
    currency = raw["currency"].upper()
    transitions = raw.get("status_transitions") or {}
    due = raw.get("due_date")
    return Invoice(
        id=raw["id"],
        number=raw.get("number"),
        customer_id=_id_of(raw["customer"]) or "",
        subscription_id=_id_of(details.get("subscription")),
        crm_contract_id=(details.get("metadata") or {}).get(METADATA_CRM_CONTRACT),
        status=raw["status"],
        currency=currency,
        total=raw["total"],
        amount_paid=raw["amount_paid"],
        amount_due=raw["amount_due"],
        issued_at=_datetime(transitions.get("finalized_at") or raw.get("effective_at")),
        due_date=_date(due) if due else None,
        lines=[to_invoice_line(line, codes) for line in raw.get("lines", {}).get("data", [])],
        payments=[to_payment(p, raw["id"], currency) for p in raw.get("payments", {}).get("data", [])],
    )
