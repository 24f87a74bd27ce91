"""``/v1/products`` and ``/v1/prices``: the catalog subscriptions bill from."""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import forms, shapes, tiers
from ..deps import ApiCtx, Ctx
from ..errors import invalid, missing
from ..listing import created_filter, paginate, search
from ..state import Obj, new_id, snapshot

router = APIRouter()

INTERVALS = ("day", "week", "month", "year")


def _apply_product(ctx: Ctx, product: Obj) -> None:
    p = ctx.params
    for name in (
        "name",
        "description",
        "statement_descriptor",
        "tax_code",
        "unit_label",
        "url",
        "default_price",
    ):
        if name in p:
            product[name] = p[name] or None
    if "active" in p:
        product["active"] = forms.as_bool(p, "active")
    if "images" in p:
        product["images"] = forms.as_list(p, "images")
    product["metadata"] = forms.merge_metadata(product["metadata"], p.get("metadata"))
    product["updated"] = shapes.now()


@router.post("/v1/products")
async def create_product(ctx: ApiCtx) -> Response:
    name = forms.as_str(ctx.params, "name", required=True)
    object_id = forms.as_str(ctx.params, "id") or new_id("prod", 14)
    async with ctx.account.lock:
        if ctx.account.get("product", object_id):
            raise invalid(
                "id", f"Product already exists with ID '{object_id}'", code="resource_already_exists"
            )
        product = shapes.product(object_id)
        product["name"] = name
        _apply_product(ctx, product)
        ctx.account.put(product)
        ctx.emit("product.created", product)
    return ctx.render(product)


