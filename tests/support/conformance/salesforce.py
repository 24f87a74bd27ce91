"""Salesforce REST bodies checked against the shapes Salesforce documents for each resource.

Salesforce publishes no machine-readable schema for its REST API, so the shapes are written here
from the REST API Developer Guide (v59.0-v67.0), one per resource the sandbox serves, with only
what the guide states: the OAuth token response ("OAuth 2.0 Client Credentials Flow"), the
versions list, describeGlobal / sObject Basic Information / sObject Describe, a record
(``attributes`` with ``type`` and ``url``, 18-character ``Id``), the query result (``totalSize``,
``done``, ``records``, ``nextRecordsUrl`` - a path - while not done), the save result
(``id``/``success``/``errors``, ``created`` on upserts), sObject Collections (an array of save
results), Composite (``compositeResponse`` of ``body``/``httpHeaders``/``httpStatusCode``/
``referenceId``), sObject Get Deleted (``deletedRecords`` of ``id``/``deletedDate``,
``earliestDateAvailable``, ``latestDateCovered``), sObject Get Updated (``ids``,
``latestDateCovered``), Limits (``{Name: {Max, Remaining}}``) and the error body: always a JSON
array of ``{message, errorCode, fields?}`` and nothing else ("Status Codes and Error Responses");
the OAuth endpoint's errors are ``{error, error_description}`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema_rs

from .common import messages, oauth_error

ID18 = {"type": "string", "pattern": "^[a-zA-Z0-9]{18}$"}
# Salesforce's own datetime rendering: 2013-05-07T22:07:19.000+0000
SF_DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$"}
DATA_PATH = {"type": "string", "pattern": r"^/services/data/v\d+\.\d+/"}

ERROR = {
    "type": "object",
    "required": ["message", "errorCode"],
    "additionalProperties": False,
    "properties": {
        "message": {"type": "string"},
        "errorCode": {"type": "string", "pattern": "^[A-Z_]+$"},
        "fields": {"type": "array", "items": {"type": "string"}},
    },
}
ERRORS = {"type": "array", "minItems": 1, "items": ERROR}

RECORD: dict[str, Any] = {
    "type": "object",
    "required": ["attributes"],
    "properties": {
        "attributes": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"type": "string"}, "url": DATA_PATH},
        },
        "Id": ID18,
    },
    # field values: scalars, a compound address, a parent record or a child query result
    "additionalProperties": {"type": ["string", "number", "boolean", "null", "object"]},
}

QUERY = {
    "type": "object",
    "required": ["totalSize", "done", "records"],
    "properties": {
        "totalSize": {"type": "integer", "minimum": 0},
        "done": {"type": "boolean"},
        "records": {"type": "array", "items": RECORD},
        "nextRecordsUrl": {"type": "string", "pattern": r"^/services/data/v\d+\.\d+/query(All)?/[^/]+$"},
    },
    "if": {"properties": {"done": {"const": False}}},
    "then": {"required": ["nextRecordsUrl"]},
    "else": {"not": {"required": ["nextRecordsUrl"]}},
}

SAVE = {
    "type": "object",
    "required": ["success", "errors"],
    "properties": {
        "id": {"anyOf": [ID18, {"type": "null"}]},
        "success": {"type": "boolean"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["statusCode", "message"],
                "properties": {
                    "statusCode": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "created": {"type": "boolean"},
    },
    "if": {"properties": {"success": {"const": True}}},
    "then": {"required": ["id"]},
}
UPSERT = {"allOf": [SAVE, {"required": ["id", "created"]}]}

TOKEN = {
    "type": "object",
    "required": ["access_token", "instance_url", "id", "token_type"],
    "properties": {
        "access_token": {"type": "string", "minLength": 1},
        "instance_url": {"type": "string", "pattern": "^https?://"},
        "id": {"type": "string", "pattern": "^https?://.+/id/00D[a-zA-Z0-9]{12,15}/005[a-zA-Z0-9]{12,15}$"},
        "token_type": {"const": "Bearer"},
        "issued_at": {"type": "string", "pattern": "^[0-9]{13}$"},  # epoch milliseconds, as a string
        "signature": {"type": "string"},
        "scope": {"type": "string"},
        "token_format": {"type": "string"},
    },
}

VERSIONS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["label", "url", "version"],
        "properties": {
            "url": {"type": "string", "pattern": r"^/services/data/v\d+\.\d+$"},
            "version": {"type": "string", "pattern": r"^\d+\.\d+$"},
        },
    },
}

SOBJECT_SUMMARY = {
    "type": "object",
    "required": ["name", "label", "keyPrefix", "custom", "createable", "queryable", "urls"],
    "properties": {
        "name": {"type": "string"},
        "keyPrefix": {"type": ["string", "null"]},
        "custom": {"type": "boolean"},
        "urls": {"type": "object"},
    },
}
DESCRIBE_GLOBAL = {
    "type": "object",
    "required": ["encoding", "maxBatchSize", "sobjects"],
    "properties": {
        "encoding": {"type": "string"},
        "maxBatchSize": {"type": "integer"},
        "sobjects": {"type": "array", "items": SOBJECT_SUMMARY},
    },
}
BASIC_INFO = {
    "type": "object",
    "required": ["objectDescribe", "recentItems"],
    "properties": {"objectDescribe": SOBJECT_SUMMARY, "recentItems": {"type": "array", "items": RECORD}},
}
FIELD = {
    "type": "object",
    "required": ["name", "label", "type", "nillable", "createable", "updateable"],
    "properties": {
        "name": {"type": "string"},
        "type": {
            "enum": [
                "id",
                "string",
                "boolean",
                "int",
                "double",
                "currency",
                "percent",
                "date",
                "datetime",
                "time",
                "picklist",
                "multipicklist",
                "reference",
                "textarea",
                "email",
                "phone",
                "url",
                "address",
                "location",
                "combobox",
                "base64",
                "encryptedstring",
                "anyType",
                "complexvalue",
                "long",
            ]
        },
        "nillable": {"type": "boolean"},
        "length": {"type": "integer", "minimum": 0},
        "picklistValues": {"type": "array"},
        "referenceTo": {"type": "array", "items": {"type": "string"}},
    },
}
DESCRIBE = {
    "allOf": [
        SOBJECT_SUMMARY,
        {
            "type": "object",
            "required": ["fields"],
            "properties": {"fields": {"type": "array", "minItems": 1, "items": FIELD}},
        },
    ]
}

COMPOSITE = {
    "type": "object",
    "required": ["compositeResponse"],
    "properties": {
        "compositeResponse": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["body", "httpHeaders", "httpStatusCode", "referenceId"],
                "properties": {
                    "httpHeaders": {"type": "object"},
                    "httpStatusCode": {"type": "integer"},
                    "referenceId": {"type": "string"},
                },
            },
        }
    },
}

DELETED = {
    "type": "object",
    "required": ["deletedRecords", "earliestDateAvailable", "latestDateCovered"],
    "additionalProperties": False,
    "properties": {
        "deletedRecords": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "deletedDate"],
                "additionalProperties": False,
                "properties": {"id": ID18, "deletedDate": SF_DATETIME},
            },
        },
        "earliestDateAvailable": SF_DATETIME,
        "latestDateCovered": SF_DATETIME,
    },
}
UPDATED = {
    "type": "object",
    "required": ["ids", "latestDateCovered"],
    "additionalProperties": False,
    "properties": {"ids": {"type": "array", "items": ID18}, "latestDateCovered": SF_DATETIME},
}
LIMITS = {
    "type": "object",
    "required": ["DailyApiRequests"],
    "additionalProperties": {
        "type": "object",
        "required": ["Max", "Remaining"],
        "properties": {
            "Max": {"type": "integer", "minimum": 0},
            "Remaining": {"type": "integer", "minimum": 0},
        },
    },
}

_V = r"/services/data/v\d+\.\d+"
ROUTES: list[tuple[str, str, Any]] = [  # method, path pattern, schema of a 2xx answer
    ("GET", _V + r"/sobjects/\w+/deleted/?", DELETED),
    ("GET", _V + r"/sobjects/\w+/updated/?", UPDATED),
    ("GET", _V + r"/limits/?", LIMITS),
    ("POST", r"/services/oauth2/token", TOKEN),
    ("GET", r"/services/data/?", VERSIONS),
    ("GET", _V + r"/sobjects/?", DESCRIBE_GLOBAL),
    ("GET", _V + r"/sobjects/\w+/describe/?", DESCRIBE),
    ("GET", _V + r"/sobjects/\w+/?", BASIC_INFO),
    ("GET", _V + r"/query(All)?/?", QUERY),
    ("GET", _V + r"/query(All)?/[^/]+", QUERY),
    ("POST", _V + r"/sobjects/\w+/?", SAVE),
    ("GET", _V + r"/sobjects/\w+/[a-zA-Z0-9]{15,18}", RECORD),
    # by external id: the recorded path is decoded, and a value may hold an encoded "/"
    ("GET", _V + r"/sobjects/\w+/\w+/.+", RECORD),
    ("PATCH", _V + r"/sobjects/\w+/\w+/.+", UPSERT),
    ("POST", _V + r"/composite/sobjects/?", {"type": "array", "items": SAVE}),
    ("DELETE", _V + r"/composite/sobjects/?", {"type": "array", "items": SAVE}),
    ("PATCH", _V + r"/composite/sobjects(/\w+/\w+)?/?", {"type": "array", "items": SAVE}),
    (
        "GET",
        _V + r"/composite/sobjects/\w+",
        {"type": "array", "items": {"anyOf": [RECORD, {"type": "null"}]}},
    ),
    ("POST", _V + r"/composite/?", COMPOSITE),
]
_COMPILED = [(m, re.compile(f"^{p}$"), s) for m, p, s in ROUTES]


@cache
def _validator(index: int) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft7Validator(_COMPILED[index][2])


_ERRORS = jsonschema_rs.Draft7Validator(ERRORS)
# "OAuth 2.0 Endpoints and Error Codes" adds these to RFC 6749's
_OAUTH_ERRORS = jsonschema_rs.Draft7Validator(
    oauth_error(
        "invalid_client_id",
        "invalid_client_credentials",
        "inactive_user",
        "inactive_org",
        "rate_limit_exceeded",
        "access_denied",
        "unsupported_response_type",
    )
)


class SalesforceSchemas:
    def errors(self, kind: str, method: str, path: str, status: int, body: Any) -> Iterator[str]:
        bare = path.split("?", 1)[0]
        if status >= 300:  # 300 (several external-id matches) is a list of record URLs, not checked here
            if status == 300:
                return
            validator = _OAUTH_ERRORS if bare.startswith("/services/oauth2/") else _ERRORS
        else:
            found = next((i for i, (m, p, _) in enumerate(_COMPILED) if m == method and p.match(bare)), None)
            if found is None:
                yield f"{method} {bare}: no documented shape for this resource"
                return
            validator = _validator(found)  # type: ignore[assignment]
        yield from messages(validator, body)
