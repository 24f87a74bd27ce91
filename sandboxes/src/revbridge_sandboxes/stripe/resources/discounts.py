"""``/v1/coupons`` and ``/v1/promotion_codes``: stored, listed, updated and deleted as Stripe does.

A subscription's ``discounts`` redeem them and reduce its invoices (``discount_ops.py``);
``discounts`` on invoices, invoice items, subscription items and customers are refused by name
(``params.NOT_MODELLED``) rather than ignored.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Response

from .. import forms
from ..deps import ApiCtx, Ctx
from ..errors import invalid, missing
from ..listing import created_filter, equal_filter, paginate
from ..state import Obj, new_id, now, snapshot

router = APIRouter()
DURATIONS = ("forever", "once", "repeating")


def _coupon(ctx: Ctx, coupon_id: str, param: str = "coupon") -> Obj:
    return ctx.account.require("coupon", coupon_id, "coupon", param)


@router.post("/v1/coupons")
async def create_coupon(ctx: ApiCtx) -> Response:
    p = ctx.params
    percent_off = forms.as_number(p, "percent_off", low="0.01", high="100")
    amount_off = forms.as_int(p, "amount_off")
    if (percent_off is None) == (amount_off is None):
        raise invalid("percent_off", "You must pass exactly one of amount_off or percent_off.")
    currency = (forms.as_str(p, "currency") or "").lower() or None
    if amount_off is not None and currency is None:
        raise missing("currency")
    duration = forms.as_str(p, "duration") or "once"  # values: the spec's enum table
    months = forms.as_int(p, "duration_in_months")
    if (duration == "repeating") != (months is not None):
        raise invalid(
            "duration_in_months", "duration_in_months is required exactly when duration is repeating."
        )
    coupon_id = forms.as_str(p, "id") or new_id("", 8)[1:]
    async with ctx.account.lock:
        if ctx.account.get("coupon", coupon_id) is not None:
            raise invalid("id", "Coupon already exists.", code="resource_already_exists")
        coupon = {
            "id": coupon_id,
            "object": "coupon",
            "amount_off": amount_off,
            "created": now(),
            "currency": currency,
            "duration": duration,
            "duration_in_months": months,
            "livemode": False,
            "max_redemptions": forms.as_int(p, "max_redemptions"),
            "metadata": forms.merge_metadata({}, p.get("metadata")),
            "name": forms.as_str(p, "name"),
            "percent_off": percent_off,
            "redeem_by": forms.as_int(p, "redeem_by"),
            "times_redeemed": 0,
            "valid": True,
        }
        ctx.account.put(coupon)
        ctx.emit("coupon.created", coupon)
    return ctx.render(coupon)


@router.get("/v1/coupons")
async def list_coupons(ctx: ApiCtx) -> Response:
    items = created_filter(ctx.params, ctx.account.newest_first("coupon"))
    return ctx.render(paginate(items, ctx.params, "/v1/coupons"))


@router.get("/v1/coupons/{coupon_id}")
async def retrieve_coupon(coupon_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_coupon(ctx, coupon_id, "id"))


@router.post("/v1/coupons/{coupon_id}")
async def update_coupon(coupon_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        coupon = _coupon(ctx, coupon_id, "id")
        before = snapshot(coupon)
        if "name" in ctx.params:
            coupon["name"] = forms.as_str(ctx.params, "name")
        coupon["metadata"] = forms.merge_metadata(coupon["metadata"], ctx.params.get("metadata"))
        ctx.emit_update("coupon.updated", before, coupon)
    return ctx.render(coupon)


@router.delete("/v1/coupons/{coupon_id}")
async def delete_coupon(coupon_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        coupon = _coupon(ctx, coupon_id, "id")
        ctx.account.remove("coupon", coupon_id)
        ctx.emit("coupon.deleted", coupon)
    return ctx.render({"id": coupon_id, "object": "coupon", "deleted": True})


CODE = re.compile(r"^[a-zA-Z0-9]{3,}$")


@router.post("/v1/promotion_codes")
async def create_promotion_code(ctx: ApiCtx) -> Response:
    p = ctx.params
    promotion = forms.as_object(p, "promotion") or {}
    coupon_id = forms.as_str(promotion, "coupon")
    if forms.as_str(promotion, "type") != "coupon" or not coupon_id:
        raise missing("promotion[coupon]")
    code = forms.as_str(p, "code") or new_id("", 8)[1:].upper()
    if not CODE.match(code):
        raise invalid("code", "Promotion codes may only contain letters and digits, at least 3 of them.")
    async with ctx.account.lock:
        coupon = _coupon(ctx, coupon_id, "promotion[coupon]")
        active = [pc for pc in ctx.account.newest_first("promotion_code") if pc["active"]]
        if any(pc["code"].lower() == code.lower() for pc in active):
            raise invalid("code", "An active promotion code with this code already exists.")
        customer_id = forms.as_str(p, "customer")
        if customer_id:
            ctx.account.reference("customer", customer_id, "customer", "customer")
        restrictions = forms.as_object(p, "restrictions") or {}
        promo: Obj = {
            "id": new_id("promo"),
            "object": "promotion_code",
            "active": forms.as_bool(p, "active", True),
            "code": code,
            "created": now(),
            "customer": customer_id,
            "customer_account": None,
            "expires_at": forms.as_int(p, "expires_at"),
            "livemode": False,
            "max_redemptions": forms.as_int(p, "max_redemptions"),
            "metadata": forms.merge_metadata({}, p.get("metadata")),
            "promotion": {"coupon": coupon["id"], "type": "coupon"},
            "restrictions": {
                "currency_options": {},
                "first_time_transaction": bool(forms.as_bool(restrictions, "first_time_transaction", False)),
                "minimum_amount": forms.as_int(restrictions, "minimum_amount"),
                "minimum_amount_currency": forms.as_str(restrictions, "minimum_amount_currency"),
            },
            "times_redeemed": 0,
        }
        ctx.account.put(promo)
        ctx.emit("promotion_code.created", promo)
    return ctx.render(promo)


@router.get("/v1/promotion_codes")
async def list_promotion_codes(ctx: ApiCtx) -> Response:
    p = ctx.params
    items = ctx.account.newest_first("promotion_code")
    if "active" in p:
        items = [pc for pc in items if pc["active"] == forms.as_bool(p, "active")]
    items = equal_filter(p, items, ("code", "customer"))
    coupon_id = forms.as_str(p, "coupon")
    if coupon_id:
        items = [pc for pc in items if pc["promotion"]["coupon"] == coupon_id]
    return ctx.render(paginate(created_filter(p, items), p, "/v1/promotion_codes"))


@router.get("/v1/promotion_codes/{promo_id}")
async def retrieve_promotion_code(promo_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(ctx.account.require("promotion_code", promo_id, "promotion code", "promotion_code"))


@router.post("/v1/promotion_codes/{promo_id}")
async def update_promotion_code(promo_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        promo = ctx.account.require("promotion_code", promo_id, "promotion code", "promotion_code")
        before = snapshot(promo)
        if "active" in ctx.params:
            promo["active"] = forms.as_bool(ctx.params, "active")
        promo["metadata"] = forms.merge_metadata(promo["metadata"], ctx.params.get("metadata"))
        ctx.emit_update("promotion_code.updated", before, promo)
    return ctx.render(promo)
