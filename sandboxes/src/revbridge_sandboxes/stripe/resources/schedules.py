"""``/v1/subscription_schedules``: phases of items that follow each other on the (test) clock.

A schedule starting now (``start_date=now`` or omitted) makes its subscription with the phase in
effect at once; one starting later is ``not_started`` until its test clock gets there; a past
``start_date`` starts the subscription then. Each phase lasts until ``end_date``, for ``duration``
or ``iterations`` billing periods of its first price; its items name a ``price`` or give
``price_data``. Updating replaces the phases by Stripe's rules (see ``_replace_phases``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from .. import clocks, forms, schedules, shapes, subscription_ops
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid, missing, unsupported_parameter
from ..listing import created_filter, paginate
from ..state import Obj, frozen_at, new_id, now, snapshot
from .catalog import inline_price
from .subscriptions import recurring_price

router = APIRouter(prefix="/v1/subscription_schedules")

END_BEHAVIORS = ("release", "cancel")


# Phase settings whose effect on billing the sandbox does not model: refused by name, never ignored
UNMODELLED_PHASE = (
    "add_invoice_items",
    "application_fee_percent",
    "automatic_tax",
    "billing_cycle_anchor",
    "billing_thresholds",
    "collection_method",
    "coupon",
    "default_payment_method",
    "default_tax_rates",
    "discounts",
    "invoice_settings",
    "on_behalf_of",
    "transfer_data",
    "trial",
    "trial_end",
)
UNMODELLED_ITEM = ("billing_thresholds", "discounts", "tax_rates")


def _refuse(spec: dict[str, Any], names: tuple[str, ...], param: str) -> None:
    for name in names:
        if spec.get(name) not in (None, "", [], {}):
            raise unsupported_parameter(f"{param}[{name}]")


def _phase_item(ctx: Ctx, item: Any, param: str) -> Obj:
    if not isinstance(item, dict):
        raise invalid(param, "Invalid object")
    _refuse(item, UNMODELLED_ITEM, param)
    if item.get("price") and item.get("price_data") not in (None, ""):
        raise invalid(f"{param}[price]", "You may only specify one of these parameters: price, price_data.")
    if item.get("price_data") not in (None, ""):
        price = inline_price(ctx, item["price_data"], f"{param}[price_data]")
    else:
        price = recurring_price(ctx, item.get("price"), f"{param}[price]")
    quantity = forms.as_int(item, "quantity", 1)
    if quantity is None or quantity < 0:
        raise invalid(f"{param}[quantity]", "This value must be greater than or equal to 0.")
    return {
        "billing_thresholds": None,
        "discounts": [],
        "metadata": forms.merge_metadata({}, item.get("metadata"), f"{param}[metadata]"),
        "plan": shapes.plan(price),
        "price": price["id"],
        "quantity": quantity,
        "tax_rates": [],
    }


def _phase(ctx: Ctx, spec: Any, param: str, start: int, last: bool, ts: int) -> Obj:
    """One phase from its parameters, starting at ``start``: it lasts until ``end_date`` or for
    ``iterations`` billing periods of its first price (the last phase: one period by default)."""
    if not isinstance(spec, dict):
        raise invalid(param, "Invalid object")
    _refuse(spec, UNMODELLED_PHASE, param)
    items = [
        _phase_item(ctx, item, f"{param}[items][{j}]") for j, item in enumerate(forms.as_list(spec, "items"))
    ]
    if not items:
        raise missing(f"{param}[items]")
    currencies = {i["plan"]["currency"] for i in items}
    if len(currencies) > 1:
        raise invalid(f"{param}[items]", "All prices in a phase must have the same currency.")
    behavior = forms.as_str(spec, "proration_behavior") or "create_prorations"
    if behavior not in subscription_ops.PRORATION_BEHAVIORS:
        raise invalid(
            f"{param}[proration_behavior]",
            f"Invalid {param}[proration_behavior]: must be one of "
            + ", ".join(subscription_ops.PRORATION_BEHAVIORS),
        )
    if spec.get("end_date") not in (None, "") and spec.get("iterations") not in (None, ""):
        raise invalid(
            f"{param}[end_date]", "You may only specify one of these parameters: end_date, iterations."
        )
    end = ts if spec.get("end_date") == "now" else forms.as_int(spec, "end_date")
    iterations = forms.as_int(spec, "iterations")
    if iterations is not None and iterations < 1:
        raise invalid(f"{param}[iterations]", "This value must be greater than or equal to 1.")
    duration = spec.get("duration")
    if duration not in (None, "", {}):
        # the current API's form (stripe-python 16.1 sends it); ``iterations`` is the older one
        if not isinstance(duration, dict) or duration.get("interval") not in ("day", "week", "month", "year"):
            raise invalid(
                f"{param}[duration][interval]", "Invalid duration: interval must be day, week, month or year"
            )
        if end is not None or iterations is not None:
            raise invalid(
                f"{param}[duration]",
                "You may only specify one of these parameters: duration, end_date, iterations.",
            )
        count = forms.as_int(duration, "interval_count", 1) or 1
        end = shapes.add_interval(start, str(duration["interval"]), count)
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
        "description": forms.as_str(spec, "description"),
        "discounts": [],
        "end_date": end,
        "invoice_settings": None,
        "items": items,
        "metadata": forms.merge_metadata({}, spec.get("metadata"), f"{param}[metadata]"),
        "on_behalf_of": None,
        "proration_behavior": behavior,
        "start_date": start,
        "transfer_data": None,
        "trial_end": None,
    }


def _phases(ctx: Ctx, specs: list[Any], start: int, ts: int, first_index: int = 0) -> list[Obj]:
    """Contiguous phases from ``start``: each begins where the one before ends. guess: a later
    phase's own ``start_date`` must be that end (Stripe's wording for a gap is not documented)."""
    phases: list[Obj] = []
    for offset, spec in enumerate(specs):
        index = first_index + offset
        param = f"phases[{index}]"
        given = spec.get("start_date") if isinstance(spec, dict) else None
        if phases and given not in (None, "") and forms.as_int(spec, "start_date") != start:
            raise invalid(
                f"{param}[start_date]",
                "Each phase's start_date must be the end_date of the phase before it.",
            )
        phases.append(_phase(ctx, spec, param, start, last=offset == len(specs) - 1, ts=ts))
        start = int(phases[-1]["end_date"])
    return phases


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


def _start_param(params: dict[str, Any], name: str, ts: int) -> int | None:
    """A ``start_date``: a timestamp, or ``now``; ``None`` when not given."""
    value = params.get(name)
    if value in (None, ""):
        return None
    if value == "now":
        return ts
    given = forms.as_int(params, name)
    assert given is not None
    return given


DEFAULT_SETTINGS = ("collection_method", "invoice_settings")
COLLECTION_METHODS = ("charge_automatically", "send_invoice")


def _default_settings(schedule: Obj, spec: Any) -> None:
    """``default_settings[collection_method]`` and ``[invoice_settings][days_until_due]``: how the
    schedule's subscription collects (the other settings would change amounts: refused)."""
    if spec in (None, "", {}):
        return
    if not isinstance(spec, dict):
        raise invalid("default_settings", "Invalid object")
    for name in spec:
        if name not in DEFAULT_SETTINGS:
            raise unsupported_parameter(f"default_settings[{name}]")
    settings = schedule["default_settings"]
    method = spec.get("collection_method")
    if method is not None:
        if method not in COLLECTION_METHODS:
            raise invalid(
                "default_settings[collection_method]",
                "Invalid collection_method: must be one of charge_automatically, send_invoice",
            )
        settings["collection_method"] = method
    invoice = spec.get("invoice_settings")
    if isinstance(invoice, dict):
        unknown = [k for k in invoice if k != "days_until_due"]
        if unknown:
            raise unsupported_parameter(f"default_settings[invoice_settings][{unknown[0]}]")
        days = forms.as_int(invoice, "days_until_due")
        settings["invoice_settings"]["days_until_due"] = days
    if (
        settings["collection_method"] == "send_invoice"
        and settings["invoice_settings"]["days_until_due"] is None
    ):
        raise missing("default_settings[invoice_settings][days_until_due]")


