"""Coupons and promotion codes redeemed on a subscription, and applied to its invoices.

``discounts[]`` on a subscription (``{coupon}``, ``{promotion_code}`` or an existing ``{discount}``)
makes ``discount`` objects (``di_...``). Every invoice the subscription bills while a discount is
in effect carries it: a ``percent_off`` coupon takes its share of each discountable line, an
``amount_off`` one is spread over the positive lines in proportion to their amounts (the last
line takes the rounding), never more than they sum to. Each line records ``discount_amounts`` and
``pretax_credit_amounts``; the invoice ``total_discount_amounts`` and a total net of them.
Durations follow the coupon: ``once`` (the first invoice, then the discount ends), ``repeating``
(``duration_in_months`` from redemption), ``forever``. Percentages round half up to the minor
unit (a guess at Stripe's rounding).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from . import shapes
from .errors import invalid
from .state import Obj, new_id, now

if TYPE_CHECKING:
    from .deps import Ctx


def _redeemable_coupon(ctx: Ctx, coupon_id: Any, param: str) -> Obj:
    coupon = ctx.account.reference("coupon", coupon_id, "coupon", param)
    redeem_by = coupon.get("redeem_by")
    full = coupon["max_redemptions"] is not None and coupon["times_redeemed"] >= coupon["max_redemptions"]
    if not coupon["valid"] or full or (redeem_by is not None and int(redeem_by) <= now()):
        raise invalid(param, f"Coupon {coupon['id']} is no longer valid.", code="coupon_expired")
    return coupon


def _redeemable_promotion_code(ctx: Ctx, promo_id: Any, customer_id: str, param: str) -> Obj:
    promo = ctx.account.reference("promotion_code", promo_id, "promotion code", param)
    expires = promo.get("expires_at")
    full = promo["max_redemptions"] is not None and promo["times_redeemed"] >= promo["max_redemptions"]
    if not promo["active"] or full or (expires is not None and int(expires) <= now()):
        raise invalid(
            param, f"Promotion code {promo['code']} is no longer active.", code="promotion_code_expired"
        )
    if promo.get("customer") not in (None, customer_id):
        raise invalid(param, f"Promotion code {promo['code']} cannot be redeemed by this customer.")
    return promo


def redeem(ctx: Ctx, specs: list[Any], sub: Obj, prefix: str = "discounts") -> list[str]:
    """The discount ids ``specs`` name for ``sub``, redeeming coupons and promotion codes."""
    ids: list[str] = []
    for index, spec in enumerate(specs):
        param = f"{prefix}[{index}]"
        if not isinstance(spec, dict) or len([k for k in spec if spec[k]]) != 1:
            raise invalid(param, "Each discount must name exactly one of coupon, promotion_code or discount.")
        if spec.get("discount"):
            existing = ctx.account.reference("discount", spec["discount"], "discount", f"{param}[discount]")
            ids.append(existing["id"])
            continue
        promo = None
        if spec.get("promotion_code"):
            promo = _redeemable_promotion_code(
                ctx, spec["promotion_code"], sub["customer"], f"{param}[promotion_code]"
            )
            coupon = _redeemable_coupon(ctx, promo["promotion"]["coupon"], f"{param}[promotion_code]")
        else:
            coupon = _redeemable_coupon(ctx, spec.get("coupon"), f"{param}[coupon]")
        ids.append(_create(ctx, coupon, promo, sub)["id"])
    return ids


def _create(ctx: Ctx, coupon: Obj, promo: Obj | None, sub: Obj) -> Obj:
    start = now()
    months = coupon.get("duration_in_months")
    end = (
        shapes.add_interval(start, "month", int(months))
        if coupon["duration"] == "repeating" and months
        else None
    )
    discount = {
        "id": new_id("di"),
        "object": "discount",
        "checkout_session": None,
        "customer": sub["customer"],
        "customer_account": None,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": promo["id"] if promo else None,
        "source": {"coupon": coupon["id"], "type": "coupon"},
        "start": start,
        "subscription": sub["id"],
        "subscription_item": None,
    }
    for redeemed in (coupon, promo):
        if redeemed is not None:
            redeemed["times_redeemed"] = int(redeemed["times_redeemed"]) + 1
    if coupon["max_redemptions"] is not None and coupon["times_redeemed"] >= coupon["max_redemptions"]:
        coupon["valid"] = False
    ctx.account.put(discount)
    ctx.emit("customer.discount.created", discount)
    return discount


def _in_effect(discount: Obj, at: int) -> bool:
    return discount["end"] is None or int(discount["end"]) > at


def apply(ctx: Ctx, inv: Obj, discount_ids: list[str]) -> list[Obj]:
    """Discount ``inv``'s lines (totals already set by ``billing.set_lines``); the discounts used."""
    used = []
    for discount_id in discount_ids:
        discount = ctx.account.get("discount", discount_id)
        coupon = ctx.account.get("coupon", discount["source"]["coupon"]) if discount else None
        if discount is None or coupon is None or not _in_effect(discount, int(inv["created"])):
            continue
        if coupon["amount_off"] is not None and coupon["currency"] != inv["currency"]:
            continue
        shares = _shares(coupon, [line for line in inv["lines"]["data"] if line.get("discountable", True)])
        if not any(shares.values()):
            continue
        for line in inv["lines"]["data"]:
            amount = shares.get(line["id"], 0)
            if amount:
                line["discounts"].append(discount["id"])
                line["discount_amounts"].append({"amount": amount, "discount": discount["id"]})
                line["pretax_credit_amounts"].append(_credit(amount, discount["id"]))
        used.append(discount)
    _totals(inv, used)
    return used


