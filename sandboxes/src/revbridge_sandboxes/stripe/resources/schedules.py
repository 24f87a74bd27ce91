"""``/v1/subscription_schedules``: phases of items that follow each other on the (test) clock.

Creating a schedule starts its subscription with the first phase at once (``start_date=now``);
each phase lasts ``iterations`` billing periods of its first price or until ``end_date``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from .. import clocks, forms, shapes, subscription_ops
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid, missing
from ..listing import created_filter, paginate
from ..state import Obj, frozen_at, new_id, now, snapshot
from .subscriptions import create_for_customer, recurring_price

router = APIRouter(prefix="/v1/subscription_schedules")

END_BEHAVIORS = ("release", "cancel")


def _phase(ctx: Ctx, spec: Any, index: int, start: int, last: bool) -> Obj:
    param = f"phases[{index}]"
    if not isinstance(spec, dict):
        raise invalid(param, "Invalid object")
    items = []
    for j, item in enumerate(forms.as_list(spec, "items")):
        if not isinstance(item, dict):
            raise invalid(f"{param}[items][{j}]", "Invalid object")
        price = recurring_price(ctx, item.get("price"), f"{param}[items][{j}][price]")
        items.append(
            {
                "billing_thresholds": None,
                "discounts": [],
                "metadata": forms.merge_metadata({}, item.get("metadata")),
                "plan": shapes.plan(price),
                "price": price["id"],
                "quantity": forms.as_int(item, "quantity", 1),
                "tax_rates": [],
            }
        )
    if not items:
        raise missing(f"{param}[items]")
    end = forms.as_int(spec, "end_date")
    iterations = forms.as_int(spec, "iterations")
    if end is None:
        if iterations is None and not last:
            raise missing(f"{param}[end_date]")
        rec = items[0]["plan"]
        end = shapes.add_interval(start, rec["interval"], int(rec["interval_count"]) * (iterations or 1))
    if end <= start:
        raise invalid(f"{param}[end_date]", "The phase end_date must be after its start_date.")
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "billing_cycle_anchor": None,
        "billing_thresholds": None,
        "collection_method": None,
        "currency": items[0]["plan"]["currency"],
        "default_payment_method": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "end_date": end,
        "invoice_settings": None,
        "items": items,
        "metadata": forms.merge_metadata({}, spec.get("metadata")),
        "on_behalf_of": None,
        "proration_behavior": "create_prorations",
        "start_date": start,
        "transfer_data": None,
        "trial_end": None,
    }


def _schedule(customer: Obj, phases: list[Obj], end_behavior: str) -> Obj:
    return {
        "id": new_id("sub_sched"),
        "object": "subscription_schedule",
        "application": None,
        "billing_mode": {"flexible": None, "type": "classic"},
        "canceled_at": None,
        "completed_at": None,
        "created": now(),
        "current_phase": {"start_date": phases[0]["start_date"], "end_date": phases[0]["end_date"]},
        "customer": customer["id"],
        "customer_account": None,
        "default_settings": {
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": "automatic",
            "billing_thresholds": None,
            "collection_method": "charge_automatically",
            "default_payment_method": None,
            "description": None,
            "invoice_settings": {
                "account_tax_ids": None,
                "custom_fields": None,
                "days_until_due": None,
                "description": None,
                "footer": None,
                "issuer": {"type": "self"},
            },
            "on_behalf_of": None,
            "transfer_data": None,
        },
        "end_behavior": end_behavior,
        "livemode": False,
        "metadata": {},
        "pause_schedules": [],
        "phases": phases,
        "released_at": None,
        "released_subscription": None,
        "status": "active",
        "subscription": None,
        "test_clock": customer.get("test_clock"),
    }


@router.post("")
async def create_schedule(ctx: ApiCtx) -> Response:
    p = ctx.params
    end_behavior = forms.as_str(p, "end_behavior") or "release"
    if end_behavior not in END_BEHAVIORS:
        raise invalid("end_behavior", "Invalid end_behavior: must be one of release, cancel")
    specs = forms.as_list(p, "phases")
    if not specs:
        raise missing("phases")
    start_param = p.get("start_date")
    if start_param not in (None, "", "now") and forms.as_int(p, "start_date") is None:
        raise invalid("start_date", "Invalid start_date")
    async with ctx.account.lock:
        customer = ctx.account.reference(
            "customer", forms.as_str(p, "customer", required=True), "customer", "customer"
        )
        with frozen_at(clocks.clock_time(ctx.account, customer["id"])):
            start = now()
            phases = []
            for i, spec in enumerate(specs):
                phases.append(_phase(ctx, spec, i, start, last=i == len(specs) - 1))
                start = phases[-1]["end_date"]
            schedule = _schedule(customer, phases, end_behavior)
            schedule["metadata"] = forms.merge_metadata({}, p.get("metadata"))
            ctx.account.put(schedule)
            first = [{"price": i["price"], "quantity": str(i["quantity"])} for i in phases[0]["items"]]
            sub = create_for_customer(ctx, customer, first, "allow_incomplete")
            sub["schedule"] = schedule["id"]
            schedule["subscription"] = sub["id"]
            ctx.emit("subscription_schedule.created", schedule)
    return ctx.render(schedule)


@router.get("")
async def list_schedules(ctx: ApiCtx) -> Response:
    items = ctx.account.newest_first("subscription_schedule")
    customer = forms.as_str(ctx.params, "customer")
    if customer:
        items = [s for s in items if s["customer"] == customer]
    return ctx.render(paginate(created_filter(ctx.params, items), ctx.params, "/v1/subscription_schedules"))


def _get(ctx: Ctx, schedule_id: str) -> Obj:
    return ctx.account.require("subscription_schedule", schedule_id, "subscription schedule", "schedule")


@router.get("/{schedule_id}")
async def retrieve_schedule(schedule_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_get(ctx, schedule_id))


@router.post("/{schedule_id}/cancel")
async def cancel_schedule(schedule_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        schedule = _get(ctx, schedule_id)
        if schedule["status"] not in ("active", "not_started"):
            raise bad_state(f"You cannot cancel a schedule that is {schedule['status']}.")
        with frozen_at(clocks.clock_time(ctx.account, schedule["customer"])):
            sub = ctx.account.get("subscription", schedule["subscription"] or "")
            if sub is not None and sub["status"] != "canceled":
                subscription_ops.cancel(ctx, sub, now())
            schedule.update(status="canceled", canceled_at=now(), current_phase=None)
            ctx.emit("subscription_schedule.canceled", schedule)
    return ctx.render(schedule)


@router.post("/{schedule_id}/release")
async def release_schedule(schedule_id: str, ctx: ApiCtx) -> Response:
    async with ctx.account.lock:
        schedule = _get(ctx, schedule_id)
        if schedule["status"] not in ("active", "not_started"):
            raise bad_state(f"You cannot release a schedule that is {schedule['status']}.")
        before = snapshot(schedule)
        with frozen_at(clocks.clock_time(ctx.account, schedule["customer"])):
            sub = ctx.account.get("subscription", schedule["subscription"] or "")
            if sub is not None:
                sub["schedule"] = None
            schedule.update(
                status="released",
                released_at=now(),
                released_subscription=schedule["subscription"],
                subscription=None,
                current_phase=None,
            )
            ctx.emit_update("subscription_schedule.released", before, schedule)
    return ctx.render(schedule)
