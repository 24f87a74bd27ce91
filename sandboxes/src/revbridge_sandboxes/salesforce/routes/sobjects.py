"""sObject rows: create, get, update, delete, and get/upsert by external id (REST §2.3).

Writes go through the store (validation, timestamps); a write that activates a Contract hands the
record to the callout dispatcher, which pushes after the response in a background task.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..deps import Session, json_object, version_number
from ..errors import InvalidField, NotFound
from ..fastpath import create_record
from ..schema import ObjectDef
from ..soql.evaluate import record_url
from ..state import SalesforceState
from ..store import Record
from ..values import render

router = APIRouter()
ROW = "/services/data/{version}/sobjects/{sobject}/{record_id}"
# ``value:path``: an external id may hold an encoded "/" (simple-salesforce's ``format_external_id``),
# which the decoded path cannot tell from a separator; ``_external_value`` reads the raw path.
BY_EXTERNAL_ID = "/services/data/{version}/sobjects/{sobject}/{field}/{value:path}"
_BY_EXTERNAL_ID_SEGMENTS = 8  # "", services, data, version, sobjects, type, field, value


def _external_value(request: Request) -> str:
    """The external id value as sent, one raw path segment; more segments are an unknown URL."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.decode("latin-1").split("?", 1)[0].split("/")
    if len(parts) != _BY_EXTERNAL_ID_SEGMENTS or not parts[-1]:
        raise NotFound()
    return unquote(parts[-1])


def render_record(
    state: SalesforceState, obj: ObjectDef, record: Record, version: str, only: str | None = None
) -> dict[str, Any]:
    store = state.store
    if only:
        names = [store.field(obj, n.strip()).name for n in only.split(",") if n.strip()]
    else:
        names = [f.name for f in store.all_fields(obj)]
    out: dict[str, Any] = {"attributes": {"type": obj.name, "url": record_url(version, obj.name, record.id)}}
    out.update({name: render(record.values.get(name)) for name in names})
    return out


def _announce(state: SalesforceState, activated: list[Record]) -> None:
    for contract in activated:
        state.callouts.contract_activated(contract, state.org_id)


@router.post("/services/data/{version}/sobjects/{sobject}", status_code=201)
@router.post("/services/data/{version}/sobjects/{sobject}/", status_code=201)
async def create(
    version: str, sobject: str, request: Request, response: Response, state: Session
) -> dict[str, Any]:
    record_id, location = create_record(state, version, sobject, await request.body())
    response.headers["Location"] = location
    return {"id": record_id, "success": True, "errors": []}


@router.get(ROW)
async def get(version: str, sobject: str, record_id: str, state: Session, fields: str | None = None) -> Any:
    obj = state.store.object_at_url(sobject)
    return render_record(state, obj, state.store.get(obj, record_id), version, fields)


@router.patch(ROW, status_code=204)
async def update(sobject: str, record_id: str, request: Request, state: Session) -> Response:
    obj = state.store.object_at_url(sobject)
    record = state.store.get_for_write(obj, record_id)
    body = await json_object(request)
    _announce(state, state.store.update(obj, record, body))
    return Response(status_code=204)


@router.delete(ROW, status_code=204)
async def delete(sobject: str, record_id: str, state: Session) -> Response:
    obj = state.store.object_at_url(sobject)
    state.store.delete(state.store.get_for_write(obj, record_id))
    return Response(status_code=204)


@router.get(BY_EXTERNAL_ID)
async def get_by_external_id(
    version: str, sobject: str, field: str, request: Request, state: Session, fields: str | None = None
) -> Any:
    value = _external_value(request)
    obj = state.store.object_at_url(sobject)
    record = state.store.find_one_by(obj, field, value, lambda r: record_url(version, obj.name, r.id))
    if record is None:
        raise NotFound()
    return render_record(state, obj, record, version, fields)


@router.patch(BY_EXTERNAL_ID)
async def upsert(
    version: str,
    sobject: str,
    field: str,
    request: Request,
    state: Session,
    updateOnly: bool = False,
) -> Response:
    value = _external_value(request)
    store = state.store
    obj = store.object_at_url(sobject)
    key = store.external_id_field(obj, field)
    body = await json_object(request)
    for name in list(body):
        if name.lower() == key.name.lower():
            if str(body[name]) != value:
                raise InvalidField(f"The value of {key.name} in the body does not match the URL", [key.name])
            del body[name]
    record = store.find_one_by(obj, field, value, lambda r: record_url(version, obj.name, r.id))
    if record is None:
        if key.type == "id" or updateOnly:
            raise NotFound()
        record, activated = store.create(obj, {**body, key.name: value})
        _announce(state, activated)
        return JSONResponse(
            {"id": record.id, "success": True, "errors": [], "created": True}, status_code=201
        )
    _announce(state, store.update(obj, record, body))
    if version_number(version) < 46.0:
        return Response(status_code=204)
    return JSONResponse({"id": record.id, "success": True, "errors": [], "created": False}, status_code=200)