def _shares(coupon: Obj, lines: list[Obj]) -> dict[str, int]:
    if coupon["percent_off"] is not None:
        rate = Decimal(str(coupon["percent_off"])) / 100
        return {
            line["id"]: int((Decimal(int(line["amount"])) * rate).quantize(Decimal(1), ROUND_HALF_UP))
            for line in lines
        }
    positive = [line for line in lines if int(line["amount"]) > 0]
    base = sum(int(line["amount"]) for line in positive)
    off = min(int(coupon["amount_off"]), base)
    shares: dict[str, int] = {}
    left = off
    for i, line in enumerate(positive):
        share = left if i == len(positive) - 1 else off * int(line["amount"]) // base
        shares[line["id"]] = share
        left -= share
    return shares


def _credit(amount: int, discount_id: str) -> Obj:
    return {"amount": amount, "credit_balance_transaction": None, "discount": discount_id, "type": "discount"}


def _totals(inv: Obj, used: list[Obj]) -> None:
    by_discount = {
        d["id"]: sum(
            a["amount"]
            for line in inv["lines"]["data"]
            for a in line["discount_amounts"]
            if a["discount"] == d["id"]
        )
        for d in used
    }
    off = sum(by_discount.values())
    inv["discounts"] = [d["id"] for d in used]
    inv["total_discount_amounts"] = [{"amount": a, "discount": i} for i, a in by_discount.items()]
    inv["total_pretax_credit_amounts"] = [_credit(a, i) for i, a in by_discount.items()]
    total = int(inv["subtotal"]) - off
    inv.update(total=total, total_excluding_tax=total, amount_due=total)
    inv["amount_remaining"] = total - int(inv["amount_paid"])


def spend_once(ctx: Ctx, sub: Obj, used: list[Obj]) -> None:
    """A ``once`` coupon's discount ends with the first invoice it reduced."""
    for discount in used:
        coupon = ctx.account.get("coupon", discount["source"]["coupon"]) or {}
        if coupon.get("duration") == "once":
            discount["end"] = now()
            sub["discounts"] = [i for i in sub["discounts"] if i != discount["id"]]
