"""Subscription changes shared by the API handlers, test clocks and schedules: cancel, phase
switches and prorations (wire reference §1.8 ``proration_behavior``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import billing, forms, invoice_items, shapes, tiers
from .errors import invalid
from .state import Obj, snapshot

if TYPE_CHECKING:
    from .deps import Ctx

PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")


def cancel(ctx: Ctx, sub: Obj, ts: int, details: dict[str, Any] | None = None) -> None:
    details = details or {}
    sub.update(status="canceled", canceled_at=ts, ended_at=ts)
    sub["cancellation_details"] = {
        "comment": details.get("comment") or None,
        "feedback": details.get("feedback") or None,
        "reason": "cancellation_requested",
    }
    ctx.emit("customer.subscription.deleted", sub)


def item_amount(ctx: Ctx, item: Obj) -> int:
    if billing.is_metered(item["price"]):
        return 0
    return tiers.amount(ctx.account, item["price"], int(item["quantity"] or 0))


def prorate(ctx: Ctx, sub: Obj, before_items: list[Obj], ts: int, store: bool = True) -> list[Obj]:
    """Pending items crediting the old items' unused time and charging the new items' remaining time
    (with ``store=False`` only computed, for a preview)."""
    make = invoice_items.proration if store else invoice_items.proration_item
    created: list[Obj] = []
    old = {i["id"]: i for i in before_items}
    new = {i["id"]: i for i in sub["items"]["data"]}
    for item_id in old.keys() | new.keys():
        was, now_item = old.get(item_id), new.get(item_id)
        if was and now_item and item_amount(ctx, was) == item_amount(ctx, now_item):
            continue
        ref = now_item or was
        assert ref is not None
        start, end = int(ref["current_period_start"]), int(ref["current_period_end"])
        if end <= ts or end <= start:
            continue
        share = (end - ts) / (end - start)
        if was and item_amount(ctx, was):
            amount = -round(item_amount(ctx, was) * share)
            created.append(make(ctx, sub, was, amount, ts, end, credit=True))
        if now_item and item_amount(ctx, now_item):
            amount = round(item_amount(ctx, now_item) * share)
            created.append(make(ctx, sub, now_item, amount, ts, end, credit=False))
    for ii in created if store else ():
        ctx.emit("invoiceitem.created", ii)
    return created


def invoice_now(ctx: Ctx, sub: Obj) -> Obj:
    """``always_invoice``: bill the pending prorations at once in a ``subscription_update`` invoice."""
    customer = ctx.account.require("customer", sub["customer"], "customer", "customer")
    inv = shapes.invoice(shapes.new_id("in"), customer, sub["currency"], sub["collection_method"])
    inv.update(billing_reason="subscription_update", test_clock=sub.get("test_clock"))
    inv["parent"] = {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {"subscription": sub["id"], "metadata": dict(sub["metadata"])},
    }
    billing.set_lines(inv, invoice_items.claim(ctx, inv, sub["customer"], sub["id"]))
    billing.adjust(ctx, inv, sub)
    ctx.account.put(inv)
    ctx.emit("invoice.created", inv)
    sub["latest_invoice"] = inv["id"]
    billing.collect(ctx, sub, inv)
    return inv


def proration_behavior(params: dict[str, Any]) -> str:
    behavior = forms.as_str(params, "proration_behavior") or "create_prorations"
    if behavior not in PRORATION_BEHAVIORS:
        raise invalid(
            "proration_behavior",
            f"Invalid proration_behavior: must be one of {', '.join(PRORATION_BEHAVIORS)}",
        )
    return behavior


def switch_phase(ctx: Ctx, sub: Obj, phase: Obj, ts: int, behavior: str | None = None) -> list[Obj]:
    """Give the subscription a schedule phase's items at ``ts`` (entering the phase, or a schedule
    update changing the current one), and the phase's metadata.

    An item whose price stays keeps its id (its quantity and metadata follow the phase); the others
    are removed or added, in the current period. Mid-period the change is prorated as a
    subscription update is, by ``behavior`` (default: the phase's ``proration_behavior``); at a
    period boundary nothing is left to prorate and the renewal bills the new items. Returns the
    proration invoice items made."""
    before = snapshot(sub)
    current: list[Obj] = sub["items"]["data"]
    start = int(current[0]["current_period_start"]) if current else ts
    end = int(current[0]["current_period_end"]) if current else None
    reusable = {i["price"]["id"]: i for i in current}
    items = []
    for spec in phase["items"]:
        price = ctx.account.require("price", spec["price"], "price", "price")
        quantity = int(spec["quantity"] or 1)
        item = reusable.pop(price["id"], None)
        if item is not None:
            item["quantity"] = quantity
            item["metadata"] = forms.merge_metadata(dict(item["metadata"]), spec.get("metadata") or {})
        else:
            item = shapes.subscription_item(
                sub["id"], price, quantity, dict(spec.get("metadata") or {}), start
            )
            if end is not None:
                item["current_period_end"] = end
            ctx.account.put(item)
        items.append(item)
    for gone in reusable.values():
        ctx.account.remove("subscription_item", gone["id"])
    sub["items"]["data"] = items
    sub["metadata"] = forms.merge_metadata(sub["metadata"], phase.get("metadata") or {})
    ctx.emit_update("customer.subscription.updated", before, sub)
    behavior = behavior or phase.get("proration_behavior") or "create_prorations"
    if behavior == "none" or sub["status"] not in ("active", "past_due", "trialing"):
        return []
    prorations = prorate(ctx, sub, before["items"]["data"], ts)
    if behavior == "always_invoice" and prorations:
        invoice_now(ctx, sub)
    return prorations
