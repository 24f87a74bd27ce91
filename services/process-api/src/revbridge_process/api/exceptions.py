"""``/v1/exceptions``: the exception queue, for the ops teams that own each failure.

Without a ``status`` filter every record is listed (open, retrying and resolved), newest activity
first. The actions follow the record's lifecycle (open → retrying → resolved; a failed retry
reopens it): retry re-publishes the flow's business event for the key, so the flow resumes where
it stopped and the worker's success resolves the record; resolve and reassign are a person's call.

Every action, refused or not, appends a row to the audit trail (``revbridge.audit_event``, source
``process``, operation ``exception.<action>``): the gateway's user (``actor``) and client, the record
id, the outcome (``ok``, ``not_found``, ``refused``, ``invalid``, ``failed``) and the trace.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from revbridge_contracts.problems import NotFound
from revbridge_contracts.process import (
    ErrorClass,
    ExceptionAction,
    ExceptionPage,
    ExceptionReassign,
    ExceptionRecord,
    ExceptionResolve,
    ExceptionStatus,
)
from revbridge_contracts.telemetry import correlation_id
from revbridge_contracts.tracing import current_trace_fields

from revbridge_process.deps import Actor, AppConfig, CallerIdentity, ReplayService, Store, closed_query
from revbridge_process.errors import InvalidField, InvalidTransition
from revbridge_process.exception_queue import Filters, StoreUnavailable, TransitionRefused
from revbridge_process.facts import current_trace_id
from revbridge_process.replay import NotReplayable

router = APIRouter(dependencies=[Depends(closed_query)])
log = logging.getLogger(__name__)
RecordId = Annotated[str, Path(min_length=1, max_length=600)]
LIVE = (ExceptionStatus.open, ExceptionStatus.retrying)


@router.get("/v1/exceptions", operation_id="listExceptions", response_model=ExceptionPage)
async def list_exceptions(
    store: Store,
    status: str | None = None,
    flow: str | None = None,
    owner: str | None = None,
    error_class: ErrorClass | None = None,
    business_key: str | None = None,
    overdue: Annotated[bool, Query(description="open or retrying past their SLA")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,9}$", description="from next_cursor")] = None,
) -> ExceptionPage:
    filters = Filters(
        status=status,
        flow=flow,
        owner=owner,
        error_class=error_class,
        business_key=business_key,
        overdue=overdue,
    )
    start = int(cursor or 0)
    records = await store.list_exceptions(filters=filters, limit=limit + 1, offset=start)
    more = len(records) > limit
    return ExceptionPage(items=records[:limit], next_cursor=str(start + limit) if more else None)


@router.get("/v1/exceptions/{id}", operation_id="getException", response_model=ExceptionRecord)
async def get_exception(id: RecordId, store: Store) -> ExceptionRecord:
    record = await store.get_by_id(id)
    if record is None:
        raise NotFound(f"no exception {id}")
    return record


@router.post(
    "/v1/exceptions/{id}/retry",
    operation_id="retryException",
    response_model=ExceptionRecord,
    status_code=202,
    summary="Re-publish the flow's business event for the record's key",
)
async def retry_exception(
    id: RecordId, store: Store, replayer: ReplayService, actor: Actor, caller: CallerIdentity
) -> ExceptionRecord:
    async with _audited(store, caller, ExceptionAction.retry, id, 202) as detail:
        record = await get_exception(id, store)
        try:
            replayer.check_replayable(record.flow)
            detail["from"] = await _transition(
                store, id, LIVE, ExceptionAction.retry, ExceptionStatus.retrying, actor, None
            )
        except NotReplayable as exc:
            raise InvalidTransition(f"{exc}; fix the cause, then resolve the record") from exc
        carried: dict[str, str] = dict(current_trace_fields())
        if cid := correlation_id():
            carried["correlation_id"] = cid
        await replayer.publish_for(record.flow, record.business_key, record.account, "process.retry", carried)
        detail["to"] = ExceptionStatus.retrying.value
        answer = await get_exception(id, store)
    return answer


@router.post("/v1/exceptions/{id}/resolve", operation_id="resolveException", response_model=ExceptionRecord)
async def resolve_exception(
    id: RecordId, body: ExceptionResolve, store: Store, actor: Actor, caller: CallerIdentity
) -> ExceptionRecord:
    async with _audited(store, caller, ExceptionAction.resolve, id, 200, note=body.note) as detail:
        detail["from"] = await _transition(
            store, id, LIVE, ExceptionAction.resolve, ExceptionStatus.resolved, actor, body.note
        )
        detail["to"] = ExceptionStatus.resolved.value
        answer = await get_exception(id, store)
    return answer


@router.post("/v1/exceptions/{id}/reassign", operation_id="reassignException", response_model=ExceptionRecord)
async def reassign_exception(
    id: RecordId,
    body: ExceptionReassign,
    store: Store,
    config: AppConfig,
    actor: Actor,
    caller: CallerIdentity,
) -> ExceptionRecord:
    async with _audited(
        store, caller, ExceptionAction.reassign, id, 200, note=body.note, owner=body.owner
    ) as detail:
        owners = config.owners()
        if body.owner not in owners:
            raise InvalidField("owner", f"{body.owner!r} is not an owner team; one of {sorted(owners)}")
        record = await get_exception(id, store)
        note = f"{record.owner} → {body.owner}" + (f": {body.note}" if body.note else "")
        detail["from_owner"] = record.owner
        detail["from"] = await _transition(
            store, id, LIVE, ExceptionAction.reassign, None, actor, note, {"owner": body.owner}
        )
        answer = await get_exception(id, store)
    return answer


async def _transition(
    store: Store,
    record_id: str,
    allowed: tuple[ExceptionStatus, ...],
    action: ExceptionAction,
    to: ExceptionStatus | None,
    actor: str,
    note: str | None,
    fields: dict[str, str] | None = None,
) -> str:
    try:
        return await store.transition(
            record_id, allowed=allowed, action=action, to=to, by=actor, note=note, fields=fields
        )
    except KeyError as exc:
        raise NotFound(f"no exception {record_id}") from exc
    except TransitionRefused as exc:
        raise InvalidTransition(f"cannot {action.value} an exception that is {exc.status}") from exc


OUTCOMES: tuple[tuple[type[Exception], str, int], ...] = (
    (NotFound, "not_found", 404),
    (InvalidTransition, "refused", 409),
    (InvalidField, "invalid", 422),
)


@contextlib.asynccontextmanager
async def _audited(
    store: Store, caller: CallerIdentity, action: ExceptionAction, record_id: str, status: int, **detail: Any
) -> AsyncIterator[dict[str, Any]]:
    """Append the action's audit row once it is over: ``ok`` (a write that must land: 503 if the
    database never takes it), or why it was refused (best effort: the answer is the refusal)."""
    facts: dict[str, Any] = {k: v for k, v in detail.items() if v is not None}

    async def write(outcome: str, code: int) -> None:
        await store.audit(
            f"exception.{action.value}",
            outcome,
            business_key=record_id,
            actor=caller.user,
            client=caller.client,
            trace_id=current_trace_id(),
            status=code,
            detail=facts,
        )

    try:
        yield facts
    except StoreUnavailable:
        raise  # nothing was done, and the audit trail cannot be written either
    except Exception as exc:
        outcome, code = next(((o, c) for kind, o, c in OUTCOMES if isinstance(exc, kind)), ("failed", 500))
        facts["error"] = str(exc)[:500]
        try:
            await write(outcome, code)
        except StoreUnavailable:
            log.warning("exceptions.audit_unavailable", extra={"id": record_id, "action": action.value})
        raise
    await write("ok", status)
