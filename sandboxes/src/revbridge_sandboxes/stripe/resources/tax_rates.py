"""``/v1/tax_rates``: stored, listed and updated as Stripe does (a rate's percentage and
inclusiveness never change once made). A subscription's ``default_tax_rates`` tax its invoices
(``tax_ops.py``); ``tax_rates`` and ``default_tax_rates`` elsewhere are refused by name
(``params.NOT_MODELLED``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import forms
from ..deps import ApiCtx, Ctx
from ..listing import created_filter, paginate
from ..state import Obj, new_id, now, snapshot

router = APIRouter(prefix="/v1/tax_rates")
EDITABLE = ("country", "description", "display_name", "jurisdiction", "state", "tax_type")


def _rate(ctx: Ctx, rate_id: str) -> Obj:
    return ctx.account.require("tax_rate", rate_id, "tax rate", "tax_rate")


@router.post("")
async def create_tax_rate(ctx: ApiCtx) -> Response:
    p = ctx.params
    display_name = forms.as_str(p, "display_name", required=True)
    inclusive = forms.as_bool(p, "inclusive")
    if inclusive is None:
        forms.as_str(p, "inclusive", required=True)  # the documented missing-parameter error
    percentage = forms.as_number(p, "percentage", low="0", high="100")
    if percentage is None:
        forms.as_str(p, "percentage", required=True)
    rate = {
        "id": new_id("txr"),
        "object": "tax_rate",
        "active": forms.as_bool(p, "active", True),
        "country": forms.as_str(p, "country"),
        "created": now(),
        "description": forms.as_str(p, "description"),
        "display_name": display_name,
        "effective_percentage": percentage,
        "flat_amount": None,
        "inclusive": inclusive,
        "jurisdiction": forms.as_str(p, "jurisdiction"),
        "jurisdiction_level": None,
        "livemode": False,
        "metadata": forms.merge_metadata({}, p.get("metadata")),
        "percentage": percentage,
        "rate_type": "percentage",
        "state": forms.as_str(p, "state"),
        "tax_type": forms.as_str(p, "tax_type"),  # values: the spec's enum table
    }
    async with ctx.account.lock:
        ctx.account.put(rate)
        ctx.emit("tax_rate.created", rate)
    return ctx.render(rate)


@router.get("")
async def list_tax_rates(ctx: ApiCtx) -> Response:
    p = ctx.params
    items = ctx.account.newest_first("tax_rate")
    for name in ("active", "inclusive"):
        if name in p:
            items = [r for r in items if r[name] == forms.as_bool(p, name)]
    return ctx.render(paginate(created_filter(p, items), p, "/v1/tax_rates"))


@router.get("/{rate_id}")
async def retrieve_tax_rate(rate_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_rate(ctx, rate_id))


@router.post("/{rate_id}")
async def update_tax_rate(rate_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        rate = _rate(ctx, rate_id)
        before = snapshot(rate)
        if "active" in ctx.params:
            rate["active"] = forms.as_bool(ctx.params, "active")
        for name in EDITABLE:
            if name in ctx.params:
                rate[name] = forms.as_str(ctx.params, name) or None
        rate["metadata"] = forms.merge_metadata(rate["metadata"], ctx.params.get("metadata"))
        ctx.emit_update("tax_rate.updated", before, rate)
    return ctx.render(rate)