@router.post("")
async def create_schedule(ctx: ApiCtx) -> Response:
    """A schedule starting now (its subscription made at once), at a future ``start_date`` (status
    ``not_started``; the subscription is made when the clock reaches it) or at a past one."""
    p = ctx.params
    end_behavior = forms.as_str(p, "end_behavior") or "release"
    if end_behavior not in END_BEHAVIORS:
        raise invalid("end_behavior", "Invalid end_behavior: must be one of release, cancel")
    for name in ("from_subscription", "pause_schedules"):
        if p.get(name) not in (None, "", {}, []):
            raise unsupported_parameter(name)
    specs = forms.as_list(p, "phases")
    if not specs:
        raise missing("phases")
    async with ctx.account.lock:
        customer = ctx.account.reference(
            "customer", forms.as_str(p, "customer", required=True), "customer", "customer"
        )
        with frozen_at(clocks.clock_time(ctx.account, customer["id"])):
            ts = now()
            start = _start_param(p, "start_date", ts)
            start = ts if start is None else start
            phases = _phases(ctx, specs, start, ts)
            if int(phases[-1]["end_date"]) <= ts:
                # guess: Stripe's wording for a schedule whose every phase is already over
                raise invalid("start_date", "The schedule's phases must not all end in the past.")
            schedule = _schedule(customer, phases, end_behavior)
            _default_settings(schedule, p.get("default_settings"))
            schedule["metadata"] = forms.merge_metadata({}, p.get("metadata"))
            ctx.account.put(schedule)
            if start > ts:
                schedule.update(status="not_started", current_phase=None)
            else:
                schedules.start(ctx, schedule, ts, started_at=start if start < ts else None, announce=False)
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


