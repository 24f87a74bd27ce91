"""``/v1/charges`` (made by every payment attempt) and ``/v1/refunds`` (partial or full, by charge or
payment intent), with ``refund.created`` and ``charge.refunded`` events.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from .. import forms, shapes
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid, missing
from ..listing import created_filter, equal_filter, paginate
from ..state import Obj, snapshot

router = APIRouter()

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


@router.get("/v1/charges")
async def list_charges(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("charge")
    items = equal_filter(ctx.params, items, ("customer", "payment_intent"))
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/charges"))


@router.get("/v1/charges/{charge_id}")
async def retrieve_charge(charge_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(ctx.account.require("charge", charge_id, "charge", "charge"))


def refund_charge(ctx: Ctx, charge: Obj, amount: int | None, reason: str | None, metadata: Any) -> Obj:
    """Refund ``amount`` (default: all that is left) of a succeeded charge."""
    if charge["status"] != "succeeded":
        raise bad_state(f"Charge {charge['id']} has not succeeded and cannot be refunded.")
    left = int(charge["amount_captured"]) - int(charge["amount_refunded"])
    amount = left if amount is None else amount
    if left <= 0:
        raise bad_state(f"Charge {charge['id']} has already been refunded.")
    if amount <= 0 or amount > left:
        raise invalid(
            "amount",
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
        )
    before = snapshot(charge)
    refund = shapes.refund(charge, amount, reason)
    refund["metadata"] = forms.merge_metadata({}, metadata)
    ctx.account.put(refund)
    charge["amount_refunded"] = int(charge["amount_refunded"]) + amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    charge["refunds"]["data"].insert(0, refund)
    ctx.emit("refund.created", refund)
    ctx.emit(
        "charge.refunded",
        charge,
        {"amount_refunded": before["amount_refunded"], "refunded": before["refunded"]},
    )
    return refund


@router.post("/v1/refunds")
async def create_refund(ctx: ApiCtx) -> Response:
    p = ctx.params
    charge_id, intent_id = forms.as_str(p, "charge"), forms.as_str(p, "payment_intent")
    reason = forms.as_str(p, "reason")
    if reason is not None and reason not in REASONS:
        raise invalid("reason", f"Invalid reason: must be one of {', '.join(REASONS)}")
    amount = forms.as_int(p, "amount")
    async with ctx.account.lock:
        if charge_id:
            charge = ctx.account.reference("charge", charge_id, "charge", "charge")
        elif intent_id:
            intent = ctx.account.reference("payment_intent", intent_id, "payment_intent", "payment_intent")
            if intent["status"] != "succeeded" or not intent["latest_charge"]:
                raise bad_state(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to refund."
                )
            charge = ctx.account.require("charge", intent["latest_charge"], "charge", "payment_intent")
        else:
            raise missing("charge")
        refund = refund_charge(ctx, charge, amount, reason, p.get("metadata"))
    return ctx.render(refund)


@router.get("/v1/refunds")
async def list_refunds(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("refund")
    items = equal_filter(ctx.params, items, ("charge", "payment_intent"))
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/refunds"))


@router.get("/v1/refunds/{refund_id}")
async def retrieve_refund(refund_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(ctx.account.require("refund", refund_id, "refund", "refund"))
