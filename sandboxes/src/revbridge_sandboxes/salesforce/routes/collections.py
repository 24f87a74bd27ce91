"""sObject Collections: create, update, upsert, retrieve and delete up to 200 records per call.

Results come back in request order as ``{id, success, errors[, created]}``; collection errors use
``statusCode`` (not ``errorCode``) as Salesforce's do. With ``allOrNone`` one failure rolls every
record back and the others report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``; callouts are only sent for
writes that stay committed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from ..deps import Session, json_object
from ..errors import InvalidField, NotFound, SalesforceError
from ..soql.evaluate import record_url
from ..state import SalesforceState
from ..store import Record
from .sobjects import render_record

router = APIRouter()
MAX_RECORDS = 200
BASE = "/services/data/{version}/composite/sobjects"
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": (
        "Record rolled back because not all records were valid and the request was using AllOrNone header"
    ),
    "fields": [],
}


def _error(exc: SalesforceError) -> dict[str, Any]:
    return {"statusCode": exc.error_code, "message": exc.message, "fields": exc.fields or []}


def _records(body: dict[str, Any]) -> list[dict[str, Any]]:
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SalesforceError("records must be an array of sObjects", error_code="INVALID_INPUT")
    _check_size(len(records))
    return records


def _check_size(n: int) -> None:
    if n > MAX_RECORDS:
        raise SalesforceError(
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
            error_code="EXCEEDED_ID_LIMIT",
        )


def _type_of(record: dict[str, Any]) -> str:
    attributes = record.get("attributes")
    sobject = attributes.get("type") if isinstance(attributes, dict) else None
    if not isinstance(sobject, str):
        raise SalesforceError("No SObject Type defined in the record", error_code="INVALID_TYPE")
    return sobject


def _run(
    state: SalesforceState,
    items: list[Any],
    all_or_none: bool,
    op: Callable[[Any], tuple[dict[str, Any], list[Record]]],
) -> list[dict[str, Any]]:
    """Apply ``op`` to each item; roll everything back when all-or-none and anything failed."""
    snapshot = copy.deepcopy(state.store) if all_or_none else None
    results: list[dict[str, Any]] = []
    activated: list[Record] = []
    for item in items:
        try:
            result, fired = op(item)
            results.append({**result, "success": True, "errors": []})
            activated += fired
        except SalesforceError as exc:
            results.append({"id": None, "success": False, "errors": [_error(exc)]})
    if snapshot is not None and not all(r["success"] for r in results):
        state.store = snapshot
        return [
            r if not r["success"] else {**r, "id": None, "success": False, "errors": [ROLLED_BACK]}
            for r in results
        ]
    for contract in activated:
        state.callouts.contract_activated(contract, state.org_id)
    return results


@router.post(BASE)
async def create_many(request: Request, state: Session) -> list[dict[str, Any]]:
    body = await json_object(request)

    def create(record: dict[str, Any]) -> tuple[dict[str, Any], list[Record]]:
        obj = state.store.object(_type_of(record))
        created, fired = state.store.create(obj, record)
        return {"id": created.id}, fired

    return _run(state, _records(body), body.get("allOrNone") is True, create)


@router.patch(BASE)
async def update_many(request: Request, state: Session) -> list[dict[str, Any]]:
    body = await json_object(request)

    def update(record: dict[str, Any]) -> tuple[dict[str, Any], list[Record]]:
        obj = state.store.object(_type_of(record))
        values = {k: v for k, v in record.items() if k.lower() != "id"}
        record_id = next((v for k, v in record.items() if k.lower() == "id"), None)
        if not isinstance(record_id, str):
            raise SalesforceError("Id not specified in an update call", ["Id"], error_code="MISSING_ARGUMENT")
        existing = state.store.get_for_write(obj, record_id)
        return {"id": existing.id}, state.store.update(obj, existing, values)

    return _run(state, _records(body), body.get("allOrNone") is True, update)


@router.patch(BASE + "/{sobject}/{field}")
async def upsert_many(sobject: str, field: str, request: Request, state: Session) -> list[dict[str, Any]]:
    store = state.store
    obj = store.object_at_url(sobject)
    key = store.external_id_field(obj, field)
    body = await json_object(request)

    def upsert(record: dict[str, Any]) -> tuple[dict[str, Any], list[Record]]:
        if _type_of(record).lower() != obj.name.lower():
            raise InvalidField(f"Record type must be {obj.name}")
        value = next((v for k, v in record.items() if k.lower() == key.name.lower()), None)
        if value is None:
            raise SalesforceError(f"Missing value for {key.name}", [key.name], error_code="MISSING_ARGUMENT")
        found = state.store.find_one_by(obj, key.name, str(value), lambda r: record_url("", obj.name, r.id))
        if found is None:
            created, fired = state.store.create(obj, record)
            return {"id": created.id, "created": True}, fired
        values = {k: v for k, v in record.items() if k.lower() != key.name.lower()}
        return {"id": found.id, "created": False}, state.store.update(obj, found, values)

    return _run(state, _records(body), body.get("allOrNone") is True, upsert)


@router.delete(BASE)
async def delete_many(state: Session, ids: str = "", allOrNone: bool = False) -> list[dict[str, Any]]:
    wanted = [i for i in ids.split(",") if i]
    if not wanted:
        raise SalesforceError("ids parameter is required", ["ids"], error_code="MISSING_ARGUMENT")
    _check_size(len(wanted))

    def delete(record_id: str) -> tuple[dict[str, Any], list[Record]]:
        record = state.store.lookup_any(record_id)
        if record is None:
            raise SalesforceError("entity is deleted or does not exist", error_code="ENTITY_IS_DELETED")
        state.store.delete(record)
        return {"id": record.id}, []

    return _run(state, wanted, allOrNone, delete)


@router.get(BASE + "/{sobject}")
async def retrieve_many(
    version: str, sobject: str, state: Session, ids: str = "", fields: str = "Id"
) -> list[dict[str, Any] | None]:
    obj = state.store.object_at_url(sobject)
    wanted = [i for i in ids.split(",") if i]
    _check_size(len(wanted))
    out: list[dict[str, Any] | None] = []
    for record_id in wanted:
        try:
            out.append(render_record(state, obj, state.store.get(obj, record_id), version, fields))
        except NotFound:
            out.append(None)
    return out
