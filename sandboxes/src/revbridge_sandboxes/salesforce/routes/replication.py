"""Data replication: ``sobjects/{type}/deleted/`` and ``sobjects/{type}/updated/`` over a time span.

What simple-salesforce's ``SFType.deleted``/``updated`` call (REST "sObject Get Deleted" /
"sObject Get Updated"). Both read ``SystemModstamp`` (a delete stamps it, and a deleted record
takes no further writes, so it is the deletion time). As documented, the seconds of ``start`` and
``end`` are ignored, deleted records are kept 15 days and updates 30.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter

from ..deps import Session
from ..errors import SalesforceError
from ..store import Record, Store
from ..values import format_datetime, parse_datetime

router = APIRouter()
DELETED_DAYS = 15
UPDATED_DAYS = 30


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _instant(name: str, text: str | None) -> datetime:
    if not text:
        # guess: the wording and code for a missing parameter
        raise SalesforceError(f"Missing required parameter: {name}", error_code="MISSING_ARGUMENT")
    try:
        return _minute(parse_datetime(text))
    except ValueError as exc:
        # guess: Salesforce's wording for an unparsable date/time
        raise SalesforceError(
            f"{name}: invalid date/time, expected ISO 8601 such as 2024-05-01T00:00:00+00:00: {text}",
            error_code="INVALID_REPLICATION_DATE",
        ) from exc


def _span(start: str | None, end: str | None, days: int) -> tuple[datetime, datetime, datetime]:
    """The ``[start, end)`` window and ``latestDateCovered`` (``end``, but never past now)."""
    begin, finish = _instant("start", start), _instant("end", end)
    now = datetime.now(UTC)
    if begin >= finish:
        raise SalesforceError(
            "startDate must chronologically precede endDate",  # guess: wording
            error_code="INVALID_REPLICATION_DATE",
        )
    if begin < _minute(now - timedelta(days=days)):
        raise SalesforceError(
            f"startDate is more than {days} days ago",  # guess: wording; the code is SOAP's
            error_code="INVALID_REPLICATION_DATE",
        )
    # guess: an end in the future is accepted; what is covered stops at the current minute
    return begin, finish, min(finish, _minute(now))


def _stamped(store: Store, sobject: str, begin: datetime, finish: datetime, deleted: bool) -> list[Record]:
    obj = store.object_at_url(sobject)
    rows = [
        r
        for r in store.scan(obj, include_deleted=True)
        if r.deleted == deleted and begin <= r.values["SystemModstamp"] < finish
    ]
    return sorted(rows, key=lambda r: (r.values["SystemModstamp"], r.id))


@router.get("/services/data/{version}/sobjects/{sobject}/deleted")
@router.get("/services/data/{version}/sobjects/{sobject}/deleted/")
async def deleted(sobject: str, state: Session, start: str | None = None, end: str | None = None) -> Any:
    begin, finish, covered = _span(start, end, DELETED_DAYS)
    store = state.store
    rows = _stamped(store, sobject, begin, finish, deleted=True)
    return {
        "deletedRecords": [
            {"id": r.id, "deletedDate": format_datetime(r.values["SystemModstamp"])} for r in rows
        ],
        # guess: with no purged delete log, the earliest date available is when the org began
        "earliestDateAvailable": format_datetime(_minute(store.created_at)),
        "latestDateCovered": format_datetime(covered),
    }


@router.get("/services/data/{version}/sobjects/{sobject}/updated")
@router.get("/services/data/{version}/sobjects/{sobject}/updated/")
async def updated(sobject: str, state: Session, start: str | None = None, end: str | None = None) -> Any:
    begin, finish, covered = _span(start, end, UPDATED_DAYS)
    rows = _stamped(state.store, sobject, begin, finish, deleted=False)
    return {"ids": [r.id for r in rows], "latestDateCovered": format_datetime(covered)}
