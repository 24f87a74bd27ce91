"""``/v1/payment_intents``: create, confirm, capture and cancel, paid with Stripe's test cards.

requires_payment_method --(pm)--> requires_confirmation --confirm--> succeeded, or requires_capture
with ``capture_method=manual`` (then capture → succeeded); a declining card leaves it at
requires_payment_method with ``last_payment_error`` and answers the 402 card error. Cancel is
allowed from every state but succeeded. A 3-D Secure card confirmed on session stops at
requires_action with ``next_action`` (finished by ``POST /__sandbox/intents/{id}/authenticate``);
off session (``off_session=true``) it declines with ``authentication_required``. An invoice's
own intent (made when it is finalized) confirmed here pays the invoice, as Stripe.js confirming
``latest_invoice.confirmation_secret`` does. Retrieve and list are with the invoices' intents
(``invoices.py``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import billing, cards, dispute_ops, forms, intents, shapes
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid, missing
from ..state import Obj, now, snapshot

router = APIRouter(prefix="/v1/payment_intents")
KIND = "payment_intent"


def _intent(ctx: Ctx, intent_id: str) -> Obj:
    return ctx.account.require(KIND, intent_id, "payment_intent", "intent")


def _confirm(ctx: Ctx, pi: Obj) -> None:
    """Charge the intent's payment method, or wait for 3-D Secure when the customer is present."""
    pm = pi["payment_method"]
    if pm is None:
        raise missing("payment_method")
    billing.intent_confirmed(ctx, pi)
    if not forms.as_bool(ctx.params, "off_session") and billing.needs_authentication(ctx, pm):
        intents.require_action(ctx, pi)
        return
    charge_intent(ctx, pi)


def charge_intent(ctx: Ctx, pi: Obj, authenticated: bool = False) -> None:
    """Charge the payment method; a decline records the failed charge and raises the 402."""
    pm = pi["payment_method"]
    pi["next_action"] = None
    card = cards.test_card(ctx.account, pm)
    declined = card is not None and card.decline is not None if authenticated else billing.declines(ctx, pm)
    if declined:
        failure = billing.card_error(ctx, pm, None).body()["error"]
        charge = ctx.account.put(shapes.charge(pi, pm, failure, card))
        pi.update(status="requires_payment_method", payment_method=None, latest_charge=charge["id"])
        pi["last_payment_error"] = failure
        ctx.emit("charge.failed", charge)
        ctx.emit("payment_intent.payment_failed", pi)
        billing.intent_failed(ctx, pi)
        raise billing.card_error(ctx, pm, pi)
    charge = shapes.charge(pi, pm, None, card)
    manual = pi["capture_method"] == "manual"
    if manual:
        charge.update(captured=False, amount_captured=0, balance_transaction=None)
    ctx.account.put(charge)
    pi.update(latest_charge=charge["id"], last_payment_error=None)
    ctx.emit("charge.succeeded", charge)
    if manual:
        pi.update(status="requires_capture", amount_capturable=pi["amount"])
        ctx.emit("payment_intent.amount_capturable_updated", pi)
    else:
        pi.update(status="succeeded", amount_received=pi["amount"])
        ctx.emit("payment_intent.succeeded", pi)
        dispute_ops.open_if_disputed(ctx, charge, card)
        billing.intent_succeeded(ctx, pi)


@router.post("")
async def create_payment_intent(ctx: ApiCtx) -> Response:
    p = ctx.params
    amount = forms.as_amount(p, "amount")
    currency = (forms.as_str(p, "currency", required=True) or "").lower()
    capture_method = forms.as_str(p, "capture_method") or "automatic"  # values: the spec's enum table
    async with ctx.account.lock:
        customer_id = forms.as_str(p, "customer")
        if customer_id:
            ctx.account.reference("customer", customer_id, "customer", "customer")
        pi = shapes.payment_intent(amount, currency, customer_id, forms.as_str(p, "description"))
        pi["capture_method"] = capture_method
        pi["metadata"] = forms.merge_metadata({}, p.get("metadata"))
        pi["receipt_email"] = forms.as_str(p, "receipt_email")
        intents.set_payment_method(ctx, pi)
        ctx.account.put(pi)
        ctx.emit("payment_intent.created", pi)
        if forms.as_bool(p, "confirm"):
            _confirm(ctx, pi)
    return ctx.render(pi)


@router.post("/{intent_id}/confirm")
async def confirm_payment_intent(intent_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        pi = _intent(ctx, intent_id)
        intents.check_confirmable(pi)
        intents.set_payment_method(ctx, pi)
        _confirm(ctx, pi)
    return ctx.render(pi)


@router.post("/{intent_id}/capture")
async def capture_payment_intent(intent_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        pi = _intent(ctx, intent_id)
        if pi["status"] != "requires_capture":
            raise bad_state(
                f"This PaymentIntent could not be captured because it has a status of {pi['status']}. "
                "Only a PaymentIntent with one of the following statuses may be captured: requires_capture."
            )
        amount = forms.as_int(ctx.params, "amount_to_capture", pi["amount_capturable"]) or 0
        if not 0 < amount <= int(pi["amount_capturable"]):
            raise invalid("amount_to_capture", "The amount to capture must be at most the amount capturable.")
        charge = ctx.account.require("charge", pi["latest_charge"], "charge", "charge")
        before = snapshot(charge)
        charge.update(captured=True, amount_captured=amount, amount_refunded=int(pi["amount"]) - amount)
        charge["balance_transaction"] = charge["balance_transaction"] or f"txn_{charge['id'][3:]}"
        pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
        ctx.emit("charge.captured", charge, {k: before[k] for k in ("captured", "amount_captured")})
        ctx.emit("payment_intent.succeeded", pi)
    return ctx.render(pi)


@router.post("/{intent_id}/cancel")
async def cancel_payment_intent(intent_id: str, ctx: ApiCtx) -> Response:
    reason = forms.as_str(ctx.params, "cancellation_reason")  # values: the spec's enum table
    async with ctx.account.lock:
        pi = _intent(ctx, intent_id)
        if pi["status"] in ("succeeded", "canceled"):
            raise bad_state(
                f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only a "
                "PaymentIntent with one of the following statuses may be canceled: requires_payment_method, "
                "requires_capture, requires_confirmation, requires_action, processing."
            )
        pi.update(status="canceled", canceled_at=now(), cancellation_reason=reason, amount_capturable=0)
        ctx.emit("payment_intent.canceled", pi)
    return ctx.render(pi)
