"""NetSuite REST bodies checked against the shapes NetSuite documents (SuiteTalk REST Web Services).

NetSuite's machine-readable schema is per account (``metadata-catalog/{type}`` with
``Accept: application/schema+json``) and there is no public copy to take offline, so the record
schemas here are written from the REST API Browser (2024.2) for the record types the sandbox
serves, with the field types it lists: references are ``{id, refName?, links}``, sublists
``{links}`` or, expanded, a paged collection of lines; dates ``YYYY-MM-DD``, timestamps ISO 8601
in UTC; amounts numbers; ids strings of digits. Around them: the collection (``links``,
``count``, ``hasMore``, ``items``, ``offset``, ``totalResults``) of record lists and SuiteQL
("Collection Paging", "Executing SuiteQL Queries Through REST Web Services"), the async job and
task resources ("Asynchronous Request Processing"), the OAuth 2 token, the error body
("Error Handling in REST Web Services": ``type``, ``title``, ``status``, ``o:errorDetails`` of
``detail`` + ``o:errorCode`` and only the documented optional pointers ``o:errorPath``,
``o:urlPath``, ``o:errorHeader``, ``o:errorQueryParam``), and the metadata catalog ("Working with
Resource Metadata": the ``items`` catalog, a record's JSON Schema, an OpenAPI 3.0 document).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema_rs

from .common import messages, oauth_error

ID = {"type": "string", "pattern": "^-?[0-9]+$"}
LINK = {
    "type": "object",
    "required": ["rel", "href"],
    "additionalProperties": False,
    "properties": {"rel": {"type": "string"}, "href": {"type": "string", "pattern": "^https?://"}},
}
LINKS = {"type": "array", "items": LINK}
SELF = {"type": "array", "minItems": 1, "items": LINK}
REF = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": ID, "refName": {"type": "string"}, "links": LINKS},
}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$"}
TEXT = {"type": "string"}
NUMBER = {"type": "number"}
BOOL = {"type": "boolean"}


def collection(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["links", "count", "hasMore", "items", "offset", "totalResults"],
        "properties": {
            "links": LINKS,
            "count": {"type": "integer", "minimum": 0},
            "hasMore": BOOL,
            "items": {"type": "array", "items": item},
            "offset": {"type": "integer", "minimum": 0},
            "totalResults": {"type": "integer", "minimum": 0},
        },
    }


def sublist(line: dict[str, Any]) -> dict[str, Any]:
    """``{links}`` as fetched, or the lines too with ``expandSubResources=true``."""
    return {
        "anyOf": [
            {
                "type": "object",
                "required": ["links"],
                "additionalProperties": False,
                "properties": {"links": SELF},
            },
            collection(line),
        ]
    }


def record(fields: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record: a self link, a string id, and each listed field with its documented type."""
    return {
        "type": "object",
        "required": ["links", "id", *required],
        "properties": {
            "links": SELF,
            "id": ID,
            "externalId": TEXT,
            "refName": TEXT,
            "lastModifiedDate": DATETIME,
            "createdDate": DATETIME,
            "dateCreated": DATETIME,
            **fields,
        },
        # custom fields (cust*) carry the types of their definitions; anything else is a scalar or object
        "additionalProperties": {"type": ["string", "number", "boolean", "null", "object"]},
    }


TRANSACTION = {
    "tranId": TEXT,
    "tranDate": DATE,
    "memo": TEXT,
    "subsidiary": REF,
    "currency": REF,
    "exchangeRate": NUMBER,
    "postingPeriod": REF,
    "status": {"anyOf": [REF, TEXT]},
    "total": NUMBER,
}
ITEM_LINE = {
    "type": "object",
    "properties": {
        "links": LINKS,
        "item": REF,
        "quantity": NUMBER,
        "rate": NUMBER,
        "amount": NUMBER,
        "description": TEXT,
        "line": {"type": "integer"},
    },
}
APPLY_LINE = {
    "type": "object",
    "properties": {"links": LINKS, "doc": REF, "apply": BOOL, "amount": NUMBER, "line": {"type": "integer"}},
}
JOURNAL_LINE = {
    "type": "object",
    "properties": {
        "links": LINKS,
        "account": REF,
        "debit": NUMBER,
        "credit": NUMBER,
        "memo": TEXT,
        "entity": REF,
    },
}

