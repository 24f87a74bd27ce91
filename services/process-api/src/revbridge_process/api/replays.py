"""``/v1/replays``, ``/v1/replays/time-range`` and ``/v1/dead-letters``: put work back on the bus.

A replay publishes again what the flows consume; the flows converge, so a replay never duplicates
money. By time range, the platforms' own records (Stripe's events API, the CRM's contracts) are
read through the system API, a page of work per call (``replay_range``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from revbridge_contracts.process import (
    BusinessKeyReplay,
    DeadLetterPage,
    DeadLetterReplay,
    ReplayRequest,
    ReplayResult,
    TimeRangeReplay,
    TimeRangeReplayResult,
)
from revbridge_contracts.telemetry import correlation_id
from revbridge_contracts.tracing import current_trace_fields

from revbridge_process.deps import ReplayService, closed_query
from revbridge_process.replay_range import TimeRangeReplayer

router = APIRouter(dependencies=[Depends(closed_query)])


def _carried() -> dict[str, str]:
    """The caller's trace and correlation id, carried into every event a replay publishes."""
    carried: dict[str, str] = dict(current_trace_fields())
    if cid := correlation_id():
        carried["correlation_id"] = cid
    return carried


def _range_replayer(request: Request) -> TimeRangeReplayer:
    state = request.app.state
    return TimeRangeReplayer(state.system, state.bus, state.config.mappings.billing_accounts())


RangeReplayer = Annotated[TimeRangeReplayer, Depends(_range_replayer)]


@router.post(
    "/v1/replays",
    operation_id="createReplay",
    response_model=ReplayResult,
    status_code=202,
    summary="Re-publish dead-lettered entries, or a flow's event for one business key",
)
async def create_replay(body: Annotated[ReplayRequest, Body()], replayer: ReplayService) -> ReplayResult:
    if isinstance(body, DeadLetterReplay):
        return await replayer.replay_dead_letters(None if body.all else body.ids)
    assert isinstance(body, BusinessKeyReplay)
    entry = await replayer.publish_for(
        body.flow.value, body.business_key, body.account, "process.replay", _carried()
    )
    return ReplayResult(replayed=[entry])


@router.post(
    "/v1/replays/time-range",
    operation_id="createTimeRangeReplay",
    response_model=TimeRangeReplayResult,
    summary="Re-publish what the platforms recorded in a time range, a page of work per call",
)
async def create_time_range_replay(body: TimeRangeReplay, replayer: RangeReplayer) -> TimeRangeReplayResult:
    return await replayer.replay(body, _carried())


@router.get("/v1/dead-letters", operation_id="listDeadLetters", response_model=DeadLetterPage)
async def list_dead_letters(
    replayer: ReplayService,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,19}-[0-9]{1,19}$", description="from next_cursor")
    ] = None,
) -> DeadLetterPage:
    return await replayer.list_dead_letters(cursor, limit)
