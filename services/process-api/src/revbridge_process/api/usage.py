"""``POST /v1/usage/events``: a partner's batch of usage events, each answered on its own.

The envelope is checked whole (a malformed one is a 422 naming the field); each event is then
checked alone, so one bad event never refuses its neighbours. The sender is the calling client the
gateway names in ``X-Revbridge-Client-Id`` (``internal`` for a caller inside the network that names
none); exactly once means once per sender and event id. The body is read again with JSON numbers as
``Decimal``, so a quantity sent as a number is as exact as one sent as a string.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, Request
from revbridge_contracts.usage import UsageBatch, UsageBatchResult

from revbridge_process.deps import CLIENT_ID_HEADER, Usage

router = APIRouter()
INTERNAL_SENDER = "internal"


@router.post(
    "/v1/usage/events",
    operation_id="ingestUsageEvents",
    response_model=UsageBatchResult,
    summary="Report usage events (a batch of up to 1,000), each accepted, duplicate or rejected",
)
async def ingest_usage_events(
    body: UsageBatch,
    request: Request,
    usage: Usage,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> UsageBatchResult:
    # the gateway replays a batch sent again under the same Idempotency-Key; without one (or past its
    # 24 h) each event's own id still keeps it counted once
    exact = json.loads(await request.body(), parse_float=Decimal)
    events = exact["events"] if isinstance(exact, dict) else body.events
    sender = request.headers.get(CLIENT_ID_HEADER) or INTERNAL_SENDER
    return await usage.ingest(sender, events)
