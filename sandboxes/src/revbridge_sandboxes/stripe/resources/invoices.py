"""``/v1/invoices`` (state transitions and lines), ``/v1/invoice_payments``, ``/v1/payment_intents``."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Response

from .. import billing, clocks, forms, shapes, subscription_ops
from ..deps import ApiCtx, Ctx
from ..errors import StripeError, bad_state, invalid, missing, unsupported_parameter
from ..listing import created_filter, equal_filter, paginate, search
from ..state import Obj, frozen_at, snapshot
from . import subscriptions

router = APIRouter()

STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def _invoice(ctx: Ctx, invoice_id: str) -> Obj:
    return ctx.account.require("invoice", invoice_id, "invoice", "invoice")


def _subscription_of(inv: Obj) -> str | None:
    details = (inv.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


@router.get("/v1/invoices")
async def list_invoices(ctx: ApiCtx) -> Response:
    p = ctx.params
    items = ctx.account.newest_first("invoice")
    items = equal_filter(p, items, ("customer", "status", "collection_method"))
    sub_id = forms.as_str(p, "subscription")
    if sub_id:
        items = [i for i in items if _subscription_of(i) == sub_id]
    return ctx.render(paginate(created_filter(p, items), p, "/v1/invoices"))


@router.get("/v1/invoices/search")
async def search_invoices(ctx: ApiCtx) -> Response:
    return ctx.render(search(ctx.account.newest_first("invoice"), ctx.params, "/v1/invoices/search"))


@router.get("/v1/invoices/{invoice_id}")
async def retrieve_invoice(invoice_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_invoice(ctx, invoice_id))


@router.post("/v1/invoices/create_preview")
async def create_preview(ctx: ApiCtx) -> Response:
    """The next invoice of a subscription, or of a customer's pending invoice items; nothing is stored."""
    p = ctx.params  # schedules and invoice_items (proposed) are refused in params.NOT_MODELLED_AT
    mode = forms.as_str(p, "preview_mode") or "next"
    if mode not in ("next", "recurring"):
        raise invalid("preview_mode", f"Invalid preview_mode: must be one of next or recurring, not {mode!r}")
    sub_id, customer_id = forms.as_str(p, "subscription"), forms.as_str(p, "customer")
    if not sub_id and not customer_id:
        raise missing("customer")
    details = _subscription_details(p)
    async with ctx.account.lock:
        if sub_id:
            sub = ctx.account.reference("subscription", sub_id, "subscription", "subscription")
            if customer_id and customer_id != sub["customer"]:
                raise invalid(
                    "customer", f"The subscription {sub_id} does not belong to customer {customer_id}."
                )
            with frozen_at(clocks.clock_time(ctx.account, sub["customer"])):
                return ctx.render(_preview_subscription(ctx, sub, details))
        customer = ctx.account.reference("customer", customer_id or "", "customer", "customer")
        if details is not None:
            with frozen_at(clocks.clock_time(ctx.account, customer["id"])):
                return ctx.render(_preview_new_subscription(ctx, customer, details))
        currency = forms.as_str(p, "currency") or customer.get("currency") or "usd"
        inv = billing.preview_customer_invoice(ctx, customer, currency)
        if inv is None:
            raise _nothing_upcoming(customer["id"])
        return ctx.render(inv)


DETAILS_MODELLED = frozenset(("items", "proration_behavior", "proration_date"))


def _subscription_details(p: dict[str, Any]) -> dict[str, Any] | None:
    """``subscription_details``: the proposed items and how they prorate; the rest of it (trials,
    anchors, cancellation) is refused by name rather than ignored."""
    details = forms.as_object(p, "subscription_details")
    if details is None:
        return None
    for name in sorted(details):
        if name not in DETAILS_MODELLED and details[name] not in ("", [], {}):
            raise unsupported_parameter(f"subscription_details[{name}]")
    subscription_ops.proration_behavior(details)  # refuses a bad value before anything is built
    return details


def _preview_subscription(ctx: Ctx, sub: Obj, details: dict[str, Any] | None) -> Obj:
    """The next invoice of ``sub``, or of ``sub`` changed as ``details`` propose: with
    ``create_prorations`` the renewal at the new prices plus the prorations, with ``always_invoice``
    the invoice of the prorations alone, billed at once."""
    proposed, prorations = copy.deepcopy(sub), []
    if details is not None:
        subscriptions.update_items(
            ctx, proposed, forms.as_list(details, "items"), "subscription_details[items]", store=False
        )
        behavior = subscription_ops.proration_behavior(details)
        ts = forms.as_int(details, "proration_date") or shapes.now()
        if behavior != "none" and sub["status"] in clocks.RENEWING:
            prorations = subscription_ops.prorate(ctx, proposed, sub["items"]["data"], ts, store=False)
        if behavior == "always_invoice":
            return billing.preview_update_invoice(ctx, proposed, prorations, ts)
    boundary = clocks.period_end(proposed) if proposed["items"]["data"] else None
    if boundary is None or sub["status"] not in clocks.RENEWING or clocks.will_end(sub, boundary):
        raise _nothing_upcoming(sub["customer"])
    start = min(int(i["current_period_start"]) for i in proposed["items"]["data"])
    usage = billing.metered_usage(ctx, sub)
    clocks.advance_periods(proposed, boundary)
    return billing.preview_subscription_invoice(ctx, proposed, usage, (start, boundary), prorations)


