"""SOQL over REST: ``/query`` and ``/queryAll``, batched, with ``nextRecordsUrl`` paging (§2.4).

The full result is snapshotted when the query runs and served in batches from a cursor, as
Salesforce does; ``nextRecordsUrl`` is a path because simple-salesforce prefixes it with the host.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from ..deps import Session
from ..errors import MalformedQuery, SalesforceError
from ..soql import locate, parse
from ..soql.evaluate import execute
from ..state import Cursor, SalesforceState

router = APIRouter()
DEFAULT_BATCH = 2000
MIN_BATCH = 200
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(request: Request) -> int:
    m = _BATCH.search(request.headers.get("sforce-query-options", ""))
    return min(max(int(m.group(1)), MIN_BATCH), DEFAULT_BATCH) if m else DEFAULT_BATCH


def _page(
    state: SalesforceState, version: str, cursor_id: str, cursor: Cursor, offset: int
) -> dict[str, Any]:
    end = offset + cursor.batch_size
    page: dict[str, Any] = {"totalSize": cursor.total_size, "done": end >= len(cursor.records)}
    if not page["done"]:
        page["nextRecordsUrl"] = f"/services/data/{version}/{cursor.resource}/{cursor_id}-{end}"
    page["records"] = cursor.records[offset:end]
    return page


def _run(state: SalesforceState, request: Request, version: str, q: str | None, include_deleted: bool) -> Any:
    if not q:
        raise MalformedQuery("A query string must be provided in the q parameter")
    try:
        result = execute(state.store, parse(q), version=version, include_deleted=include_deleted)
    except SalesforceError as exc:
        raise locate(exc, q) from None
    resource = "queryAll" if include_deleted else "query"
    cursor = Cursor(result.records, result.total_size, batch_size(request), resource)
    if len(cursor.records) <= cursor.batch_size:
        return {"totalSize": result.total_size, "done": True, "records": result.records}
    return _page(state, version, state.save_cursor(cursor), cursor, 0)


@router.get("/services/data/{version}/query")
@router.get("/services/data/{version}/query/")
async def query(version: str, request: Request, state: Session, q: str | None = None) -> Any:
    return _run(state, request, version, q, include_deleted=False)


@router.get("/services/data/{version}/queryAll")
@router.get("/services/data/{version}/queryAll/")
async def query_all(version: str, request: Request, state: Session, q: str | None = None) -> Any:
    return _run(state, request, version, q, include_deleted=True)


@router.get("/services/data/{version}/query/{locator}")
@router.get("/services/data/{version}/queryAll/{locator}")
async def query_more(version: str, locator: str, state: Session) -> Any:
    cursor_id, _, offset = locator.rpartition("-")
    cursor = state.cursors.get(cursor_id)
    if cursor is None or not offset.isdigit() or int(offset) > len(cursor.records):
        raise SalesforceError("invalid query locator", error_code="INVALID_QUERY_LOCATOR")
    return _page(state, version, cursor_id, cursor, int(offset))
