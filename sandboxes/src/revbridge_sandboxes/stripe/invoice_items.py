"""Pending invoice items: created on their own or as prorations, swept into the next invoice.

An item with ``invoice=None`` is pending; the next invoice of its customer (or of its
subscription, for prorations) claims it and turns it into an ``invoice_item_details`` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import invoice_shapes
from .state import Obj

if TYPE_CHECKING:
    from .deps import Ctx


def _subscription_of(ii: Obj) -> str | None:
    return ((ii.get("parent") or {}).get("subscription_details") or {}).get("subscription")


def pending(ctx: Ctx, customer_id: str, subscription_id: str | None = None) -> list[Obj]:
    """The customer's pending items, oldest first; with a subscription, only that subscription's."""
    items = [
        ii
        for ii in reversed(ctx.account.newest_first("invoiceitem"))
        if ii["customer"] == customer_id and ii["invoice"] is None
    ]
    if subscription_id is not None:
        items = [ii for ii in items if _subscription_of(ii) in (None, subscription_id)]
    return items


def attach(ctx: Ctx, inv: Obj, ii: Obj) -> Obj:
    """Put ``ii`` on the draft ``inv`` as a line (the caller recomputes the totals)."""
    ii["invoice"] = inv["id"]
    return ctx.account.put(invoice_shapes.invoice_item_line(inv["id"], ii))


def claim(ctx: Ctx, inv: Obj, customer_id: str, subscription_id: str | None = None) -> list[Obj]:
    return [attach(ctx, inv, ii) for ii in pending(ctx, customer_id, subscription_id)]


def proration(ctx: Ctx, sub: Obj, item: Obj, amount: int, start: int, end: int, credit: bool) -> Obj:
    """A pending proration item for the unused (``credit``) or remaining time of one item's price."""
    return ctx.account.put(proration_item(ctx, sub, item, amount, start, end, credit))


def proration_item(ctx: Ctx, sub: Obj, item: Obj, amount: int, start: int, end: int, credit: bool) -> Obj:
    """The proration item itself, not stored (a preview shows it without creating it)."""
    customer = ctx.account.require("customer", sub["customer"], "customer", "customer")
    ii = invoice_shapes.invoiceitem(customer, sub["currency"])
    product = ctx.account.get("product", item["price"]["product"]) or {"name": item["price"]["product"]}
    label = "Unused time on" if credit else "Remaining time on"
    ii.update(
        amount=amount,
        net_amount=amount,
        description=f"{label} {item['quantity']} \u00d7 {product['name']}",
        proration=True,
        quantity=int(item["quantity"] or 1),
        period={"start": start, "end": end},
        parent={"type": "subscription_details", "subscription_details": {"subscription": sub["id"]}},
    )
    ii["pricing"] = {
        "type": "price_details",
        "price_details": {"price": item["price"]["id"], "product": item["price"]["product"]},
        "unit_amount_decimal": str(item["price"].get("unit_amount") or 0),
    }
    ii["quantity_decimal"] = str(ii["quantity"])
    return ii
