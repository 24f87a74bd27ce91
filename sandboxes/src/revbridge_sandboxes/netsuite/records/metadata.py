"""``/record/v1/metadata-catalog``: the record metadata NetSuite publishes per account.

Three representations, chosen by ``Accept`` ("Working with Resource Metadata"):

- ``application/json`` (the default): the catalog, ``{"items": [{"name", "links"}]}``, each
  record type linking to its own metadata in every media type and to the records it describes;
- ``application/schema+json`` on ``metadata-catalog/{type}``: the record's JSON Schema (fields,
  their types and formats, references, sublists) -- the schema a client validates records against;
- ``application/swagger+json``: an OpenAPI 3.0 document for the record types named by ``select``
  (all when absent), or for the one type in the path.

Only the record types the sandbox serves are described, with the fields it stores; every body it
renders for a record validates against that record's schema here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .fields import FieldType, field_type, label, record_fields, scalar_type
from .kinds import RecordKind, lookup

PREFIX = "/services/rest/record/v1/metadata-catalog"
SCHEMA_JSON = "application/schema+json"
SWAGGER_JSON = "application/swagger+json"
LINKS: dict[str, Any] = {
    "title": "Links",
    "type": "array",
    "readOnly": True,
    "items": {
        "type": "object",
        "properties": {"rel": {"type": "string"}, "href": {"type": "string", "format": "uri"}},
    },
}
SCALARS: dict[FieldType, dict[str, Any]] = {
    "text": {"type": "string"},
    "number": {"type": "number", "format": "double"},
    "integer": {"type": "integer", "format": "int64"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}


def _reference(title: str) -> dict[str, Any]:
    # guess: NetSuite points references at its shared ``nsResource`` schema; it is inlined here so
    # the schema is self-contained (a validator need not fetch anything).
    return {
        "title": title,
        "type": "object",
        "properties": {"id": {"type": "string"}, "refName": {"type": "string"}, "links": LINKS},
    }


def _property(kind: RecordKind, name: str) -> dict[str, Any]:
    kind_of = field_type(kind, name)
    if kind_of == "reference":
        return _reference(label(name))
    if kind_of == "sublist":
        return _sublist(kind, name)
    out: dict[str, Any] = {"title": label(name), **SCALARS[kind_of], "nullable": True}
    if name in kind.read_only:
        out["readOnly"] = True
    return out


def _line(kind: RecordKind, sublist: str) -> dict[str, Any]:
    refs = kind.sublists[sublist]
    properties: dict[str, Any] = {"links": LINKS}
    for name in sorted(kind.line_fields):
        if name in refs:
            properties[name] = _reference(label(name))
        else:
            properties[name] = {"title": label(name), **SCALARS[scalar_type(name)], "nullable": True}
    return {"type": "object", "properties": properties}


def _sublist(kind: RecordKind, name: str) -> dict[str, Any]:
    """A sublist: its ``links``, and its lines as a paged collection when expanded."""
    return {
        "title": label(name),
        "type": "object",
        "properties": {
            "links": LINKS,
            "count": {"type": "integer", "format": "int64"},
            "hasMore": {"type": "boolean"},
            "offset": {"type": "integer", "format": "int64"},
            "totalResults": {"type": "integer", "format": "int64"},
            "items": {"type": "array", "items": _line(kind, name)},
        },
    }


def record_schema(kind: RecordKind) -> dict[str, Any]:
    """The JSON Schema of one record type, as ``Accept: application/schema+json`` answers it."""
    properties: dict[str, Any] = {"links": LINKS}
    for name in record_fields(kind):
        properties[name] = _property(kind, name)
    properties["refName"] = {"title": "Reference Name", "type": "string", "readOnly": True}
    properties["id"] = {"title": "Internal ID", "type": "string", "readOnly": True}
    # guess: custom fields are listed one by one in a real account (``x-ns-custom-field``); the
    # sandbox accepts any ``cust*`` field, so the schema admits them by pattern instead.
    return {
        "type": "object",
        "properties": properties,
        "patternProperties": {"^cust(entity|body|col|record|item)": {"x-ns-custom-field": True}},
    }


def _operations(name: str, schema_ref: str) -> dict[str, Any]:
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}
    no_content = {"204": {"description": "Success, no content"}}
    record_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

    def query(param: str, description: str, schema_type: str = "string") -> dict[str, Any]:
        return {"name": param, "in": "query", "description": description, "schema": {"type": schema_type}}

    return {
        f"/{name}": {
            "get": {
                "tags": [name],
                "summary": "Get list of records.",
                "parameters": [
                    query("q", "Search query used to filter results."),
                    query(
                        "limit",
                        "The limit used to specify the number of results on a single page.",
                        "integer",
                    ),
                    query("offset", "The offset used for selecting a specific page of results.", "integer"),
                ],
                "responses": {"200": {"description": "Get list of records."}},
            },
            "post": {
                "tags": [name],
                "summary": "Insert record.",
                "requestBody": body,
                "responses": no_content,
            },
        },
        f"/{name}/{{id}}": {
            "get": {
                "tags": [name],
                "summary": "Get record.",
                "parameters": [
                    record_id,
                    query(
                        "expandSubResources", "Set to true to automatically expand all sublists.", "boolean"
                    ),
                    query("fields", "Comma-separated list of field names to return."),
                ],
                "responses": {
                    "200": {
                        "description": "Get record.",
                        "content": {
                            "application/vnd.oracle.resource+json; type=singular": {
                                "schema": {"$ref": schema_ref}
                            }
                        },
                    }
                },
            },
            "patch": {
                "tags": [name],
                "summary": "Update record.",
                "parameters": [record_id],
                "requestBody": body,
                "responses": no_content,
            },
            "put": {
                "tags": [name],
                "summary": "Insert or update record.",
                "parameters": [record_id],
                "requestBody": body,
                "responses": no_content,
            },
            "delete": {
                "tags": [name],
                "summary": "Remove record.",
                "parameters": [record_id],
                "responses": no_content,
            },
        },
    }


def openapi(kinds: list[RecordKind], base: str) -> dict[str, Any]:
    """An OpenAPI 3.0 document for ``kinds`` (``Accept: application/swagger+json``)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for kind in kinds:
        paths.update(_operations(kind.name, f"#/components/schemas/{kind.name}"))
        schemas[kind.name] = record_schema(kind)
    return {
        "openapi": "3.0.1",
        "info": {"title": "NetSuite REST Record API", "version": "v1"},
        "servers": [{"url": f"{base}/services/rest/record/v1"}],
        "tags": [{"name": kind.name} for kind in kinds],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def catalog_entry(kind: RecordKind, base: str) -> dict[str, Any]:
    href = f"{base}{PREFIX}/{kind.name}"
    return {
        "name": kind.name,
        "links": [
            {"rel": "canonical", "href": href, "mediaType": "application/json"},
            {"rel": "alternate", "href": href, "mediaType": SWAGGER_JSON},
            {"rel": "alternate", "href": href, "mediaType": SCHEMA_JSON},
            {"rel": "describes", "href": f"{base}/services/rest/record/v1/{kind.name}"},
        ],
    }


def _accepts(request: Request, media_type: str) -> bool:
    return media_type in request.headers.get("accept", "").lower()


def _selected(request: Request, kinds: dict[str, RecordKind]) -> list[RecordKind]:
    select = request.query_params.get("select")
    if not select:
        return sorted({id(k): k for k in kinds.values()}.values(), key=lambda k: k.name.lower())
    return [lookup(kinds, name.strip()) for name in select.split(",") if name.strip()]


def build_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    def base_of(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @router.get("")
    @router.get("/")
    async def catalog(request: Request) -> JSONResponse:
        kinds: dict[str, RecordKind] = request.app.state.netsuite_kinds
        chosen = _selected(request, kinds)
        if _accepts(request, SWAGGER_JSON):
            return JSONResponse(openapi(chosen, base_of(request)), media_type=SWAGGER_JSON)
        return JSONResponse({"items": [catalog_entry(kind, base_of(request)) for kind in chosen]})

    @router.get("/{record_type}")
    async def record_metadata(request: Request, record_type: str) -> JSONResponse:
        kind = lookup(request.app.state.netsuite_kinds, record_type)
        if _accepts(request, SCHEMA_JSON):
            return JSONResponse(record_schema(kind), media_type=SCHEMA_JSON)
        if _accepts(request, SWAGGER_JSON):
            return JSONResponse(openapi([kind], base_of(request)), media_type=SWAGGER_JSON)
        # guess: with plain JSON NetSuite answers the record type's catalog entry
        return JSONResponse(catalog_entry(kind, base_of(request)))

    return router
