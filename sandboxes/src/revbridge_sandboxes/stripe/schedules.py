"""Subscription schedule phases: when a phase ends on the (test) clock, the next one takes over.

A schedule starts its subscription at the first phase; each later phase replaces the items; after
the last phase ``end_behavior`` either releases the subscription (it keeps renewing) or cancels it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import subscription_ops
from .state import Obj, snapshot

if TYPE_CHECKING:
    from .deps import Ctx


def next_transition(schedule: Obj) -> int | None:
    """When the current phase ends, for an active schedule."""
    if schedule["status"] != "active" or schedule["current_phase"] is None:
        return None
    return int(schedule["current_phase"]["end_date"])


def transition(ctx: Ctx, schedule: Obj, ts: int) -> None:
    """End the current phase at ``ts``: start the next one, or apply ``end_behavior``."""
    before = snapshot(schedule)
    phases: list[Obj] = schedule["phases"]
    ending = int(schedule["current_phase"]["end_date"])
    index = next(i for i, p in enumerate(phases) if int(p["end_date"]) == ending)
    sub = ctx.account.get("subscription", schedule["subscription"] or "")
    if index + 1 < len(phases):
        phase = phases[index + 1]
        schedule["current_phase"] = {"start_date": phase["start_date"], "end_date": phase["end_date"]}
        if sub is not None:
            subscription_ops.switch_phase(ctx, sub, phase, ts)
        ctx.emit_update("subscription_schedule.updated", before, schedule)
        return
    schedule["current_phase"] = None
    if schedule["end_behavior"] == "cancel" and sub is not None:
        schedule.update(status="completed", completed_at=ts)
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
