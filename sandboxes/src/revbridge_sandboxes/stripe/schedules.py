"""Subscription schedule phases on the (test) clock: a ``not_started`` schedule makes its
subscription when its ``start_date`` comes; when a phase ends the next one takes over the
subscription's items (prorated by the phase's ``proration_behavior`` when it does not fall on a
billing-period boundary); after the last phase ``end_behavior`` either releases the subscription
(it keeps renewing) or cancels it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from . import billing, subscription_ops
from .state import Obj, snapshot

if TYPE_CHECKING:
    from .deps import Ctx


def next_transition(schedule: Obj) -> int | None:
    """When the schedule next changes by itself: its start, or the end of its current phase."""
    if schedule["status"] == "not_started":
        return int(schedule["phases"][0]["start_date"])
    if schedule["status"] != "active" or schedule["current_phase"] is None:
        return None
    return int(schedule["current_phase"]["end_date"])


def phase_at(schedule: Obj, ts: int) -> Obj | None:
    """The phase ``ts`` falls in (start inclusive, end exclusive)."""
    return next((p for p in schedule["phases"] if int(p["start_date"]) <= ts < int(p["end_date"])), None)


def start(ctx: Ctx, schedule: Obj, ts: int, started_at: int | None = None, announce: bool = True) -> Obj:
    """Make the schedule's subscription at ``ts`` from the phase in effect, and activate it.

    ``started_at``: a past ``start_date``. guess: the subscription starts then (its billing cycle
    anchored there) and bills the current period only, without invoices for the time already
    past; phases already over are kept as they were."""
    from .resources.subscriptions import create_for_customer  # the handlers import this module

    before = snapshot(schedule)
    phase = phase_at(schedule, ts) or schedule["phases"][0]
    customer = ctx.account.require("customer", schedule["customer"], "customer", "customer")
    specs = [
        {"price": i["price"], "quantity": i["quantity"], "metadata": dict(i["metadata"])}
        for i in phase["items"]
    ]
    # the subscription takes the phase's metadata, none of the schedule request's own parameters
    own = dataclasses.replace(ctx, params={"metadata": dict(phase["metadata"])} if phase["metadata"] else {})
    sub = create_for_customer(
        own, customer, specs, "allow_incomplete", schedule=schedule, started_at=started_at
    )
    schedule.update(
        status="active",
        subscription=sub["id"],
        current_phase={"start_date": phase["start_date"], "end_date": phase["end_date"]},
    )
    if announce:
        ctx.emit_update("subscription_schedule.updated", before, schedule)
    return sub


def transition(ctx: Ctx, schedule: Obj, ts: int) -> None:
    """At ``ts``: start a ``not_started`` schedule, or end the current phase (start the next one,
    or apply ``end_behavior``)."""
    if schedule["status"] == "not_started":
        start(ctx, schedule, ts)
        return
    before = snapshot(schedule)
    phases: list[Obj] = schedule["phases"]
    ending = int(schedule["current_phase"]["end_date"])
    index = next(i for i, p in enumerate(phases) if int(p["end_date"]) == ending)
    sub = ctx.account.get("subscription", schedule["subscription"] or "")
    if index + 1 < len(phases):
        phase = phases[index + 1]
        schedule["current_phase"] = {"start_date": phase["start_date"], "end_date": phase["end_date"]}
        if sub is not None and sub["status"] != "canceled":
            subscription_ops.switch_phase(ctx, sub, phase, ts)
        ctx.emit_update("subscription_schedule.updated", before, schedule)
        return
    schedule["current_phase"] = None
    if schedule["end_behavior"] == "cancel" and sub is not None:
        schedule.update(status="completed", completed_at=ts)
        if sub["status"] != "canceled":
            if any(int(i["current_period_end"]) == ts for i in sub["items"]["data"]):
                billing.final_usage_invoice(ctx, sub)  # ends with its period: its usage is billed
            subscription_ops.cancel(ctx, sub, ts)
    else:
        schedule.update(status="released", released_at=ts, released_subscription=schedule["subscription"])
        schedule["subscription"] = None
        if sub is not None:
            sub["schedule"] = None
    ctx.emit(
        "subscription_schedule.completed"
        if schedule["status"] == "completed"
        else "subscription_schedule.released",
        schedule,
    )
