"""``/v1/customers``: create, retrieve, update, delete, list and search."""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import billing, forms, shapes
from ..deps import ApiCtx, Ctx
from ..listing import created_filter, paginate, search
from ..state import Obj, frozen_at, new_id, snapshot
from . import payment_methods

router = APIRouter(prefix="/v1/customers")

_PLAIN_FIELDS = ("email", "name", "description", "phone")


def _default_payment_method(ctx: Ctx, customer: Obj, pm: str | None, attached: Obj | None) -> str | None:
    """``invoice_settings[default_payment_method]``: attached to the customer, or the one this very
    request attaches (Stripe's docs create a customer with ``payment_method=pm_card_visa`` and that
    same id as the default; it then names the card made from it)."""
    if pm is None:
        return None
    if attached is not None and pm == forms.as_str(ctx.params, "payment_method"):
        return str(attached["id"])
    param = "invoice_settings[default_payment_method]"
    billing.check_default_payment_method(ctx, customer["id"], pm, param)
    return pm


def _apply(ctx: Ctx, customer: Obj, attached: Obj | None = None) -> None:
    p = ctx.params
    for name in _PLAIN_FIELDS:
        if name in p:
            customer[name] = forms.as_str(p, name)
    for name in ("address", "shipping"):
        if name in p:
            customer[name] = forms.as_object(p, name)
    if "tax_exempt" in p:
        customer["tax_exempt"] = forms.as_str(p, "tax_exempt") or "none"
    if "preferred_locales" in p:
        customer["preferred_locales"] = [str(x) for x in forms.as_list(p, "preferred_locales")]
    settings = forms.as_object(p, "invoice_settings")
    if settings is not None and "default_payment_method" in settings:
        customer["invoice_settings"]["default_payment_method"] = _default_payment_method(
            ctx, customer, settings["default_payment_method"] or None, attached
        )
    customer["metadata"] = forms.merge_metadata(customer["metadata"], p.get("metadata"))


def _get(ctx: Ctx, customer_id: str) -> Obj:
    return ctx.account.require("customer", customer_id, "customer")


@router.post("")
async def create_customer(ctx: ApiCtx) -> Response:
    clock_id = forms.as_str(ctx.params, "test_clock")
    async with ctx.account.lock:
        clock = (
            ctx.account.reference("test_helpers.test_clock", clock_id, "test clock", "test_clock")
            if clock_id
            else None
        )
        with frozen_at(clock["frozen_time"] if clock else None):
            customer = shapes.customer(new_id("cus", 14))
            customer["test_clock"] = clock_id
            pm = forms.as_str(ctx.params, "payment_method")
            attached = payment_methods.attach(ctx, pm, customer) if pm else None
            _apply(ctx, customer, attached)
            ctx.account.put(customer)
            ctx.emit("customer.created", customer)
    return ctx.render(customer)


@router.get("")
async def list_customers(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("customer")
    email = forms.as_str(ctx.params, "email")
    if email:
        items = [c for c in items if c.get("email") == email]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/customers"))


@router.get("/search")
async def search_customers(ctx: ApiCtx) -> Response:
    return ctx.render(search(ctx.account.newest_first("customer"), ctx.params, "/v1/customers/search"))


def _tombstone(customer_id: str) -> Obj:
    return {"id": customer_id, "object": "customer", "deleted": True}


@router.get("/{customer_id}")
async def retrieve_customer(customer_id: str, ctx: ApiCtx) -> Response:
    """A deleted customer still retrieves (200, ``deleted: true``); updating it is a 404."""
    if customer_id in ctx.account.deleted:
        return ctx.render(_tombstone(customer_id))
    return ctx.render(_get(ctx, customer_id))


@router.post("/{customer_id}")
async def update_customer(customer_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        customer = _get(ctx, customer_id)
        before = snapshot(customer)
        _apply(ctx, customer)
        ctx.emit_update("customer.updated", before, customer)
    return ctx.render(customer)


@router.delete("/{customer_id}")
async def delete_customer(customer_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        customer = _get(ctx, customer_id)
        ctx.account.remove("customer", customer_id)
        ctx.account.deleted.add(customer_id)
        ctx.emit("customer.deleted", customer)
    return ctx.render(_tombstone(customer_id))
