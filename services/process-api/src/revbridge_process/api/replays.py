"""``/v1/replays`` and ``/v1/dead-letters``: put work back on the bus.

A replay publishes again what the flows consume; the flows converge, so a replay never duplicates
money. Replay by time range through the platforms' event APIs needs system API operations that do
not exist yet (issue 4, left for later).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from revbridge_contracts.process import (
    BusinessKeyReplay,
    DeadLetterPage,
    DeadLetterReplay,
    ReplayRequest,
    ReplayResult,
)
from revbridge_contracts.telemetry import correlation_id
from revbridge_contracts.tracing import current_trace_fields

from revbridge_process.deps import ReplayService, closed_query

router = APIRouter(dependencies=[Depends(closed_query)])


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
    carried: dict[str, str] = dict(current_trace_fields())
    if cid := correlation_id():
        carried["correlation_id"] = cid
    entry = await replayer.publish_for(
        body.flow.value, body.business_key, body.account, "process.replay", carried
    )
    return ReplayResult(replayed=[entry])


@router.get("/v1/dead-letters", operation_id="listDeadLetters", response_model=DeadLetterPage)
async def list_dead_letters(
    replayer: ReplayService,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,19}-[0-9]{1,19}$", description="from next_cursor")
    ] = None,
) -> DeadLetterPage:
    return await replayer.list_dead_letters(cursor, limit)
