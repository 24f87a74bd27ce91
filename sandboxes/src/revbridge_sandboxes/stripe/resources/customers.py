"""``/v1/customers``: create, retrieve, update, delete, list and search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .. import forms, shapes
from ..deps import ApiCtx, Ctx
from ..listing import created_filter, paginate, search
from ..state import Obj, new_id, snapshot

router = APIRouter(prefix="/v1/customers")

_PLAIN_FIELDS = ("email", "name", "description", "phone")


def _apply(ctx: Ctx, customer: Obj) -> None:
    p = ctx.params
    for name in _PLAIN_FIELDS:
        if name in p:
            customer[name] = p[name] or None
    for name in ("address", "shipping"):
        if name in p:
            customer[name] = p[name] or None
    if "tax_exempt" in p:
        customer["tax_exempt"] = p["tax_exempt"] or "none"
    if "preferred_locales" in p:
        customer["preferred_locales"] = forms.as_list(p, "preferred_locales")
    settings = p.get("invoice_settings")
    if isinstance(settings, dict) and "default_payment_method" in settings:
        customer["invoice_settings"]["default_payment_method"] = settings["default_payment_method"] or None
    customer["metadata"] = forms.merge_metadata(customer["metadata"], p.get("metadata"))


def _get(ctx: Ctx, customer_id: str) -> Obj:
    return ctx.account.require("customer", customer_id, "customer")


@router.post("")
async def create_customer(ctx: ApiCtx) -> dict[str, Any]:
    async with ctx.account.lock:
        customer = shapes.customer(new_id("cus", 14))
        _apply(ctx, customer)
        ctx.account.put(customer)
        ctx.emit("customer.created", customer)
    return ctx.render(customer)


@router.get("")
async def list_customers(ctx: ApiCtx) -> dict[str, Any]:
    items = ctx.account.newest_first("customer")
    email = forms.as_str(ctx.params, "email")
    if email:
        items = [c for c in items if c.get("email") == email]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/customers"))


@router.get("/search")
async def search_customers(ctx: ApiCtx) -> dict[str, Any]:
    return ctx.render(search(ctx.account.newest_first("customer"), ctx.params, "/v1/customers/search"))


@router.get("/{customer_id}")
async def retrieve_customer(customer_id: str, ctx: ApiCtx) -> dict[str, Any]:
    return ctx.render(_get(ctx, customer_id))


@router.post("/{customer_id}")
async def update_customer(customer_id: str, ctx: ApiCtx) -> dict[str, Any]:
    async with ctx.account.lock:
        customer = _get(ctx, customer_id)
        before = snapshot(customer)
        _apply(ctx, customer)
        ctx.emit_update("customer.updated", before, customer)
    return ctx.render(customer)


@router.delete("/{customer_id}")
async def delete_customer(customer_id: str, ctx: ApiCtx) -> dict[str, Any]:
    async with ctx.account.lock:
        customer = _get(ctx, customer_id)
        ctx.account.remove("customer", customer_id)
        ctx.emit("customer.deleted", customer)
    return {"id": customer_id, "object": "customer", "deleted": True}
