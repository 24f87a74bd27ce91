"""``POST /__sandbox/intents/{id}/authenticate``: the customer finishing (or failing) 3-D Secure.

Stripe has no API for this: in test mode the customer completes the challenge page Stripe.js
opens. The sandbox stands in for that page. Called with the account's API key, on a payment or
setup intent at requires_action; ``outcome=complete`` (default) charges the payment intent or
finishes the setup, ``outcome=fail`` answers as Stripe does when authentication fails.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import forms
from ..deps import ApiCtx
from ..errors import bad_state, invalid, not_found
from . import payment_intents, setup_intents

router = APIRouter(prefix="/__sandbox/intents")

FAILED = {
    "payment_intent": (
        "payment_intent_authentication_failure",
        "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a "
        "new PaymentMethod to attempt to fulfill this PaymentIntent again.",
    ),
    "setup_intent": (
        "setup_intent_authentication_failure",
        "The latest attempt to set up the payment method has failed because authentication failed.",
    ),
}


@router.post("/{intent_id}/authenticate")
async def authenticate(intent_id: str, ctx: ApiCtx) -> Response:
    outcome = forms.as_str(ctx.params, "outcome") or "complete"
    if outcome not in ("complete", "fail"):
        raise invalid("outcome", "outcome must be complete or fail")
    kind = "setup_intent" if intent_id.startswith("seti_") else "payment_intent"
    async with ctx.account.lock:
        intent = ctx.account.get(kind, intent_id)
        if intent is None:
            raise not_found(kind, intent_id, "intent")
        if intent["status"] != "requires_action":
            raise bad_state(f"This {kind} is {intent['status']}, not requires_action.")
        if outcome == "fail":
            code, message = FAILED[kind]
            error_field = "last_setup_error" if kind == "setup_intent" else "last_payment_error"
            intent.update(status="requires_payment_method", next_action=None, payment_method=None)
            intent[error_field] = {"type": "invalid_request_error", "code": code, "message": message}
            ctx.emit(
                "setup_intent.setup_failed" if kind == "setup_intent" else "payment_intent.payment_failed",
                intent,
            )
        elif kind == "setup_intent":
            setup_intents.succeed(ctx, intent)
        else:
            payment_intents.charge_intent(ctx, intent, authenticated=True)
    return ctx.render(intent)
