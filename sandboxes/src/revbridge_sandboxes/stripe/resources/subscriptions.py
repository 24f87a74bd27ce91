"""``/v1/subscriptions`` and ``/v1/subscription_items``: creating one bills its first invoice at once.

Creation finalizes the first invoice immediately; ``send_invoice`` leaves it open (subscription
active), ``charge_automatically`` charges the default payment method (declines leave the invoice
open and the subscription ``incomplete``; a 3-D Secure card leaves the invoice's intent at
``requires_action``). ``payment_behavior=default_incomplete`` charges nothing: the customer pays
by confirming the invoice's intent (``latest_invoice.confirmation_secret``), which activates the
subscription.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from .. import billing, clocks, discount_ops, forms, shapes, subscription_ops, tax_ops
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid, missing, unsupported_parameter
from ..listing import created_filter, paginate, search
from ..state import Obj, frozen_at, new_id, now, snapshot

router = APIRouter()

COLLECTION_METHODS = ("charge_automatically", "send_invoice")
PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")


def recurring_price(ctx: Ctx, price_id: Any, param: str) -> Obj:
    if not price_id:
        raise missing(param)
    price = ctx.account.reference("price", price_id, "price", param)
    if price["type"] != "recurring":
        raise invalid(
            param,
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
        )
    return price


def _new_item(ctx: Ctx, sub: Obj, spec: dict[str, Any], param: str, start: int, store: bool = True) -> Obj:
    price = recurring_price(ctx, spec.get("price"), f"{param}[price]")
    quantity = forms.as_int(spec, "quantity", 1)
    metadata = forms.merge_metadata({}, spec.get("metadata"), f"{param}[metadata]")
    item = shapes.subscription_item(sub["id"], price, quantity or 1, metadata, start)
    return ctx.account.put(item) if store else item


def _billing_settings(ctx: Ctx, sub: Obj) -> None:
    p = ctx.params
    method = forms.as_str(p, "collection_method")
    if method is not None:
        if method not in COLLECTION_METHODS:
            raise invalid(
                "collection_method",
                f"Invalid collection_method: must be one of {', '.join(COLLECTION_METHODS)}",
            )
        sub["collection_method"] = method
    if "days_until_due" in p:
        sub["days_until_due"] = forms.as_int(p, "days_until_due")
    if sub["collection_method"] == "send_invoice" and sub["days_until_due"] is None:
        raise missing("days_until_due")
    if sub["collection_method"] == "charge_automatically":
        if sub["days_until_due"] is not None and "days_until_due" in p:
            raise invalid(
                "days_until_due", "days_until_due can only be set when collection_method is send_invoice."
            )
        sub["days_until_due"] = None
    if "default_payment_method" in p:
        pm = forms.as_str(p, "default_payment_method") or None  # "" clears it
        if pm is not None:
            billing.check_default_payment_method(ctx, sub["customer"], pm, "default_payment_method")
        sub["default_payment_method"] = pm
    _payment_settings(sub, p.get("payment_settings"))
    if "discounts" in p:
        sub["discounts"] = discount_ops.redeem(ctx, forms.as_list(p, "discounts"), sub)
    if "default_tax_rates" in p:
        taxes = tax_ops.rates(ctx, forms.as_list(p, "default_tax_rates"), "default_tax_rates")
        sub["default_tax_rates"] = taxes
    for name in ("description",):
        if name in p:
            sub[name] = p[name] or None
    if "cancel_at_period_end" in p:
        _schedule_cancel(sub, clocks.period_end(sub) if forms.as_bool(p, "cancel_at_period_end") else None)
        sub["cancel_at_period_end"] = sub["cancel_at"] is not None
    elif "cancel_at" in p:
        _schedule_cancel(sub, _cancel_at(sub, p))
    sub["metadata"] = forms.merge_metadata(sub["metadata"], p.get("metadata"))


def _payment_settings(sub: Obj, given: Any) -> None:
    """``payment_settings``: whether a payment saves its card as the default, and the method types
    (values checked against the spec's enums before the request reaches here)."""
    if not isinstance(given, dict):
        return
    settings = sub["payment_settings"]
    if "save_default_payment_method" in given:
        settings["save_default_payment_method"] = given["save_default_payment_method"] or "off"
    if "payment_method_types" in given:
        types = given["payment_method_types"]
        settings["payment_method_types"] = list(types) if isinstance(types, list) and types else None


def _cancel_at(sub: Obj, p: dict[str, Any]) -> int | None:
    value = p.get("cancel_at")
    ends = [int(i["current_period_end"]) for i in sub["items"]["data"]]
    if value in ("max_period_end", "min_period_end") and ends:
        return max(ends) if value == "max_period_end" else min(ends)
    return forms.as_int(p, "cancel_at")  # "" clears it


def _schedule_cancel(sub: Obj, at: int | None) -> None:
    """Stripe's fields for a scheduled cancellation: ``cancel_at`` the moment it takes effect,
    ``canceled_at`` the request that scheduled it, the reason ``cancellation_requested``."""
    sub["cancel_at"] = at
    sub["cancel_at_period_end"] = False
    sub["canceled_at"] = now() if at is not None else None
    sub["cancellation_details"]["reason"] = "cancellation_requested" if at is not None else None


def _payment_method(ctx: Ctx, sub: Obj, customer: Obj) -> str | None:
    return sub["default_payment_method"] or (customer.get("invoice_settings") or {}).get(
        "default_payment_method"
    )


@router.post("/v1/subscriptions")
async def create_subscription(ctx: ApiCtx) -> Response:
    p = ctx.params
    behavior = forms.as_str(p, "payment_behavior") or "allow_incomplete"
    if behavior not in PAYMENT_BEHAVIORS:
        raise invalid(
            "payment_behavior", f"Invalid payment_behavior: must be one of {', '.join(PAYMENT_BEHAVIORS)}"
        )
    specs = forms.as_list(p, "items")
    if not specs:
        raise missing("items")
    async with ctx.account.lock:
        customer = ctx.account.reference(
            "customer", forms.as_str(p, "customer", required=True), "customer", "customer"
        )
        with frozen_at(clocks.clock_time(ctx.account, customer["id"])):
            sub = create_for_customer(ctx, customer, specs, behavior)
    return ctx.render(sub)


def create_for_customer(
    ctx: Ctx,
    customer: Obj,
    specs: list[Any],
    behavior: str,
    *,
    schedule: Obj | None = None,
    started_at: int | None = None,
) -> Obj:
    """Build, bill and (maybe) charge a new subscription; ``now()`` is the customer's clock.

    A ``schedule``'s subscription carries its id (and its current phase's metadata) from the
    start; ``started_at`` (a schedule's past ``start_date``) anchors the billing cycle there and
    bills the anchor-aligned period ``now()`` falls in."""
    prices = [
        recurring_price(ctx, s.get("price") if isinstance(s, dict) else None, f"items[{i}][price]")
        for i, s in enumerate(specs)
    ]
    sub = shapes.subscription(new_id("sub"), customer["id"], prices[0]["currency"])
    sub["test_clock"] = customer.get("test_clock")
    if schedule is not None:
        sub["schedule"] = schedule["id"]
    if started_at is not None:
        sub.update(start_date=started_at, billing_cycle_anchor=started_at)
    _billing_settings(ctx, sub)
    if schedule is not None:  # the schedule's default_settings decide how its subscription collects
        settings = schedule["default_settings"]
        sub["collection_method"] = settings["collection_method"]
        sub["days_until_due"] = (
            settings["invoice_settings"]["days_until_due"]
            if sub["collection_method"] == "send_invoice"
            else None
        )
    pm = _payment_method(ctx, sub, customer)
    automatic = sub["collection_method"] == "charge_automatically"
    if automatic and behavior == "error_if_incomplete" and billing.declines(ctx, pm):
        assert pm is not None
        raise billing.card_error(ctx, pm, None)
    for i, spec in enumerate(specs):
        _refuse_unmodelled(spec if isinstance(spec, dict) else {}, f"items[{i}]")
    items = [_new_item(ctx, sub, s, f"items[{i}]", sub["start_date"]) for i, s in enumerate(specs)]
    if started_at is not None:
        for item in items:
            rec = item["price"].get("recurring") or {"interval": "month", "interval_count": 1}
            start, end = clocks.period_around(started_at, now(), rec)
            item.update(current_period_start=start, current_period_end=end)
    sub["items"]["data"] = items
    ctx.account.put(sub)
    inv = billing.create_subscription_invoice(ctx, sub, "subscription_create")
    sub["latest_invoice"] = inv["id"]
    charge = automatic and inv["amount_due"] > 0 and behavior != "default_incomplete" and pm is not None
    will_pay = not automatic or inv["amount_due"] == 0 or (charge and not billing.declines(ctx, pm))
    sub["status"] = "active" if will_pay else "incomplete"
    ctx.emit("customer.subscription.created", sub)
    billing.finalize(ctx, inv)
    if charge and inv["status"] == "open":
        assert pm is not None
        if billing.needs_authentication(ctx, pm):
            # the customer is present for the first invoice: a 3-D Secure card waits for them
            billing.require_action(ctx, inv, pm)
        else:
            billing.attempt_payment(ctx, inv, pm)
    return sub


def _subscription(ctx: Ctx, sub_id: str) -> Obj:
    return ctx.account.require("subscription", sub_id, "subscription")


@router.get("/v1/subscriptions")
async def list_subscriptions(ctx: ApiCtx) -> Response:
    p = ctx.params
    items = ctx.account.newest_first("subscription")
    status = forms.as_str(p, "status")
    if status is None:
        items = [s for s in items if s["status"] != "canceled"]
    elif status != "all":
        items = [s for s in items if s["status"] == status]
    for name in ("customer", "collection_method"):
        value = forms.as_str(p, name)
        if value:
            items = [s for s in items if s[name] == value]
    price = forms.as_str(p, "price")
    if price:
        items = [s for s in items if any(i["price"]["id"] == price for i in s["items"]["data"])]
    return ctx.render(paginate(created_filter(p, items), p, "/v1/subscriptions"))


@router.get("/v1/subscriptions/search")
async def search_subscriptions(ctx: ApiCtx) -> Response:
    return ctx.render(
        search(ctx.account.newest_first("subscription"), ctx.params, "/v1/subscriptions/search")
    )


@router.get("/v1/subscriptions/{sub_id}")
async def retrieve_subscription(sub_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_subscription(ctx, sub_id))


def _refuse_unmodelled(spec: dict[str, Any], param: str) -> None:
    """Item-level discounts and tax rates would change the amounts: refused, never ignored."""
    for name in ("discounts", "tax_rates"):
        if spec.get(name) not in (None, "", []):
            raise unsupported_parameter(f"{param}[{name}]")


def update_items(ctx: Ctx, sub: Obj, specs: list[Any], prefix: str = "items", store: bool = True) -> None:
    """Apply ``items[]`` changes (add, change price or quantity, delete) to ``sub``; with
    ``store=False`` to a copy being previewed, leaving the account untouched."""
    items: list[Obj] = sub["items"]["data"]
    for index, spec in enumerate(specs):
        param = f"{prefix}[{index}]"
        if not isinstance(spec, dict):
            raise invalid(param, "Invalid object")
        _refuse_unmodelled(spec, param)
        item_id = spec.get("id")
        if not item_id:
            start = items[0]["current_period_start"] if items else shapes.now()
            items.append(_new_item(ctx, sub, spec, param, start, store))
            continue
        item = next((i for i in items if i["id"] == item_id), None)
        if item is None:
            raise invalid(f"{param}[id]", f"No such subscription item: '{item_id}'", code="resource_missing")
        if forms.as_bool(spec, "deleted", False):
            items.remove(item)
            if store:
                ctx.account.remove("subscription_item", item["id"])
            continue
        if spec.get("price"):
            item["price"] = dict(recurring_price(ctx, spec["price"], f"{param}[price]"))
            item["plan"] = shapes.plan(item["price"])
        if "quantity" in spec:
            item["quantity"] = forms.as_int(spec, "quantity")
        item["metadata"] = forms.merge_metadata(item["metadata"], spec.get("metadata"), f"{param}[metadata]")
    if not items:
        raise invalid(prefix, "A subscription must have at least one active plan.")


@router.post("/v1/subscriptions/{sub_id}")
async def update_subscription(sub_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        sub = _subscription(ctx, sub_id)
        if sub["status"] == "canceled" and set(ctx.params) - {"metadata", "cancellation_details", "expand"}:
            raise bad_state("A canceled subscription can only update its cancellation_details and metadata.")
        behavior = subscription_ops.proration_behavior(ctx.params)
        with frozen_at(clocks.clock_time(ctx.account, sub["customer"])):
            before = snapshot(sub)
            _billing_settings(ctx, sub)
            update_items(ctx, sub, forms.as_list(ctx.params, "items"))
            ctx.emit_update("customer.subscription.updated", before, sub)
            if behavior != "none" and sub["status"] in clocks.RENEWING:
                prorations = subscription_ops.prorate(ctx, sub, before["items"]["data"], shapes.now())
                if behavior == "always_invoice" and prorations:
                    subscription_ops.invoice_now(ctx, sub)
    return ctx.render(sub)


@router.delete("/v1/subscriptions/{sub_id}")
async def cancel_subscription(sub_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        sub = _subscription(ctx, sub_id)
        if sub["status"] == "canceled":
            raise bad_state(f"This subscription has already been canceled: {sub_id}")
        details = ctx.params.get("cancellation_details")
        with frozen_at(clocks.clock_time(ctx.account, sub["customer"])):
            subscription_ops.cancel(ctx, sub, shapes.now(), details if isinstance(details, dict) else None)
    return ctx.render(sub)


@router.get("/v1/subscription_items")
async def list_subscription_items(ctx: ApiCtx) -> Response:
    sub_id = forms.as_str(ctx.params, "subscription", required=True) or ""
    items = list(reversed(_subscription(ctx, sub_id)["items"]["data"]))
    return ctx.render(paginate(items, ctx.params, f"/v1/subscription_items?subscription={sub_id}"))


@router.get("/v1/subscription_items/{item_id}")
async def retrieve_subscription_item(item_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(ctx.account.require("subscription_item", item_id, "subscription item"))