@router.get("/v1/products")
async def list_products(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("product")
    active = forms.as_bool(ctx.params, "active")
    if active is not None:
        items = [i for i in items if i["active"] is active]
    ids = forms.as_list(ctx.params, "ids")
    if ids:
        items = [i for i in items if i["id"] in ids]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/products"))


@router.get("/v1/products/search")
async def search_products(ctx: ApiCtx) -> Response:
    return ctx.render(search(ctx.account.newest_first("product"), ctx.params, "/v1/products/search"))


@router.get("/v1/products/{product_id}")
async def retrieve_product(product_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(ctx.account.require("product", product_id, "product"))


@router.post("/v1/products/{product_id}")
async def update_product(product_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        product = ctx.account.require("product", product_id, "product")
        before = snapshot(product)
        _apply_product(ctx, product)
        before["updated"] = product["updated"]
        ctx.emit_update("product.updated", before, product)
    return ctx.render(product)


def _price_product(ctx: Ctx) -> str:
    product_id = forms.as_str(ctx.params, "product")
    if product_id:
        ctx.account.reference("product", product_id, "product", "product")
        return product_id
    data = ctx.params.get("product_data")
    if not isinstance(data, dict) or not data.get("name"):
        raise missing("product")
    product = shapes.product(new_id("prod", 14))
    product["name"] = data["name"]
    product["metadata"] = forms.merge_metadata({}, data.get("metadata"))
    ctx.account.put(product)
    ctx.emit("product.created", product)
    return str(product["id"])


def _claim_lookup_key(ctx: Ctx, price: Obj) -> None:
    key = forms.as_str(ctx.params, "lookup_key")
    if "lookup_key" not in ctx.params:
        return
    holder = next((p for p in ctx.account.newest_first("price") if key and p.get("lookup_key") == key), None)
    if holder and holder["id"] != price["id"]:
        if not forms.as_bool(ctx.params, "transfer_lookup_key", False):
            raise invalid("lookup_key", f"A price (`{holder['id']}`) already uses that lookup key.")
        holder["lookup_key"] = None
    price["lookup_key"] = key


@router.post("/v1/prices")
async def create_price(ctx: ApiCtx) -> Response:
    p = ctx.params
    currency = (forms.as_str(p, "currency", required=True) or "").lower()
    scheme = forms.as_str(p, "billing_scheme") or "per_unit"
    if scheme not in ("per_unit", "tiered"):
        raise invalid("billing_scheme", "Invalid billing_scheme: must be one of per_unit or tiered")
    unit_amount = forms.as_int(p, "unit_amount")
    if unit_amount is None:
        unit_amount = forms.as_decimal_int(p, "unit_amount_decimal")
    price_tiers: list[Obj] | None = None
    if scheme == "tiered":
        if unit_amount is not None:
            # guess: Stripe's wording for a unit amount on a tiered price
            raise invalid(
                "unit_amount" if "unit_amount" in p else "unit_amount_decimal",
                "You may only specify one of these parameters: unit_amount, tiers.",
            )
        tiers_mode, price_tiers = tiers.parse(p)
    else:
        for name in ("tiers", "tiers_mode"):
            if p.get(name) not in (None, "", []):
                raise invalid(name, f"`{name}` can only be set when `billing_scheme=tiered`.")
        if unit_amount is None:
            raise missing("unit_amount")
    recurring = p.get("recurring")
    if recurring is not None and not isinstance(recurring, dict):
        raise invalid("recurring", "Invalid object")
    async with ctx.account.lock:
        price = shapes.price(new_id("price"))
        if price_tiers is None:
            price.update(currency=currency, unit_amount=unit_amount, unit_amount_decimal=str(unit_amount))
        else:
            price.update(currency=currency, billing_scheme="tiered", tiers_mode=tiers_mode)
            ctx.account.price_tiers[price["id"]] = price_tiers
        if recurring:
            interval = recurring.get("interval")
            if interval not in INTERVALS:
                raise invalid(
                    "recurring[interval]",
                    f"Invalid recurring[interval]: must be one of {', '.join(INTERVALS)}",
                )
            count = forms.as_int(recurring, "interval_count", 1) or 1
            usage_type = recurring.get("usage_type") or "licensed"
            if usage_type not in ("licensed", "metered"):
                raise invalid("recurring[usage_type]", "Invalid usage_type: must be licensed or metered")
            price["recurring"] = shapes.recurring(interval, count, usage_type)
            if usage_type == "metered":
                meter_id = forms.as_str(recurring, "meter")
                if not meter_id:
                    raise missing("recurring[meter]")
                ctx.account.reference("billing.meter", meter_id, "billing meter", "recurring[meter]")
                price["recurring"]["meter"] = meter_id
            price["type"] = "recurring"
        for name in ("nickname", "tax_behavior"):
            if p.get(name):
                price[name] = p[name]
        price["metadata"] = forms.merge_metadata({}, p.get("metadata"))
        price["active"] = forms.as_bool(p, "active", True)
        _claim_lookup_key(ctx, price)
        price["product"] = _price_product(ctx)
        ctx.account.put(price)
        ctx.emit("price.created", price)
    return ctx.render(price)


@router.get("/v1/prices")
async def list_prices(ctx: ApiCtx) -> Response:
    p = ctx.params
    items = ctx.account.newest_first("price")
    active = forms.as_bool(p, "active")
    if active is not None:
        items = [i for i in items if i["active"] is active]
    for name in ("product", "currency", "type"):
        value = forms.as_str(p, name)
        if value:
            items = [i for i in items if i.get(name) == value]
    keys = forms.as_list(p, "lookup_keys")
    if keys:
        items = [i for i in items if i.get("lookup_key") in keys]
    return ctx.render(paginate(created_filter(p, items), p, "/v1/prices"))


@router.get("/v1/prices/search")
async def search_prices(ctx: ApiCtx) -> Response:
    return ctx.render(search(ctx.account.newest_first("price"), ctx.params, "/v1/prices/search"))


@router.get("/v1/prices/{price_id}")
async def retrieve_price(price_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(ctx.account.require("price", price_id, "price"))


@router.post("/v1/prices/{price_id}")
async def update_price(price_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        price = ctx.account.require("price", price_id, "price")
        before = snapshot(price)
        if "active" in ctx.params:
            price["active"] = forms.as_bool(ctx.params, "active")
        for name in ("nickname", "tax_behavior"):
            if name in ctx.params:
                price[name] = ctx.params[name] or None
        _claim_lookup_key(ctx, price)
        price["metadata"] = forms.merge_metadata(price["metadata"], ctx.params.get("metadata"))
        ctx.emit_update("price.updated", before, price)
    return ctx.render(price)


def inline_price(ctx: Ctx, data: object, param: str) -> Obj:
    """``price_data`` (a schedule phase item's, ...): a new recurring Price made for it, as Stripe
    does. guess: it is created inactive (not offered for reuse) and without a ``price.created``
    event, as Stripe's inline prices appear in the Dashboard."""
    if not isinstance(data, dict):
        raise invalid(param, "Invalid object")
    currency = (forms.as_str(data, "currency") or "").lower()
    if not currency:
        raise missing(f"{param}[currency]")
    product_id = forms.as_str(data, "product")
    if not product_id:
        raise missing(f"{param}[product]")
    ctx.account.reference("product", product_id, "product", f"{param}[product]")
    recurring = data.get("recurring")
    if not isinstance(recurring, dict):
        raise missing(f"{param}[recurring]")
    interval = recurring.get("interval")
    if interval not in INTERVALS:
        raise invalid(
            f"{param}[recurring][interval]",
            f"Invalid {param}[recurring][interval]: must be one of {', '.join(INTERVALS)}",
        )
    count = forms.as_int(recurring, "interval_count", 1) or 1
    unit_amount = forms.as_int(data, "unit_amount")
    decimal = data.get("unit_amount_decimal")
    if unit_amount is not None and decimal not in (None, ""):
        raise invalid(
            f"{param}[unit_amount]",
            "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
        )
    if unit_amount is None:
        unit_amount = forms.as_decimal_int(data, "unit_amount_decimal")
    if unit_amount is None:
        raise missing(f"{param}[unit_amount]")
    price = shapes.price(new_id("price"))
    price.update(
        active=False,
        currency=currency,
        product=product_id,
        recurring=shapes.recurring(str(interval), count),
        type="recurring",
        unit_amount=unit_amount,
        unit_amount_decimal=str(unit_amount),
    )
    if data.get("tax_behavior"):
        price["tax_behavior"] = data["tax_behavior"]
    return ctx.account.put(price)
