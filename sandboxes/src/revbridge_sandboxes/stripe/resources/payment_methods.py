"""``/v1/payment_methods``: cards made from Stripe's test cards, attached to and detached from customers.

Attaching a magic test id (``pm_card_visa``, ``pm_card_chargeDeclined``, ...) makes a new
``pm_...`` of that card, as Stripe does, so the flow in Stripe's docs (attach, then set
``invoice_settings[default_payment_method]``) works and later charges behave as the card says.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import cards, forms
from ..deps import ApiCtx, Ctx
from ..errors import StripeError, invalid, missing, not_found
from ..listing import paginate
from ..state import Obj, snapshot

router = APIRouter()
KIND = "payment_method"
RAW_NUMBERS = (
    "Sending credit card numbers directly to the Stripe API is generally unsafe. To continue "
    "processing use Stripe.js, the Stripe mobile bindings, or Stripe Elements. For testing, use "
    "one of the test tokens or payment methods: https://docs.stripe.com/testing."
)


def _get(ctx: Ctx, pm_id: str, param: str = "payment_method") -> Obj:
    """A stored ``pm_...``; a magic test id retrieves as a card of its own (not stored)."""
    stored = ctx.account.get(KIND, pm_id)
    if stored is not None:
        return stored
    card = cards.CARDS.get(pm_id)
    if card is None:
        raise not_found("PaymentMethod", pm_id, param)
    return cards.payment_method(card, pm_id)


def _apply(ctx: Ctx, pm: Obj) -> None:
    details = forms.as_object(ctx.params, "billing_details")
    if details:
        for name in ("email", "name", "phone"):
            if name in details:
                pm["billing_details"][name] = details[name] or None
        if isinstance(details.get("address"), dict):
            pm["billing_details"]["address"].update(details["address"])
    pm["metadata"] = forms.merge_metadata(pm["metadata"], ctx.params.get("metadata"))


@router.post("/v1/payment_methods")
async def create_payment_method(ctx: ApiCtx) -> Response:
    kind = forms.as_str(ctx.params, "type", required=True)
    if kind != "card":
        raise invalid("type", f"The payment method type {kind!r} is not supported by this sandbox.")
    spec = forms.as_object(ctx.params, "card") or {}
    if "number" in spec:
        raise StripeError(402, RAW_NUMBERS, type="card_error", code="card_declined")  # Stripe's default
    token = str(spec.get("token") or "")
    if not token:
        raise missing("card[token]")
    magic = "pm_card_" + token.removeprefix("tok_")
    card = cards.CARDS.get(magic)
    if card is None:
        raise StripeError(400, f"No such token: '{token}'", code="resource_missing", param="card[token]")
    async with ctx.account.lock:
        pm = cards.payment_method(card)
        _apply(ctx, pm)
        ctx.account.put(pm)
        ctx.account.card_of[pm["id"]] = magic
    return ctx.render(pm)


@router.get("/v1/payment_methods")
async def list_payment_methods(ctx: ApiCtx) -> Response:
    customer = forms.as_str(ctx.params, "customer")
    kind = forms.as_str(ctx.params, "type")
    items = [
        pm
        for pm in ctx.account.newest_first(KIND)
        if (customer is None or pm["customer"] == customer) and (kind is None or pm["type"] == kind)
    ]
    return ctx.render(paginate(items, ctx.params, "/v1/payment_methods"))


@router.get("/v1/customers/{customer_id}/payment_methods")
async def list_customer_payment_methods(customer_id: str, ctx: ApiCtx) -> Response:
    ctx.account.require("customer", customer_id, "customer")
    items = [pm for pm in ctx.account.newest_first(KIND) if pm["customer"] == customer_id]
    return ctx.render(paginate(items, ctx.params, f"/v1/customers/{customer_id}/payment_methods"))


@router.get("/v1/customers/{customer_id}/payment_methods/{pm_id}")
async def retrieve_customer_payment_method(customer_id: str, pm_id: str, ctx: ApiCtx) -> Response:
    ctx.account.require("customer", customer_id, "customer")
    pm = ctx.account.get(KIND, pm_id)
    if pm is None or pm["customer"] != customer_id:
        raise not_found("PaymentMethod", pm_id, "payment_method")
    return ctx.render(pm)


@router.get("/v1/payment_methods/{pm_id}")
async def retrieve_payment_method(pm_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_get(ctx, pm_id))


@router.post("/v1/payment_methods/{pm_id}")
async def update_payment_method(pm_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        pm = ctx.account.require(KIND, pm_id, "PaymentMethod", "payment_method")
        before = snapshot(pm)
        _apply(ctx, pm)
        ctx.emit_update("payment_method.updated", before, pm)
    return ctx.render(pm)


def attach(ctx: Ctx, pm_id: str, customer: Obj) -> Obj:
    """Attach ``pm_id`` to ``customer`` (a magic test id makes a card of the customer's own)."""
    pm = _get(ctx, pm_id)
    if pm_id in cards.CARDS:
        pm = cards.payment_method(cards.CARDS[pm_id])
        ctx.account.put(pm)
        ctx.account.card_of[pm["id"]] = pm_id
    elif pm["customer"] not in (None, customer["id"]):
        raise invalid(
            "payment_method",
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
        )
    pm["customer"] = customer["id"]
    ctx.emit("payment_method.attached", pm)
    return pm


@router.post("/v1/payment_methods/{pm_id}/attach")
async def attach_payment_method(pm_id: str, ctx: ApiCtx) -> Response:
    customer_id = forms.as_str(ctx.params, "customer", required=True)
    async with ctx.account.lock:
        customer = ctx.account.reference("customer", customer_id, "customer", "customer")
        pm = attach(ctx, pm_id, customer)
    return ctx.render(pm)


@router.post("/v1/payment_methods/{pm_id}/detach")
async def detach_payment_method(pm_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        pm = ctx.account.require(KIND, pm_id, "PaymentMethod", "payment_method")
        if pm["customer"] is None:
            raise invalid(
                "payment_method",
                "The payment method you provided is not attached to a customer so detachment is impossible.",
                code="payment_method_unexpected_state",
            )
        pm["customer"] = None
        ctx.emit("payment_method.detached", pm)
    return ctx.render(pm)
