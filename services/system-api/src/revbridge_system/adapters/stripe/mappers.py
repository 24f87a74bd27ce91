"""Pure mappings between Stripe's wire shapes and revbridge's canonical models (no I/O).

Invoices follow the "basil" shape (2025-03-31 and later): the subscription and its metadata sit
under ``parent.subscription_details`` and payments are ``invoice_payment`` objects. Stripe amounts
are already integer minor units; timestamps are unix seconds (UTC). Line periods become
inclusive service dates: Stripe's ``end`` is the instant the period ends, so the last service day
is the UTC date one second before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

from revbridge_contracts.events import EventEnvelope, EventType
from revbridge_contracts.models import (
    BillingCustomer,
    BillingCustomerUpsert,
    BillingEvent,
    CreditNote,
    CreditNoteLine,
    Dispute,
    Invoice,
    InvoiceLine,
    Payment,
    Refund,
    Subscription,
    SubscriptionItem,
    SubscriptionUpsert,
)

from revbridge_system.adapters.stripe.types import (
    METADATA_CRM_ACCOUNT,
    METADATA_CRM_CONTRACT,
    METADATA_CURRENCY,
    METADATA_PRODUCT_CODE,
    METADATA_REVISION,
    METADATA_TERM_END,
    StripeCreditNote,
    StripeCustomer,
    StripeDispute,
    StripeEvent,
    StripeInvoice,
    StripeInvoicePayment,
    StripeLineItem,
    StripeRefund,
    StripeSubscription,
)

EVENT_TYPES: dict[str, EventType] = {
    "invoice.finalized": EventType.invoice_finalized,
    "invoice.paid": EventType.invoice_paid,
    "invoice.payment_failed": EventType.invoice_payment_failed,
    "invoice.voided": EventType.invoice_voided,
    "invoice.marked_uncollectible": EventType.invoice_marked_uncollectible,
    "credit_note.created": EventType.credit_note_created,
    "charge.refunded": EventType.charge_refunded,
    "charge.dispute.created": EventType.dispute_created,
    "charge.dispute.closed": EventType.dispute_closed,
}
WEBHOOK_SOURCE = "stripe.webhook"


def plain(obj: Any) -> Any:
    """An SDK object as the plain dicts of its wire shape."""
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def customer_idempotency_key(account: str, crm_account_id: str) -> str:
    return f"revbridge:customer:{account}:{crm_account_id}"


def subscription_idempotency_key(account: str, crm_contract_id: str) -> str:
    return f"revbridge:subscription:{account}:{crm_contract_id}"


def subscription_update_idempotency_key(account: str, crm_contract_id: str, cmd: SubscriptionUpsert) -> str:
    """One key per contract version and target: a retry of the same amendment replays; a later version,
    or other terms under the same version, is a new update."""
    version = f"{cmd.revision or '-'}:{terms_digest(cmd)}"
    return f"revbridge:subscription-update:{account}:{crm_contract_id}:{version}"


def terms_digest(cmd: SubscriptionUpsert) -> str:
    """A short digest of what the command asks for (items and term end)."""
    wanted = ",".join(f"{i.billing_price_ref}={i.quantity}" for i in sorted(cmd.items, key=_ref))
    return hashlib.sha1(f"{wanted};{cmd.term_end}".encode()).hexdigest()[:16]


def _ref(item: SubscriptionItem) -> str:
    return item.billing_price_ref


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
        test_clock=_id_of(raw.get("test_clock")),
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
        "metadata": {METADATA_CRM_CONTRACT: crm_contract_id, **version_metadata(cmd)},
    }


def version_metadata(cmd: SubscriptionUpsert) -> dict[str, str]:
    """The contract version and term end the subscription implements, kept in its metadata."""
    meta: dict[str, str] = {}
    if cmd.revision:
        meta[METADATA_REVISION] = cmd.revision
    if cmd.term_end:
        meta[METADATA_TERM_END] = cmd.term_end.isoformat()
    return meta


def _price_key(item: dict[str, Any]) -> str | None:
    price = item.get("price") or {}
    return price.get("lookup_key") if isinstance(price, dict) else None


def subscription_items(raw: StripeSubscription) -> list[SubscriptionItem]:
    """The subscription's items as canonical items (price lookup key and quantity)."""
    out = []
    for item in (raw.get("items") or {}).get("data", []):
        key = _price_key(item)
        if key and int(item.get("quantity") or 0) >= 1:
            out.append(SubscriptionItem(billing_price_ref=key, quantity=int(item["quantity"])))
    return out


def _wanted(cmd: SubscriptionUpsert) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for item in cmd.items:
        wanted[item.billing_price_ref] = wanted.get(item.billing_price_ref, 0) + item.quantity
    return wanted


def missing_price_refs(raw: StripeSubscription, cmd: SubscriptionUpsert) -> list[str]:
    """Prices the command adds to the subscription (to be resolved to price ids)."""
    have = {_price_key(i) for i in (raw.get("items") or {}).get("data", [])}
    return [ref for ref in _wanted(cmd) if ref not in have]