RECORDS: dict[str, dict[str, Any]] = {
    "customer": record(
        {
            "entityId": TEXT,
            "companyName": TEXT,
            "email": TEXT,
            "subsidiary": REF,
            "currency": REF,
            "isInactive": BOOL,
            "isPerson": BOOL,
        },
        ("companyName",),
    ),
    "invoice": record(
        {
            **TRANSACTION,
            "entity": REF,
            "dueDate": DATE,
            "amountPaid": NUMBER,
            "amountRemaining": NUMBER,
            "item": sublist(ITEM_LINE),
        },
        ("entity", "tranDate"),
    ),
    "creditmemo": record(
        {
            **TRANSACTION,
            "entity": REF,
            "amountRemaining": NUMBER,
            "applied": NUMBER,
            "unapplied": NUMBER,
            "item": sublist(ITEM_LINE),
            "apply": sublist(APPLY_LINE),
        },
        ("entity", "tranDate"),
    ),
    "customerpayment": record(
        {
            **TRANSACTION,
            "customer": REF,
            "payment": NUMBER,
            "account": REF,
            "applied": NUMBER,
            "unapplied": NUMBER,
            "apply": sublist(APPLY_LINE),
        },
        ("customer", "payment"),
    ),
    "customerrefund": record(
        {**TRANSACTION, "customer": REF, "account": REF, "apply": sublist(APPLY_LINE)}, ("customer",)
    ),
    "journalentry": record({**TRANSACTION, "line": sublist(JOURNAL_LINE)}, ("tranDate",)),
    "currency": record({"name": TEXT, "symbol": TEXT, "isBaseCurrency": BOOL, "exchangeRate": NUMBER}),
    "subsidiary": record({"name": TEXT, "currency": REF, "isInactive": BOOL}),
    "account": record({"acctName": TEXT, "acctNumber": TEXT, "acctType": {"anyOf": [REF, TEXT]}}),
    "servicesaleitem": record(
        {"itemId": TEXT, "displayName": TEXT, "incomeAccount": REF, "isInactive": BOOL}
    ),
    "noninventorysaleitem": record(
        {"itemId": TEXT, "displayName": TEXT, "incomeAccount": REF, "isInactive": BOOL}
    ),
}

LISTED = collection({"type": "object", "required": ["links", "id"], "properties": {"links": SELF, "id": ID}})
SUITEQL = collection({"type": "object", "required": ["links"], "properties": {"links": LINKS}})
ERROR = {
    "type": "object",
    "required": ["type", "title", "status", "o:errorDetails"],
    "properties": {
        "type": {"type": "string", "pattern": "^https?://"},
        "title": TEXT,
        "status": {"type": "integer"},
        "o:errorDetails": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["detail", "o:errorCode"],
                "additionalProperties": False,
                "properties": {
                    "detail": {"type": "string", "minLength": 1},
                    "o:errorCode": {"type": "string", "pattern": "^[A-Z_]+$"},
                    "o:errorPath": TEXT,
                    "o:urlPath": TEXT,
                    "o:errorQueryParam": TEXT,
                    "o:errorHeader": TEXT,
                },
            },
        },
    },
}
JOB = {
    "type": "object",
    "required": ["links", "id", "completed", "progress"],
    "properties": {
        "links": SELF,
        "id": ID,
        "completed": BOOL,
        "progress": {"enum": ["pending", "succeeded", "failed"]},
        "task": {"type": "object"},
    },
}
TOKEN = {
    "type": "object",
    "required": ["access_token", "expires_in", "token_type"],
    "properties": {
        "access_token": TEXT,
        "expires_in": {"type": ["string", "integer"]},
        "token_type": {"enum": ["bearer", "Bearer"]},
    },
}

