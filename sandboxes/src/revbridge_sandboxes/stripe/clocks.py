"""Test clocks (wire reference §1.10): advancing a clock runs its customers' subscriptions through
every period boundary it crosses, in time order, at the boundary's time.

Each boundary renews the subscription: the items move to the next period, a
``subscription_cycle`` invoice bills it (metered usage of the period that ended included), is
finalized and, for ``charge_automatically`` with a payment method, paid or failed. Subscription
schedules switch phases at their boundaries the same way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from . import billing, schedules, shapes
from .deps import Ctx
from .state import Account, Obj, frozen_at, snapshot

logger = logging.getLogger("revbridge.sandboxes.stripe.clocks")

RENEWING = ("active", "past_due", "trialing")


def clock_time(account: Account, customer_id: str | None) -> int | None:
    """The frozen time of the customer's test clock, or ``None`` when it runs on the wall clock."""
    customer = account.get("customer", customer_id or "")
    clock = account.get("test_helpers.test_clock", (customer or {}).get("test_clock") or "")
    return int(clock["frozen_time"]) if clock else None


def period_end(sub: Obj) -> int:
    """The end of the subscription's current period: its items' earliest period end."""
    return min(int(i["current_period_end"]) for i in sub["items"]["data"])


def _next_end(anchor: int, start: int, rec: Obj) -> int:
    """The first anchor-aligned boundary after ``start`` (no drift through short months)."""
    k = 1
    while True:
        end = shapes.add_interval(anchor, rec["interval"], int(rec["interval_count"]) * k)
        if end > start:
            return end
        k += 1


def period_around(anchor: int, ts: int, rec: Obj) -> tuple[int, int]:
    """The anchor-aligned period ``[start, end)`` that ``ts`` falls in."""
    start, k = anchor, 1
    while True:
        end = shapes.add_interval(anchor, rec["interval"], int(rec["interval_count"]) * k)
        if end > ts:
            return start, end
        start, k = end, k + 1


def advance_periods(sub: Obj, boundary: int) -> None:
    """Move every item whose period ends by ``boundary`` into its next period."""
    for item in sub["items"]["data"]:
        if int(item["current_period_end"]) <= boundary:
            rec = item["price"].get("recurring") or {"interval": "month", "interval_count": 1}
            item["current_period_start"] = boundary
            item["current_period_end"] = _next_end(int(sub["billing_cycle_anchor"]), boundary, rec)


def will_end(sub: Obj, boundary: int) -> bool:
    """True when the subscription ends at ``boundary`` instead of renewing."""
    return bool(sub["cancel_at_period_end"] or (sub["cancel_at"] and int(sub["cancel_at"]) <= boundary))


def renew(ctx: Ctx, sub: Obj, boundary: int) -> None:
    """Cross one period boundary of ``sub`` at ``boundary`` (``now()`` is frozen there)."""
    if will_end(sub, boundary):
        billing.final_usage_invoice(ctx, sub)  # the ending period's metered usage
        sub.update(status="canceled", canceled_at=sub["canceled_at"] or boundary, ended_at=boundary)
        sub["cancellation_details"]["reason"] = "cancellation_requested"
        ctx.emit("customer.subscription.deleted", sub)
        return
    before = snapshot(sub)
    usage = billing.metered_usage(ctx, sub)
    advance_periods(sub, boundary)
    inv = billing.create_subscription_invoice(ctx, sub, "subscription_cycle", usage=usage)
    sub["latest_invoice"] = inv["id"]
    ctx.emit_update("customer.subscription.updated", before, sub)
    billing.collect(ctx, sub, inv)


Due = tuple[int, int, str, Callable[[int], None]]
"""A boundary: when, its order at that time (schedule phase changes first), the object, the step."""


def _due(ctx: Ctx, customers: set[str], target: int) -> list[Due]:
    """Every boundary at or before ``target``: schedule phase changes first, then renewals."""
    due: list[Due] = []
    for sub in ctx.account.newest_first("subscription"):
        if sub["customer"] in customers and sub["status"] in RENEWING and sub["items"]["data"]:
            end = period_end(sub)
            if end <= target:
                due.append((end, 1, sub["id"], functools.partial(renew, ctx, sub)))
    for schedule in ctx.account.newest_first("subscription_schedule"):
        if schedule["customer"] in customers:
            at = schedules.next_transition(schedule)
            if at is not None and at <= target:
                due.append((at, 0, schedule["id"], functools.partial(schedules.transition, ctx, schedule)))
    return due


async def run_until(ctx: Ctx, clock: Obj, target: int) -> None:
    """Process boundaries earliest first until none is left at or before ``target``.

    Yields to the event loop after each boundary: a clock renewing thousands of subscriptions
    would otherwise hold the loop for seconds, starving the webhook deliveries of the events it
    makes (which then pile up in memory) and every other call."""
    customers = {c["id"] for c in ctx.account.newest_first("customer") if c.get("test_clock") == clock["id"]}
    done: set[tuple[int, str]] = set()
    while due := _due(ctx, customers, target):
        ts, _, obj, step = min(due, key=lambda d: (d[0], d[1]))
        boundary = (ts, obj)
        if boundary in done:  # a step that did not move its boundary: a bug, never a silent stop
            raise RuntimeError(f"test clock boundary {boundary} did not move")
        done.add(boundary)
        clock["frozen_time"] = ts
        with frozen_at(ts):
            step(ts)
        await asyncio.sleep(0)


async def advance(ctx: Ctx, clock: Obj, target: int) -> None:
    """The background half of ``/advance``: run the boundaries, then report the clock ready."""
    async with ctx.account.lock:
        try:
            await run_until(ctx, clock, target)
        except Exception:
            logger.exception("stripe.test_clock.failed", extra={"clock_id": clock["id"]})
            clock.update(status="internal_failure", status_details={})
            ctx.emit("test_helpers.test_clock.internal_failure", clock)
            return
        clock.update(frozen_time=target, status="ready", status_details={})
        with frozen_at(target):
            ctx.emit("test_helpers.test_clock.ready", clock)