def _preview_new_subscription(ctx: Ctx, customer: Obj, details: dict[str, Any]) -> Obj:
    """The first invoice of a subscription ``details`` describe for ``customer``, none created."""
    specs = forms.as_list(details, "items")
    if not specs:
        raise missing("subscription_details[items]")
    first = specs[0] if isinstance(specs[0], dict) else {}
    price = subscriptions.recurring_price(ctx, first.get("price"), "subscription_details[items][0][price]")
    sub = shapes.subscription(shapes.new_id("sub"), customer["id"], price["currency"])
    subscriptions.update_items(ctx, sub, specs, "subscription_details[items]", store=False)
    return billing.preview_new_subscription_invoice(ctx, sub)


def _nothing_upcoming(customer_id: str) -> StripeError:
    return StripeError(400, f"No upcoming invoices for customer: {customer_id}", code="invoice_upcoming_none")


@router.post("/v1/invoices/{invoice_id}")
async def update_invoice(invoice_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        inv = _invoice(ctx, invoice_id)
        before = snapshot(inv)
        editable = set(ctx.params) - {"metadata", "expand"}
        if editable and inv["status"] != "draft":
            raise bad_state("You can only update metadata on a finalized invoice.")
        for name in ("description", "footer"):
            if name in ctx.params:
                inv[name] = ctx.params[name] or None
        if "auto_advance" in ctx.params:
            inv["auto_advance"] = forms.as_bool(ctx.params, "auto_advance")
        inv["metadata"] = forms.merge_metadata(inv["metadata"], ctx.params.get("metadata"))
        ctx.emit_update("invoice.updated", before, inv)
    return ctx.render(inv)


@router.get("/v1/invoices/{invoice_id}/lines")
async def list_invoice_lines(invoice_id: str, ctx: ApiCtx) -> Response:
    lines = _invoice(ctx, invoice_id)["lines"]["data"]
    return ctx.render(paginate(lines, ctx.params, f"/v1/invoices/{invoice_id}/lines"))


@router.post("/v1/invoices/{invoice_id}/finalize")
async def finalize_invoice(invoice_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        inv = _invoice(ctx, invoice_id)
        if "auto_advance" in ctx.params:
            inv["auto_advance"] = forms.as_bool(ctx.params, "auto_advance")
        billing.finalize(ctx, inv)
    return ctx.render(inv)


@router.post("/v1/invoices/{invoice_id}/pay")
async def pay_invoice(invoice_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        inv = _invoice(ctx, invoice_id)
        out_of_band = bool(forms.as_bool(ctx.params, "paid_out_of_band", False))
        billing.pay(ctx, inv, forms.as_str(ctx.params, "payment_method"), out_of_band)
    return ctx.render(inv)


@router.post("/v1/invoices/{invoice_id}/void")
async def void_invoice(invoice_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        inv = _invoice(ctx, invoice_id)
        billing.void(ctx, inv)
    return ctx.render(inv)


@router.post("/v1/invoices/{invoice_id}/mark_uncollectible")
async def mark_invoice_uncollectible(invoice_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        inv = _invoice(ctx, invoice_id)
        billing.mark_uncollectible(ctx, inv)
    return ctx.render(inv)


@router.get("/v1/invoice_payments")
async def list_invoice_payments(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("invoice_payment")
    invoice_id = forms.as_str(ctx.params, "invoice")
    url = "/v1/invoice_payments"
    if invoice_id:
        items = [i for i in items if i["invoice"] == invoice_id]
        url = f"/v1/invoice_payments?invoice={invoice_id}"
    payment = ctx.params.get("payment")
    if isinstance(payment, dict) and payment.get("payment_intent"):
        # payment[type]=payment_intent&payment[payment_intent]=pi_...: which invoice a payment paid
        intent = str(payment["payment_intent"])
        items = [i for i in items if (i.get("payment") or {}).get("payment_intent") == intent]
    status = forms.as_str(ctx.params, "status")
    if status:
        items = [i for i in items if i["status"] == status]
    return ctx.render(paginate(items, ctx.params, url))


@router.get("/v1/invoice_payments/{payment_id}")
async def retrieve_invoice_payment(payment_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(ctx.account.require("invoice_payment", payment_id, "invoice payment"))


@router.get("/v1/payment_intents/{intent_id}")
async def retrieve_payment_intent(intent_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(ctx.account.require("payment_intent", intent_id, "payment_intent", "intent"))


@router.get("/v1/payment_intents")
async def list_payment_intents(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("payment_intent")
    customer = forms.as_str(ctx.params, "customer")
    if customer:
        items = [i for i in items if i["customer"] == customer]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/payment_intents"))
