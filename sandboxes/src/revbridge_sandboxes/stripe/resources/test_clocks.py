"""``/v1/test_helpers/test_clocks``: create, retrieve, list, delete and advance test clocks.

Advancing answers at once with ``status=advancing``; the boundaries run in a background task
(like Stripe's asynchronous advance) and the clock turns ``ready`` when they are done.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from .. import clocks, forms
from ..deps import ApiCtx, Ctx
from ..errors import bad_state, invalid
from ..listing import paginate
from ..state import Obj, frozen_at, new_id, now

router = APIRouter(prefix="/v1/test_helpers/test_clocks")

KIND = "test_helpers.test_clock"
RETENTION_SECONDS = 30 * 86400


def _clock(ctx: Ctx, clock_id: str) -> Obj:
    return ctx.account.require(KIND, clock_id, "test clock", "test_clock")


@router.post("")
async def create_clock(ctx: ApiCtx) -> Response:
    frozen = forms.as_int(ctx.params, "frozen_time", required=True)
    assert frozen is not None
    async with ctx.account.lock:
        clock: Obj = {
            "id": new_id("clock"),
            "object": KIND,
            "created": now(),
            "deletes_after": now() + RETENTION_SECONDS,
            "frozen_time": frozen,
            "livemode": False,
            "name": forms.as_str(ctx.params, "name"),
            "status": "ready",
            "status_details": {},
        }
        ctx.account.put(clock)
        ctx.emit("test_helpers.test_clock.created", clock)
    return ctx.render(clock)


@router.get("")
async def list_clocks(ctx: ApiCtx) -> Response:
    return ctx.render(paginate(ctx.account.newest_first(KIND), ctx.params, "/v1/test_helpers/test_clocks"))


@router.get("/{clock_id}")
async def retrieve_clock(clock_id: str, ctx: ApiCtx) -> Response:
    return ctx.render(_clock(ctx, clock_id))


@router.delete("/{clock_id}")
async def delete_clock(clock_id: str, ctx: ApiCtx) -> Response:
    """Deleting a clock deletes the customers on it (and so their subscriptions)."""
    async with ctx.account.lock:
        clock = _clock(ctx, clock_id)
        for customer in ctx.account.newest_first("customer"):
            if customer.get("test_clock") == clock_id:
                ctx.account.remove("customer", customer["id"])
                for sub in ctx.account.newest_first("subscription"):
                    if sub["customer"] == customer["id"]:
                        ctx.account.remove("subscription", sub["id"])
        ctx.account.remove(KIND, clock_id)
        ctx.emit("test_helpers.test_clock.deleted", clock)
    return ctx.render({"id": clock_id, "object": KIND, "deleted": True})


@router.post("/{clock_id}/advance")
async def advance_clock(clock_id: str, ctx: ApiCtx) -> Response:
    target = forms.as_int(ctx.params, "frozen_time", required=True)
    assert target is not None
    async with ctx.account.lock:
        clock = _clock(ctx, clock_id)
        if clock["status"] != "ready":
            raise bad_state(f"The test clock {clock_id} is advancing and cannot be advanced again yet.")
        if target <= int(clock["frozen_time"]):
            raise invalid(
                "frozen_time",
                "The frozen_time must be after the test clock's current frozen_time "
                f"({clock['frozen_time']}).",
            )
        clock.update(status="advancing", status_details={"advancing": {"target_frozen_time": target}})
        with frozen_at(int(clock["frozen_time"])):
            ctx.emit("test_helpers.test_clock.advancing", clock)
        body = ctx.render(clock)
    background = Ctx(ctx.state, ctx.account, {}, None, None, ctx.api_version)
    task = asyncio.get_running_loop().create_task(clocks.advance(background, clock, target))
    ctx.state.background.add(task)
    task.add_done_callback(ctx.state.background.discard)
    return body
