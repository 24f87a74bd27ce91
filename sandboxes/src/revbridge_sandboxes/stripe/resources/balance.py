"""``/v1/balance``, ``/v1/balance_transactions`` and manual ``/v1/payouts``, for cash reconciliation.

A payout takes available funds to the bank: refused with ``balance_insufficient`` beyond the
available balance; it is ``pending`` until its arrival date and ``paid`` after (guess: one day
later; ``payout.paid`` is sent when the sandbox first sees it arrived).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import forms, money
from ..deps import ApiCtx, Ctx
from ..errors import StripeError, bad_state
from ..listing import created_filter, equal_filter, paginate
from ..state import Obj, new_id, now

router = APIRouter()
ARRIVAL_AFTER = 86400  # guess
INSUFFICIENT = (
    "You have insufficient funds in your Stripe account for this transfer. Your card balance is "
    "too low. You can use the /v1/balance endpoint to view your Stripe balance (for more details, "
    "see stripe.com/docs/api#balance)."
)


@router.get("/v1/balance")
async def retrieve_balance(ctx: ApiCtx) -> Response:
    return ctx.render(money.balance(ctx))


@router.get("/v1/balance_transactions")
async def list_balance_transactions(ctx: ApiCtx) -> Response:
    items = sorted(money.transactions(ctx), key=lambda t: (int(t["created"]), t["id"]), reverse=True)
    items = equal_filter(ctx.params, items, ("type", "source", "currency"))
    payout_id = forms.as_str(ctx.params, "payout")
    if payout_id:  # the funds a payout took: everything available when it was made (guess)
        payout = ctx.account.reference("payout", payout_id, "payout", "payout")
        items = [
            t for t in items if t["type"] != "payout" and int(t["available_on"]) <= int(payout["created"])
        ]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/balance_transactions"))


@router.get("/v1/balance_transactions/{txn_id}")
async def retrieve_balance_transaction(txn_id: str, ctx: ApiCtx) -> Response:
    found = next((t for t in money.transactions(ctx) if t["id"] == txn_id), None)
    if found is None:
        raise StripeError(
            404, f"No such balance transaction: '{txn_id}'", code="resource_missing", param="id"
        )
    return ctx.render(found)


def _settle(ctx: Ctx, payout: Obj) -> Obj:
    if payout["status"] == "pending" and now() >= int(payout["arrival_date"]):
        payout["status"] = "paid"
        ctx.emit("payout.paid", payout)
    return payout


@router.post("/v1/payouts")
async def create_payout(ctx: ApiCtx) -> Response:
    p = ctx.params
    amount = forms.as_amount(p, "amount")
    currency = (forms.as_str(p, "currency", required=True) or "").lower()
    async with ctx.account.lock:
        available = next(
            (f["amount"] for f in money.balance(ctx)["available"] if f["currency"] == currency), 0
        )
        if amount > available:
            raise StripeError(
                400,
                INSUFFICIENT,
                code="balance_insufficient",
            )
        ts = now()
        payout = {
            "id": new_id("po"),
            "object": "payout",
            "amount": amount,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": ts + ARRIVAL_AFTER,
            "automatic": False,
            "balance_transaction": new_id("txn"),
            "created": ts,
            "currency": currency,
            "description": forms.as_str(p, "description"),
            "destination": "ba_sandbox_bank_account",
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": forms.merge_metadata({}, p.get("metadata")),
            "method": forms.as_str(p, "method") or "standard",
            "original_payout": None,
            "payout_method": None,
            "reconciliation_status": "not_applicable",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": forms.as_str(p, "statement_descriptor"),
            "status": "pending",
            "trace_id": {"status": "unsupported", "value": None},
            "type": "bank_account",
        }
        ctx.account.put(payout)
        ctx.emit("payout.created", payout)
    return ctx.render(payout)


@router.get("/v1/payouts")
async def list_payouts(ctx: ApiCtx) -> Response:
    items = [_settle(ctx, po) for po in ctx.account.newest_first("payout")]
    status = forms.as_str(ctx.params, "status")
    if status:
        items = [po for po in items if po["status"] == status]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/payouts"))


@router.get("/v1/payouts/{payout_id}")
async def retrieve_payout(payout_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_settle(ctx, ctx.account.require("payout", payout_id, "payout", "payout")))


@router.post("/v1/payouts/{payout_id}/cancel")
async def cancel_payout(payout_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        payout = _settle(ctx, ctx.account.require("payout", payout_id, "payout", "payout"))
        if payout["status"] != "pending":
            raise bad_state(
                f"Payouts can only be canceled while they are pending; this one is {payout['status']}."
            )
        payout["status"] = "canceled"
        ctx.emit("payout.canceled", payout)
    return ctx.render(payout)