def _same_items(spec: Any, phase: Obj) -> bool:
    """Whether a phase given again on an update names the same prices and quantities."""
    if not isinstance(spec, dict):
        return False
    given = []
    for item in forms.as_list(spec, "items"):
        if not isinstance(item, dict) or item.get("price_data") not in (None, ""):
            return False
        given.append((item.get("price"), forms.as_int(item, "quantity", 1)))
    return given == [(i["price"], int(i["quantity"])) for i in phase["items"]]


def _replace_phases(ctx: Ctx, schedule: Obj, specs: list[Any], ts: int, behavior: str) -> None:
    """``phases`` on an update, by Stripe's rules: phases already over may be left out (given
    again, they must be unchanged) and the current phase keeps its ``start_date``; the current
    phase's new items apply to the subscription at once, prorated by the update's
    ``proration_behavior``. A schedule not yet started takes any phases (``start_date`` on the
    first moves it; ``now`` or a time already past starts it)."""
    if schedule["status"] == "not_started":
        first = specs[0] if isinstance(specs[0], dict) else {}
        start = _start_param(first, "start_date", ts)
        start = int(schedule["phases"][0]["start_date"]) if start is None else start
        phases = _phases(ctx, specs, start, ts)
        schedule["phases"] = phases
        if start <= ts:
            schedules.start(ctx, schedule, ts, started_at=start if start < ts else None, announce=False)
        return
    current_start = int(schedule["current_phase"]["start_date"])
    past = [p for p in schedule["phases"] if int(p["end_date"]) <= current_start]
    skip = 0
    for index, spec in enumerate(specs):
        given = (
            forms.as_int(spec, "start_date")
            if isinstance(spec, dict) and spec.get("start_date") != "now"
            else None
        )
        if given is None or given >= current_start:
            break
        stored = next((p for p in past if int(p["start_date"]) == given), None)
        if stored is None or not _same_items(spec, stored):
            # guess: Stripe's wording; the rule (past phases cannot change) is documented
            raise invalid(f"phases[{index}]", "You can not modify phases that have already ended.")
        skip = index + 1
    remaining = specs[skip:]
    if not remaining:
        raise invalid("phases", "The current phase must be included in the update.")
    first = remaining[0] if isinstance(remaining[0], dict) else {}
    given_start = _start_param(first, "start_date", ts)
    if given_start is not None and given_start != current_start:
        raise invalid(
            f"phases[{skip}][start_date]",
            "You can not modify the start date of the current phase.",
        )
    phases = _phases(ctx, remaining, current_start, ts, first_index=skip)
    if int(phases[0]["end_date"]) <= ts:
        raise invalid(f"phases[{skip}][end_date]", "The current phase's end_date must be in the future.")
    schedule["phases"] = past + phases
    schedule["current_phase"] = {"start_date": current_start, "end_date": phases[0]["end_date"]}
    sub = ctx.account.get("subscription", schedule["subscription"] or "")
    if sub is not None and sub["status"] != "canceled":
        subscription_ops.switch_phase(ctx, sub, phases[0], ts, behavior)


@router.post("/{schedule_id}")
async def update_schedule(schedule_id: str, ctx: ApiCtx) -> Response:
    """``phases``, ``end_behavior``, ``metadata`` and ``proration_behavior`` of an active or
    not-started schedule."""
    p = ctx.params
    if p.get("pause_schedules") not in (None, "", {}, []):
        raise unsupported_parameter("pause_schedules")
    behavior = subscription_ops.proration_behavior(p)
    end_behavior = forms.as_str(p, "end_behavior")
    if end_behavior is not None and end_behavior not in END_BEHAVIORS:
        raise invalid("end_behavior", "Invalid end_behavior: must be one of release, cancel")
    async with ctx.account.lock:
        schedule = _get(ctx, schedule_id)
        if schedule["status"] not in ("active", "not_started"):
            raise bad_state(
                "You cannot update a subscription schedule that is currently in the "
                f"`{schedule['status']}` status."
            )
        before = snapshot(schedule)
        with frozen_at(clocks.clock_time(ctx.account, schedule["customer"])):
            ts = now()
            if "phases" in p:
                specs = forms.as_list(p, "phases")
                if not specs:
                    raise missing("phases")
                _replace_phases(ctx, schedule, specs, ts, behavior)
            if end_behavior is not None:
                schedule["end_behavior"] = end_behavior
            _default_settings(schedule, p.get("default_settings"))
            schedule["metadata"] = forms.merge_metadata(schedule["metadata"], p.get("metadata"))
            ctx.emit_update("subscription_schedule.updated", before, schedule)
    return ctx.render(schedule)


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