CATALOG_LINK = {
    "type": "object",
    "required": ["rel", "href"],
    "additionalProperties": False,
    "properties": {
        "rel": {"enum": ["canonical", "alternate", "describes"]},
        "href": {"type": "string", "pattern": "^https?://"},
        "mediaType": {"enum": ["application/json", "application/swagger+json", "application/schema+json"]},
    },
}
CATALOG_ENTRY = {
    "type": "object",
    "required": ["name", "links"],
    "additionalProperties": False,
    "properties": {"name": TEXT, "links": {"type": "array", "minItems": 1, "items": CATALOG_LINK}},
}
CATALOG = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": CATALOG_ENTRY}},
}
# A record's JSON Schema: every property is a typed schema (scalars with NetSuite's formats,
# references and sublists as objects with their own properties).
FIELD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "title": TEXT,
        "type": {"enum": ["string", "number", "integer", "boolean", "object", "array"]},
        "format": {"enum": ["date", "date-time", "double", "int64", "uri"]},
        "nullable": BOOL,
        "readOnly": BOOL,
        "properties": {"type": "object"},
        "items": {"type": "object"},
    },
}
RECORD_SCHEMA = {
    "type": "object",
    "required": ["type", "properties"],
    "properties": {
        "type": {"const": "object"},
        "properties": {"type": "object", "minProperties": 1, "additionalProperties": FIELD_SCHEMA},
        "patternProperties": {"type": "object"},
    },
}
OPENAPI = {
    "type": "object",
    "required": ["openapi", "info", "paths", "components"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "info": {"type": "object", "required": ["title", "version"]},
        "servers": {"type": "array", "items": {"type": "object", "required": ["url"]}},
        "paths": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^/"},
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"enum": ["get", "post", "put", "patch", "delete"]},
                "additionalProperties": {"type": "object", "required": ["responses"]},
            },
        },
        "components": {
            "type": "object",
            "required": ["schemas"],
            "properties": {"schemas": {"type": "object", "additionalProperties": RECORD_SCHEMA}},
        },
    },
}
# ``metadata-catalog/{type}`` answers by ``Accept``; the recorded body says which it was
METADATA = {
    "if": {"required": ["openapi"]},
    "then": OPENAPI,
    "else": {"if": {"required": ["properties"]}, "then": RECORD_SCHEMA, "else": CATALOG_ENTRY},
}

_R = "/services/rest/record/v1"
_J = "/services/rest/async/v1/job"
ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/services/rest/auth/oauth2/v1/token", TOKEN),
    ("POST", "/services/rest/query/v1/suiteql", SUITEQL),
    ("GET", _J + "/[^/]+", JOB),
    ("GET", _J + "/[^/]+/task/?", collection({"type": "object"})),
    ("GET", _J + "/[^/]+/task/[^/]+", JOB),
    ("GET", _J + "/[^/]+/task/[^/]+/result", {"type": ["object", "array", "null"]}),
    ("GET", _R + "/metadata-catalog/?", {"if": {"required": ["openapi"]}, "then": OPENAPI, "else": CATALOG}),
    ("GET", _R + "/metadata-catalog/[A-Za-z]+", METADATA),
    ("GET", _R + "/[A-Za-z]+", LISTED),
]
_COMPILED = [(m, re.compile(f"^{p}$"), s) for m, p, s in ROUTES]
# an external id (``eid:...``) may hold a slash; only an internal id can be followed by a sublist
_RECORD = re.compile(f"^{_R}/(?P<type>[A-Za-z]+)/(eid:.+|[0-9]+(/(?P<sublist>[A-Za-z]+))?)$")


@cache
def _validator(schema_key: str) -> jsonschema_rs.Validator:
    if schema_key in ("error", "oauth_error"):
        return jsonschema_rs.Draft7Validator(ERROR if schema_key == "error" else oauth_error())
    if schema_key.startswith("route:"):
        return jsonschema_rs.Draft7Validator(_COMPILED[int(schema_key[6:])][2])
    if schema_key.endswith("?fields"):
        return jsonschema_rs.Draft7Validator({**RECORDS[schema_key[:-7]], "required": ["links", "id"]})
    kind, _, sub = schema_key.partition("/")
    schema = RECORDS[kind]
    if sub:
        schema = schema["properties"][sub]
    return jsonschema_rs.Draft7Validator(schema)


class NetSuiteSchemas:
    def errors(self, kind: str, method: str, path: str, status: int, body: Any) -> Iterator[str]:
        bare = path.split("?", 1)[0]
        key = self._schema_key(method, bare, status)
        if key in RECORDS and re.search(r"[?&]fields=", path):
            key += "?fields"  # only the fields asked for come back
        if key is None:
            yield f"{method} {bare}: no documented shape for this resource"
            return
        yield from messages(_validator(key), body)

    @staticmethod
    def _schema_key(method: str, bare: str, status: int) -> str | None:
        if status >= 400:
            return "oauth_error" if bare.startswith("/services/rest/auth/oauth2/") else "error"
        for i, (m, pattern, _) in enumerate(_COMPILED):
            if m == method and pattern.match(bare):
                return f"route:{i}"
        match = _RECORD.match(bare)
        if method == "GET" and match and match["type"].lower() in RECORDS:
            kind = match["type"].lower()
            if match["sublist"]:
                return (
                    f"{kind}/{match['sublist']}" if match["sublist"] in RECORDS[kind]["properties"] else None
                )
            return kind
        return None