def subscription_update_params(
    raw: StripeSubscription, cmd: SubscriptionUpsert, new_price_ids: dict[str, str]
) -> dict[str, Any] | None:
    """The update that makes ``raw`` match ``cmd`` (items and version metadata), or None when it does.

    Items whose price the command keeps change quantity; items it drops are deleted; new prices
    are added (``new_price_ids`` maps their lookup key to the price id). Prorated as the command says.
    """
    wanted = _wanted(cmd)
    items: list[dict[str, Any]] = []
    for item in (raw.get("items") or {}).get("data", []):
        key = _price_key(item)
        if key not in wanted:
            items.append({"id": item["id"], "deleted": True})
        elif int(item.get("quantity") or 0) != wanted[key]:
            items.append({"id": item["id"], "quantity": wanted[key]})
    items += [{"price": new_price_ids[ref], "quantity": wanted[ref]} for ref in missing_price_refs(raw, cmd)]
    term_end = cmd.term_end.isoformat() if cmd.term_end else None
    renewed = term_end is not None and (raw.get("metadata") or {}).get(METADATA_TERM_END) != term_end
    if not items and not renewed:
        return None  # a new version stamp alone (e.g. the CRM write-back) changes nothing billed
    params: dict[str, Any] = {"metadata": version_metadata(cmd)}
    if items:
        params["items"] = items
        params["proration_behavior"] = cmd.proration_behavior
    return params


def to_subscription(raw: StripeSubscription, *, created: bool, updated: bool = False) -> Subscription:
    return Subscription(
        id=raw["id"],
        customer_id=_id_of(raw["customer"]) or "",
        crm_contract_id=crm_contract_of(raw),
        status=raw["status"],
        latest_invoice_id=_id_of(raw.get("latest_invoice")),
        created=created,
        updated=updated,
        revision=(raw.get("metadata") or {}).get(METADATA_REVISION),
        items=subscription_items(raw),
        currency=str(raw["currency"]).upper() if raw.get("currency") else None,
        ended_at=_datetime(raw.get("ended_at")),
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
    remaining = raw.get("amount_remaining")
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
        amount_remaining=remaining if isinstance(remaining, int) else None,
        attempt_count=raw.get("attempt_count") or 0,
        next_payment_attempt=_datetime(raw.get("next_payment_attempt")),
        voided_at=_datetime(transitions.get("voided_at")),
        marked_uncollectible_at=_datetime(transitions.get("marked_uncollectible_at")),
    )


# --- credit notes and refunds ---------------------------------------------------------------


def to_credit_note(raw: StripeCreditNote) -> CreditNote:
    lines = [
        CreditNoteLine(
            id=line["id"],
            invoice_line_id=line.get("invoice_line_item"),
            description=line.get("description"),
            quantity=line.get("quantity") or 1,
            amount=int(line.get("amount") or 0),
        )
        for line in (raw.get("lines") or {}).get("data", [])
    ]
    return CreditNote(
        id=raw["id"],
        number=raw.get("number"),
        invoice_id=_id_of(raw["invoice"]) or "",
        customer_id=_id_of(raw["customer"]) or "",
        status=raw["status"],
        currency=raw["currency"].upper(),
        total=raw["total"],
        pre_payment_amount=raw.get("pre_payment_amount") or 0,
        post_payment_amount=raw.get("post_payment_amount") or 0,
        refund_ids=[_id_of(r.get("refund")) or "" for r in raw.get("refunds") or [] if r.get("refund")],
        issued_at=_datetime(raw.get("effective_at") or raw.get("created")),
        memo=raw.get("memo"),
        lines=lines,
    )


def refunded_by_note(notes: list[StripeCreditNote]) -> dict[str, str]:
    """Refund id -> the credit note that made it (a post-payment note with a refund amount)."""
    out: dict[str, str] = {}
    for note in notes:
        for entry in note.get("refunds") or []:
            refund = _id_of(entry.get("refund"))
            if refund:
                out[refund] = note["id"]
    return out


def to_refund(raw: StripeRefund, invoice_id: str | None, credit_note_id: str | None) -> Refund:
    return Refund(
        id=raw["id"],
        charge_id=_id_of(raw.get("charge")) or "",
        payment_id=_id_of(raw.get("payment_intent")),
        invoice_id=invoice_id,
        credit_note_id=credit_note_id,
        amount=raw["amount"],
        currency=raw["currency"].upper(),
        status=raw.get("status") or "unknown",
        created_at=_datetime(raw.get("created")),
    )


def to_dispute(raw: StripeDispute, invoice_id: str | None) -> Dispute:
    return Dispute(
        id=raw["id"],
        charge_id=_id_of(raw.get("charge")) or "",
        payment_id=_id_of(raw.get("payment_intent")),
        invoice_id=invoice_id,
        amount=raw["amount"],
        currency=raw["currency"].upper(),
        status=raw.get("status") or "unknown",
        reason=raw.get("reason"),
        created_at=_datetime(raw.get("created")),
    )


# --- the events API (replay by time range) ---------------------------------------------------


def event_list_params(
    since: dt.datetime | None, until: dt.datetime | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """``GET /v1/events`` for the event types revbridge handles, created in [since, until] (Stripe
    counts in whole seconds: the window is widened to them, never narrowed)."""
    params: dict[str, Any] = {"limit": limit, "types": sorted(EVENT_TYPES)}
    bounds = (("gte", since, math.floor), ("lte", until, math.ceil))
    created = {k: rnd(_aware(v).timestamp()) for k, v, rnd in bounds if v is not None}
    if created:
        params["created"] = created
    if cursor:
        params["starting_after"] = cursor
    return params


def _aware(value: dt.datetime) -> dt.datetime:
    """A time without a zone is UTC (never the host's local time)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def to_billing_event(event: StripeEvent, account: str) -> BillingEvent | None:
    """An event as the notification the webhook of the same event would have published."""
    envelope = to_envelope(event, account, {}, None)
    created = event.get("created")
    if envelope is None or not isinstance(created, int):
        return None
    return BillingEvent(
        id=event["id"],
        type=envelope.type.value,
        subject=envelope.subject,
        account=account,
        occurred_at=dt.datetime.fromtimestamp(created, dt.UTC),
    )
