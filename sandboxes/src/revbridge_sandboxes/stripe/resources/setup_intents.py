"""``/v1/setup_intents``: save a card for later, with Stripe's test cards and their 3-D Secure rules.

requires_payment_method --(pm)--> requires_confirmation --confirm--> succeeded, when the payment
method is attached to the intent's customer (a magic ``pm_card_*`` becomes a card of the
customer's own). A 3-D Secure card stops at requires_action with ``next_action`` until
``POST /__sandbox/intents/{id}/authenticate``; a declining card leaves requires_payment_method
with ``last_setup_error`` and answers the 402 card error carrying the intent. A card set up this
way pays off session without authenticating again (``pm_card_authenticationRequiredOnSetup``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import billing, cards, forms, intents
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, missing
from ..listing import created_filter, equal_filter, paginate
from ..state import Obj, new_id, now
from . import payment_methods

router = APIRouter(prefix="/v1/setup_intents")
KIND = "setup_intent"


def _shape(customer: str | None, usage: str) -> Obj:
    object_id = new_id("seti")
    return {
        "id": object_id,
        "object": KIND,
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{object_id}_secret_{new_id('x')[2:]}",
        "created": now(),
        "customer": customer,
        "description": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": usage,
    }


def _intent(ctx: Ctx, intent_id: str) -> Obj:
    return ctx.account.require(KIND, intent_id, "setup_intent", "intent")


def _confirm(ctx: Ctx, si: Obj) -> None:
    pm = si["payment_method"]
    if pm is None:
        raise missing("payment_method")
    card = cards.test_card(ctx.account, pm)
    assert card is not None
    if card.decline is not None:
        failure = billing.card_error(ctx, pm, None).body()["error"]
        si.update(status="requires_payment_method", payment_method=None, last_setup_error=failure)
        ctx.emit("setup_intent.setup_failed", si)
        raise billing.card_error(ctx, pm, si)
    if card.authentication is not None:
        intents.require_action(ctx, si)
        return
    succeed(ctx, si)


def succeed(ctx: Ctx, si: Obj) -> None:
    """The setup is done: the card is the customer's (when there is one) and saved for later."""
    if si["customer"] is not None:
        customer = ctx.account.reference("customer", si["customer"], "customer", "customer")
        owned = ctx.account.get("payment_method", si["payment_method"])
        if owned is None or owned["customer"] is None:
            si["payment_method"] = payment_methods.attach(ctx, si["payment_method"], customer)["id"]
    si.update(status="succeeded", next_action=None, last_setup_error=None)
    ctx.emit("setup_intent.succeeded", si)


@router.post("")
async def create_setup_intent(ctx: ApiCtx) -> Response:
    p = ctx.params
    usage = forms.as_str(p, "usage") or "off_session"  # values: the spec's enum table
    async with ctx.account.lock:
        customer_id = forms.as_str(p, "customer")
        if customer_id:
            ctx.account.reference("customer", customer_id, "customer", "customer")
        si = _shape(customer_id, usage)
        si["description"] = forms.as_str(p, "description")
        si["metadata"] = forms.merge_metadata({}, p.get("metadata"))
        intents.set_payment_method(ctx, si)
        ctx.account.put(si)
        ctx.emit("setup_intent.created", si)
        if forms.as_bool(p, "confirm"):
            _confirm(ctx, si)
    return ctx.render(si)


@router.get("")
async def list_setup_intents(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first(KIND)
    items = equal_filter(ctx.params, items, ("customer", "payment_method"))
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/setup_intents"))


@router.get("/{intent_id}")
async def retrieve_setup_intent(intent_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_intent(ctx, intent_id))


@router.post("/{intent_id}/confirm")
async def confirm_setup_intent(intent_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        si = _intent(ctx, intent_id)
        intents.check_confirmable(si)
        intents.set_payment_method(ctx, si)
        _confirm(ctx, si)
    return ctx.render(si)


@router.post("/{intent_id}/cancel")
async def cancel_setup_intent(intent_id: str, ctx: ApiCtx) -> Response:
    reason = forms.as_str(ctx.params, "cancellation_reason")  # values: the spec's enum table
    async with ctx.account.lock:
        si = _intent(ctx, intent_id)
        if si["status"] in ("succeeded", "canceled"):
            raise bad_state(f"You cannot cancel this SetupIntent because it has a status of {si['status']}.")
        si.update(status="canceled", cancellation_reason=reason, next_action=None)
        ctx.emit("setup_intent.canceled", si)
    return ctx.render(si)
