"""The exception queue for internal apps: list with filters, and act (retry, resolve with a note,
reassign). Reads and actions go through the process API, which owns the queue; the caller the
gateway names (client and signed-in user) is passed on, so the record's history says who acted."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from revbridge_contracts.experience import ExceptionView, ExceptionViewPage
from revbridge_contracts.process import ErrorClass, ExceptionReassign, ExceptionRecord, ExceptionResolve

from revbridge_experience.deps import Actor, Process, closed_query, utcnow

router = APIRouter(dependencies=[Depends(closed_query)])
RecordId = Annotated[str, Path(min_length=1, max_length=600)]
LIVE = ("open", "retrying")


def view(record: ExceptionRecord, now: dt.datetime) -> ExceptionView:
    live = record.status in LIVE
    return ExceptionView(
        **record.model_dump(),
        age_seconds=max(0.0, (now - record.first_seen).total_seconds()),
        overdue=live and record.sla_due < now,
    )


@router.get("/v2/exceptions", operation_id="listExceptionViews", response_model=ExceptionViewPage)
async def list_exceptions(
    process: Process,
    status: Annotated[str | None, Query(pattern=r"^(open|retrying|resolved)$")] = None,
    flow: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    owner: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    error_class: ErrorClass | None = None,
    business_key: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    overdue: Annotated[bool, Query(description="open or retrying past their SLA")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,9}$", description="from next_cursor")] = None,
) -> ExceptionViewPage:
    page = await process.list_exceptions(
        {
            "status": status,
            "flow": flow,
            "owner": owner,
            "error_class": error_class.value if error_class else None,
            "business_key": business_key,
            "overdue": "true" if overdue else None,
            "limit": limit,
            "cursor": cursor,
        }
    )
    now = utcnow()
    return ExceptionViewPage(items=[view(r, now) for r in page.items], next_cursor=page.next_cursor)


@router.get("/v2/exceptions/{id}", operation_id="getExceptionView", response_model=ExceptionView)
async def get_exception(id: RecordId, process: Process) -> ExceptionView:
    return view(await process.get_exception(id), utcnow())


@router.post(
    "/v2/exceptions/{id}/retry",
    operation_id="retryExceptionView",
    response_model=ExceptionView,
    status_code=202,
)
async def retry(id: RecordId, process: Process, actor: Actor) -> ExceptionView:
    return view(await process.act_on_exception(id, "retry", None, actor), utcnow())


@router.post("/v2/exceptions/{id}/resolve", operation_id="resolveExceptionView", response_model=ExceptionView)
async def resolve(id: RecordId, body: ExceptionResolve, process: Process, actor: Actor) -> ExceptionView:
    return view(await process.act_on_exception(id, "resolve", body.model_dump(), actor), utcnow())


@router.post(
    "/v2/exceptions/{id}/reassign", operation_id="reassignExceptionView", response_model=ExceptionView
)
async def reassign(id: RecordId, body: ExceptionReassign, process: Process, actor: Actor) -> ExceptionView:
    return view(
        await process.act_on_exception(id, "reassign", body.model_dump(exclude_none=True), actor), utcnow()
    )
