"""``/v1/customers/{id}/balance_transactions``: adjust what a customer is owed or owes by hand."""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import customer_balance, forms
from ..deps import ApiCtx, Ctx
from ..errors import invalid, not_found
from ..listing import created_filter, paginate
from ..state import Obj

router = APIRouter(prefix="/v1/customers/{customer_id}/balance_transactions")


def _transaction(ctx: Ctx, customer_id: str, txn_id: str) -> Obj:
    ctx.account.require("customer", customer_id, "customer")
    txn = ctx.account.get("customer_balance_transaction", txn_id)
    if txn is None or txn["customer"] != customer_id:
        raise not_found("customer balance transaction", txn_id, "transaction")
    return txn


@router.post("")
async def create_balance_transaction(customer_id: str, ctx: ApiCtx) -> Response:
    p = ctx.params
    amount = forms.as_int(p, "amount", required=True) or 0
    if amount == 0:
        raise invalid("amount", "amount must not be zero.")
    currency = (forms.as_str(p, "currency", required=True) or "").lower()
    async with ctx.account.lock:
        customer = ctx.account.require("customer", customer_id, "customer")
        if customer["currency"] and customer["currency"] != currency:
            raise invalid("currency", f"The customer's balance is in {customer['currency']}, not {currency}.")
        txn = customer_balance.record(
            ctx,
            customer,
            amount,
            currency,
            "adjustment",
            description=forms.as_str(p, "description"),
            metadata=forms.merge_metadata({}, p.get("metadata")),
        )
    return ctx.render(txn)


@router.get("")
async def list_balance_transactions(customer_id: str, ctx: ApiCtx) -> Response:
    ctx.account.require("customer", customer_id, "customer")
    items = [
        t for t in ctx.account.newest_first("customer_balance_transaction") if t["customer"] == customer_id
    ]
    url = f"/v1/customers/{customer_id}/balance_transactions"
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, url))


@router.get("/{txn_id}")
async def retrieve_balance_transaction(customer_id: str, txn_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_transaction(ctx, customer_id, txn_id))


@router.post("/{txn_id}")
async def update_balance_transaction(customer_id: str, txn_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        txn = _transaction(ctx, customer_id, txn_id)
        if "description" in ctx.params:
            txn["description"] = forms.as_str(ctx.params, "description")
        txn["metadata"] = forms.merge_metadata(txn["metadata"], ctx.params.get("metadata"))
    return ctx.render(txn)
