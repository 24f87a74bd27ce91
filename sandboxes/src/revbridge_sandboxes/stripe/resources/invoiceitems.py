"""``/v1/invoiceitems`` and manual invoices: ``POST /v1/invoices`` (a draft, optionally sweeping in
the customer's pending items) and ``DELETE /v1/invoices/{id}`` for drafts.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import billing, clocks, forms, invoice_items, shapes
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid, missing
from ..listing import created_filter, paginate
from ..state import Obj, frozen_at, new_id, snapshot

router = APIRouter()

PENDING_BEHAVIORS = ("exclude", "include")
COLLECTION_METHODS = ("charge_automatically", "send_invoice")


def _draft(ctx: Ctx, invoice_id: str, param: str = "invoice") -> Obj:
    inv = ctx.account.reference("invoice", invoice_id, "invoice", param)
    if inv["status"] != "draft":
        raise bad_state(f"You can only modify draft invoices; invoice {invoice_id} is {inv['status']}.")
    return inv


def _relines(ctx: Ctx, inv: Obj) -> None:
    billing.set_lines(inv, inv["lines"]["data"])


def _apply_item(ctx: Ctx, ii: Obj) -> None:
    p = ctx.params
    pricing = p["pricing"] if isinstance(p.get("pricing"), dict) else {}
    price_id = forms.as_str(pricing, "price") or forms.as_str(p, "price")
    quantity = forms.as_int(p, "quantity", ii["quantity"]) or 1
    if price_id:
        price = ctx.account.reference("price", price_id, "price", "pricing[price]")
        unit = int(price.get("unit_amount") or 0)
        ii["currency"] = price["currency"]
        ii["pricing"] = {
            "type": "price_details",
            "price_details": {"price": price["id"], "product": price["product"]},
            "unit_amount_decimal": str(unit),
        }
        ii["amount"] = unit * quantity
    elif "amount" in p:
        ii["amount"] = forms.as_int(p, "amount")
        ii["pricing"]["unit_amount_decimal"] = str(ii["amount"] // quantity)
    elif "unit_amount_decimal" in p or "quantity" in p:
        given = forms.as_decimal_int(p, "unit_amount_decimal")
        unit = int(float(ii["pricing"]["unit_amount_decimal"] or 0)) if given is None else given
        ii["amount"] = unit * quantity
    ii.update(quantity=quantity, quantity_decimal=str(quantity), net_amount=ii["amount"])
    if "description" in p:
        ii["description"] = p["description"] or None
    period = p.get("period")
    if isinstance(period, dict):
        ii["period"] = {"start": forms.as_int(period, "start"), "end": forms.as_int(period, "end")}
    ii["metadata"] = forms.merge_metadata(ii["metadata"], p.get("metadata"))


@router.post("/v1/invoiceitems")
async def create_invoice_item(ctx: ApiCtx) -> Response:
    p = ctx.params
    customer_id = forms.as_str(p, "customer", required=True)
    if not any(k in p for k in ("amount", "price", "pricing", "unit_amount_decimal")):
        raise missing("amount")
    async with ctx.account.lock:
        customer = ctx.account.reference("customer", customer_id, "customer", "customer")
        with frozen_at(clocks.clock_time(ctx.account, customer["id"])):
            ii = shapes.invoiceitem(customer, (forms.as_str(p, "currency") or "usd").lower())
            _apply_item(ctx, ii)
            sub_id = forms.as_str(p, "subscription")
            if sub_id:
                ctx.account.reference("subscription", sub_id, "subscription", "subscription")
                ii["parent"] = {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": sub_id},
                }
            invoice_id = forms.as_str(p, "invoice")
            inv = _draft(ctx, invoice_id) if invoice_id else None  # checked before anything is stored
            ctx.account.put(ii)
            if inv is not None:
                inv["lines"]["data"].append(invoice_items.attach(ctx, inv, ii))
                _relines(ctx, inv)
            ctx.emit("invoiceitem.created", ii)
    return ctx.render(ii)


@router.get("/v1/invoiceitems")
async def list_invoice_items(ctx: ApiCtx) -> Response:
    p = ctx.params
    items = ctx.account.newest_first("invoiceitem")
    for name in ("customer", "invoice"):
        value = forms.as_str(p, name)
        if value:
            items = [i for i in items if i[name] == value]
    if forms.as_bool(p, "pending") is True:
        items = [i for i in items if i["invoice"] is None]
    return ctx.render(paginate(created_filter(p, items), p, "/v1/invoiceitems"))


def _item(ctx: Ctx, item_id: str) -> Obj:
    return ctx.account.require("invoiceitem", item_id, "invoiceitem", "invoiceitem")


def _editable(ctx: Ctx, ii: Obj) -> Obj | None:
    """The draft invoice holding ``ii`` (or None when pending); finalized invoices are fixed."""
    if ii["invoice"] is None:
        return None
    return _draft(ctx, ii["invoice"])


@router.get("/v1/invoiceitems/{item_id}")
async def retrieve_invoice_item(item_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_item(ctx, item_id))


@router.post("/v1/invoiceitems/{item_id}")
async def update_invoice_item(item_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        ii = _item(ctx, item_id)
        inv = _editable(ctx, ii)
        before = snapshot(ii)
        _apply_item(ctx, ii)
        if inv is not None:
            inv["lines"]["data"] = [
                shapes.invoice_item_line(inv["id"], ii) if _is_line_of(line, ii) else line
                for line in inv["lines"]["data"]
            ]
            _relines(ctx, inv)
        ctx.emit_update("invoiceitem.updated", before, ii)
    return ctx.render(ii)


def _is_line_of(line: Obj, ii: Obj) -> bool:
    details = (line.get("parent") or {}).get("invoice_item_details") or {}
    return bool(details.get("invoice_item") == ii["id"])


@router.delete("/v1/invoiceitems/{item_id}")
async def delete_invoice_item(item_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        ii = _item(ctx, item_id)
        inv = _editable(ctx, ii)
        if inv is not None:
            inv["lines"]["data"] = [li for li in inv["lines"]["data"] if not _is_line_of(li, ii)]
            _relines(ctx, inv)
        ctx.account.remove("invoiceitem", item_id)
        ctx.emit("invoiceitem.deleted", ii)
    return ctx.render({"id": item_id, "object": "invoiceitem", "deleted": True})


@router.post("/v1/invoices")
async def create_invoice(ctx: ApiCtx) -> Response:
    p = ctx.params
    customer_id = forms.as_str(p, "customer", required=True)
    behavior = forms.as_str(p, "pending_invoice_items_behavior") or "exclude"
    if behavior not in PENDING_BEHAVIORS:
        raise invalid(
            "pending_invoice_items_behavior",
            "Invalid pending_invoice_items_behavior: must be exclude or include",
        )
    method = forms.as_str(p, "collection_method") or "charge_automatically"
    if method not in COLLECTION_METHODS:
        raise invalid(
            "collection_method", f"Invalid collection_method: must be one of {', '.join(COLLECTION_METHODS)}"
        )
    days = forms.as_int(p, "days_until_due")
    if days is not None and method != "send_invoice":
        raise invalid(
            "days_until_due", "days_until_due can only be set when collection_method is send_invoice."
        )
    async with ctx.account.lock:
        customer = ctx.account.reference("customer", customer_id, "customer", "customer")
        with frozen_at(clocks.clock_time(ctx.account, customer["id"])):
            inv = shapes.invoice(
                new_id("in"), customer, (forms.as_str(p, "currency") or "usd").lower(), method
            )
            inv.update(
                auto_advance=bool(forms.as_bool(p, "auto_advance", False)), test_clock=customer["test_clock"]
            )
            if days is not None:
                inv["due_date"] = inv["created"] + 86400 * days
            elif forms.as_int(p, "due_date") is not None:
                inv["due_date"] = forms.as_int(p, "due_date")
            for name in ("description", "footer", "default_payment_method"):
                if p.get(name):
                    inv[name] = p[name]
            inv["metadata"] = forms.merge_metadata({}, p.get("metadata"))
            if behavior == "include":
                billing.set_lines(inv, invoice_items.claim(ctx, inv, customer["id"]))
            ctx.account.put(inv)
            ctx.emit("invoice.created", inv)
    return ctx.render(inv)


@router.delete("/v1/invoices/{invoice_id}")
async def delete_invoice(invoice_id: str, ctx: ApiCtx) -> Response:
    """Only drafts can be deleted; their invoice items become pending again."""
    async with ctx.account.lock:
        inv = ctx.account.require("invoice", invoice_id, "invoice", "invoice")
        if inv["status"] != "draft":
            raise bad_state(
                "You can only delete draft invoices. Void or mark the invoice uncollectible instead."
            )
        for ii in ctx.account.newest_first("invoiceitem"):
            if ii["invoice"] == invoice_id:
                ii["invoice"] = None
        for line in inv["lines"]["data"]:
            ctx.account.remove("line_item", line["id"])
        ctx.account.remove("invoice", invoice_id)
        ctx.emit("invoice.deleted", inv)
    return ctx.render({"id": invoice_id, "object": "invoice", "deleted": True})
