"""``/services/rest/record/v1``: create, get, update, upsert by external id, delete and list.

Writes answer 204 with no body (create and upsert add a ``Location``), or 202 with a job
Location under ``Prefer: respond-async``. Unknown properties are dropped unless the client sends
``X-NetSuite-PropertyNameValidation: error``, as the ``netsuite`` package always does.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..async_jobs import run_async, wants_async
from ..errors import NetSuiteError, invalid_content, nonexistent
from ..state import Record, SandboxState
from .common import CUSTOM_PREFIXES, check_property_names
from .filters import compile_filter
from .kinds import RecordKind, lookup
from .serialize import collection, record_href, render, render_sublist

PREFIX = "/services/rest/record/v1"
SINGULAR = "application/vnd.oracle.resource+json; type=singular"
COLLECTION = "application/vnd.oracle.resource+json; type=collection"
ENCODED_SLASH = "%2F"  # kept encoded inside a path segment by the middleware (eid:a%2Fb)


def _context(request: Request, record_type: str) -> tuple[SandboxState, dict[str, RecordKind], RecordKind]:
    kinds: dict[str, RecordKind] = request.app.state.netsuite_kinds
    return request.app.state.netsuite, kinds, lookup(kinds, record_type)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _find(state: SandboxState, kind: RecordKind, record_id: str) -> Record:
    record_id = record_id.replace(ENCODED_SLASH, "/")
    table = state.table(kind.name)
    if record_id.startswith("eid:"):
        found = state.by_external_id(kind.name, record_id[4:])
        if found is not None:
            return found
    elif record_id in table:
        return table[record_id]
    raise nonexistent(kind.name, record_id)


def _writable(kind: RecordKind) -> RecordKind:
    if not kind.writable:
        raise NetSuiteError(
            403, "INSUFFICIENT_PERMISSION", f"The {kind.name} record is read-only in this sandbox."
        )
    return kind


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise NetSuiteError(
            400,
            "INVALID_PARAMETER",
            f"Invalid value for query parameter '{name}': {raw}.",  # guess: the wording
            query_param=name,
        )
    return int(raw)


async def _body(request: Request, kind: RecordKind) -> dict[str, Any]:
    raw = await request.body()
    # guess: what follows "Invalid content in the request body" (NetSuite's prefix for these)
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise invalid_content("Invalid content in the request body: the body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise invalid_content("Invalid content in the request body: expected a JSON object.")
    if request.headers.get("x-netsuite-propertynamevalidation", "").lower() == "error":
        check_property_names(data, kind.fields | kind.read_only)
        for sublist in kind.sublists:
            value = data.get(sublist)
            lines = value.get("items", []) if isinstance(value, dict) else []
            for index, line in enumerate(lines if isinstance(lines, list) else []):
                if isinstance(line, dict):
                    check_property_names(line, kind.line_fields, where=f"{sublist}.items[{index}].")
    return {k: v for k, v in data.items() if k in kind.fields or k.lower().startswith(CUSTOM_PREFIXES)}


def _written(request: Request, kind: RecordKind, record: Record) -> Response:
    return Response(
        status_code=204, headers={"Location": record_href(_base(request), kind.name, record["id"])}
    )


async def create_record(request: Request, record_type: str) -> Response:
    """``POST /record/v1/{type}``; also served by the fast path (``..fastpath``) without the router."""
    state, _, kind = _context(request, record_type)
    body = await _body(request, _writable(kind))

    def operation() -> Response:
        assert kind.create is not None
        return _written(request, kind, kind.create(state, body))

    return run_async(request, state, operation) if wants_async(request) else operation()


def build_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    @router.get("/{record_type}")
    async def list_records(request: Request, record_type: str) -> JSONResponse:
        state, _, kind = _context(request, record_type)
        limit = _int_param(request, "limit", 1000, 1, 1000)
        offset = _int_param(request, "offset", 0, 0, 10**9)
        table = state.table(kind.name)
        ids = sorted(table, key=int)
        q = request.query_params.get("q")
        query = ""
        if q is not None:
            matches = compile_filter(kind, q)
            ids = [rid for rid in ids if matches(table[rid])]
            query = urlencode({"q": q}, quote_via=quote) + "&"
        href = f"{_base(request)}{PREFIX}/{kind.name}"
        body = collection(href, ids, href, limit=limit, offset=offset, query=query)
        return JSONResponse(body, media_type=COLLECTION)

    router.post("/{record_type}")(create_record)

    @router.get("/{record_type}/{record_id}")
    async def get_record(request: Request, record_type: str, record_id: str) -> JSONResponse:
        state, kinds, kind = _context(request, record_type)
        record = _find(state, kind, record_id)
        expand = request.query_params.get("expandSubResources", "").lower() == "true"
        fields = request.query_params.get("fields")
        only = {name.strip() for name in fields.split(",")} if fields else None
        body = render(state, kinds, kind, record, _base(request), expand=expand, only=only)
        return JSONResponse(body, media_type=SINGULAR)

    @router.get("/{record_type}/{record_id}/{sublist}")
    async def get_sublist(request: Request, record_type: str, record_id: str, sublist: str) -> JSONResponse:
        state, kinds, kind = _context(request, record_type)
        record = _find(state, kind, record_id)
        if sublist not in kind.sublists:
            raise NetSuiteError(404, "NONEXISTENT_ID", f"The sub-resource {sublist} does not exist.")
        body = render_sublist(state, kinds, kind, record, sublist, _base(request), expand=True)
        return JSONResponse(body, media_type=COLLECTION)

    @router.patch("/{record_type}/{record_id}")
    async def update_record(request: Request, record_type: str, record_id: str) -> Response:
        state, _, kind = _context(request, record_type)
        body = await _body(request, _writable(kind))

        def operation() -> Response:
            assert kind.update is not None
            kind.update(state, _find(state, kind, record_id), body)
            return Response(status_code=204)

        return run_async(request, state, operation) if wants_async(request) else operation()

    @router.put("/{record_type}/{record_id}")
    async def upsert_record(request: Request, record_type: str, record_id: str) -> Response:
        state, _, kind = _context(request, record_type)
        body = await _body(request, _writable(kind))
        if not record_id.startswith("eid:") or len(record_id) == 4:
            raise NetSuiteError(  # guess: code and wording
                400, "INVALID_ID", "Upsert needs an external ID in the URL: PUT /record/v1/{type}/eid:{id}."
            )
        body["externalId"] = record_id[4:].replace(ENCODED_SLASH, "/")

        def operation() -> Response:
            assert kind.create is not None and kind.update is not None
            try:
                record = _find(state, kind, record_id)
            except NetSuiteError:
                return _written(request, kind, kind.create(state, body))
            kind.update(state, record, body)
            return _written(request, kind, record)

        return run_async(request, state, operation) if wants_async(request) else operation()

    @router.delete("/{record_type}/{record_id}")
    async def delete_record(request: Request, record_type: str, record_id: str) -> Response:
        state, _, kind = _context(request, record_type)
        _writable(kind)

        def operation() -> Response:
            assert kind.delete is not None
            kind.delete(state, _find(state, kind, record_id))
            return Response(status_code=204)

        return run_async(request, state, operation) if wants_async(request) else operation()

    return router
